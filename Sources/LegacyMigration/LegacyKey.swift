internal import COpenSSL
import PostgresClient
import RegistryClient
/// The UUID a legacy id maps to, computed in Swift exactly as `LegacyImportSQL.key` computes
/// it in SQL: the id itself when it is a UUID, else `md5('imi-legacy:<table>:' || id)::uuid`.
enum LegacyKey {
    /// 16 bytes, or `nil` for a NULL id. `odd` is true when the id is not canonical UUID text.
    static func key(_ raw: UnsafeBufferPointer<UInt8>?, namespace: String) -> (bytes: [UInt8], odd: Bool)? {
        guard let raw else { return nil }
        if let (key, canonical) = UUIDKey.parse(raw) { return (key.bytes, !canonical) }
        // Hash the text as PostgreSQL stored it (invalid UTF-8 replaced, NUL removed).
        var text = Array("imi-legacy:\(namespace):".utf8)
        if let valid = String(validating: raw, as: UTF8.self) {
            text += Array(valid.utf8).filter { $0 != 0 }
        } else {
            text += Array(String(decoding: raw, as: UTF8.self).utf8).filter { $0 != 0 }
        }
        return (MD5.digest(text), true)
    }

    static func text(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(0x2D) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A UUID as two integers: hashable and comparable without allocation.
struct UUIDKey: Hashable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(_ bytes: [UInt8]) {
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The 16 bytes, most significant first.
    var bytes: [UInt8] {
        (0..<8).reversed().map { UInt8(truncatingIfNeeded: high >> (8 * UInt64($0))) }
            + (0..<8).reversed().map { UInt8(truncatingIfNeeded: low >> (8 * UInt64($0))) }
    }

    /// Canonical text: lowercase, hyphenated.
    var text: String { LegacyKey.text(bytes) }

    /// Parses any UUID form PostgreSQL reads (any case, with or without hyphens or braces)
    /// without allocating; `canonical` when the text is lowercase and hyphenated already.
    /// The one UUID parser of the legacy import.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (key: UUIDKey, canonical: Bool)? {
        // Fixed digit runs instead of a per-byte position test: this runs twice per activity.
        guard var p = b.baseAddress else { return nil }
        var length = b.count
        var canonical = true
        if length >= 2, p[0] == 0x7B, p[length - 1] == 0x7D {
            p += 1
            length -= 2
            canonical = false
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var flags: UInt8 = 0
        if length == 36 {
            guard p[8] == 0x2D, p[13] == 0x2D, p[18] == 0x2D, p[23] == 0x2D else { return nil }
            hex(p, 0, 8, &high, &flags)
            hex(p, 9, 13, &high, &flags)
            hex(p, 14, 18, &high, &flags)
            hex(p, 19, 23, &low, &flags)
            hex(p, 24, 36, &low, &flags)
        } else if length == 32 {
            canonical = false
            hex(p, 0, 16, &high, &flags)
            hex(p, 16, 32, &low, &flags)
        } else {
            return nil
        }
        guard flags & Self.notHex == 0 else { return nil }
        return (UUIDKey(high: high, low: low), canonical && flags & Self.upperCase == 0)
    }

    private static let notHex: UInt8 = 1
    private static let upperCase: UInt8 = 2

    /// Appends the hex digits `p[from..<to]` to `value`; marks a non-digit or an upper-case one.
    @inline(__always)
    private static func hex(
        _ p: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ value: inout UInt64, _ flags: inout UInt8
    ) {
        for index in from..<to {
            let byte = p[index]
            let digit = byte &- 0x30
            let letter = (byte | 0x20) &- 0x61
            let nibble: UInt8
            if digit < 10 {
                nibble = digit
            } else if letter < 6 {
                nibble = letter &+ 10
                if byte & 0x20 == 0 { flags |= upperCase }
            } else {
                nibble = 0
                flags |= notHex
            }
            value = value << 4 | UInt64(nibble)
        }
    }

    /// The legacy id's key as ``LegacyKey/key(_:namespace:)`` computes it.
    static func legacy(_ raw: UnsafeBufferPointer<UInt8>?, namespace: String) -> (key: UUIDKey, odd: Bool)? {
        guard let raw else { return nil }
        if let (key, canonical) = parse(raw) { return (key, !canonical) }
        guard let (bytes, odd) = LegacyKey.key(raw, namespace: namespace) else { return nil }
        return (UUIDKey(bytes), odd)
    }

    func write(to writer: CopyInWriter) throws {
        try writer.appendBigEndian(Int32(16))
        try writer.appendBigEndian(high)
        try writer.appendBigEndian(low)
    }
}

/// MD5 from OpenSSL's libcrypto, for deterministic ids only (not for security): the ids must
/// match what PostgreSQL's `md5()` gives for the same text.
enum MD5 {
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let status = message.withUnsafeBytes { bytes in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, EVP_md5(), nil)
            }
        }
        // EVP_Digest fails only when out of memory; MD5 is always built into libcrypto.
        precondition(status == 1 && length == 16, "libcrypto MD5 failed")
        return Array(digest.prefix(16))
    }
}

#if canImport(Glibc)
import Glibc
#endif
