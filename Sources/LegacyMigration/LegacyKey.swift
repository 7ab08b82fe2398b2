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
        var start = 0
        var end = b.count
        if end >= 2, b[0] == 0x7B, b[end - 1] == 0x7D {
            start = 1
            end -= 1
        }
        let length = end - start
        guard length == 32 || length == 36 else { return nil }
        var canonical = length == 36 && start == 0
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for offset in 0..<length {
            let byte = b[start + offset]
            if length == 36, offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == 0x2D else { return nil }
                continue
            }
            let nibble: UInt64
            switch byte {
            case 0x30...0x39: nibble = UInt64(byte - 0x30)
            case 0x61...0x66: nibble = UInt64(byte - 0x61 + 10)
            case 0x41...0x46:
                nibble = UInt64(byte - 0x41 + 10)
                canonical = false
            default: return nil
            }
            if nibbles < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
            nibbles += 1
        }
        return (UUIDKey(high: high, low: low), canonical)
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
