/// The UUID a legacy id maps to, computed in Swift exactly as `LegacyImportSQL.key` computes
/// it in SQL: the id itself when it is a UUID, else `md5('imi-legacy:<table>:' || id)::uuid`.
enum LegacyKey {
    /// 16 bytes, or `nil` for a NULL id. `odd` is true when the id is not canonical UUID text.
    static func key(_ raw: UnsafeBufferPointer<UInt8>?, namespace: String) -> (bytes: [UInt8], odd: Bool)? {
        guard let raw else { return nil }
        switch LegacyUUID.canonical(raw) {
        case .unchanged:
            return (uuidBytes(raw), false)
        case .converted(let canonical):
            var canonical = canonical
            return canonical.withUTF8 { (uuidBytes($0), true) }
        case .invalid:
            // Hash the text as PostgreSQL stored it (invalid UTF-8 replaced, NUL removed).
            var text = Array("imi-legacy:\(namespace):".utf8)
            if let valid = String(validating: raw, as: UTF8.self) {
                text += Array(valid.utf8).filter { $0 != 0 }
            } else {
                text += Array(String(decoding: raw, as: UTF8.self).utf8).filter { $0 != 0 }
            }
            return (MD5.digest(text), true)
        }
    }

    /// Canonical UUID text (36 bytes) to its 16 bytes.
    static func uuidBytes(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        var high: UInt8? = nil
        for byte in text where byte != 0x2D {
            let nibble: UInt8 = byte <= 0x39 ? byte - 0x30 : byte - 0x61 + 10
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return out
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

    /// Parses any UUID form PostgreSQL reads without allocating; `canonical` when the text is
    /// lowercase and hyphenated (as ``LegacyUUID/canonical(_:)`` calls `.unchanged`).
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

/// RFC 1321 MD5, for deterministic ids only (not for security).
enum MD5 {
    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]
    private static let constants: [UInt32] = (0..<64).map {
        UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296.0))
    }

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for shift in stride(from: 0, to: 64, by: 8) { data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        var a0: UInt32 = 0x6745_2301, b0: UInt32 = 0xefcd_ab89, c0: UInt32 = 0x98ba_dcfe, d0: UInt32 = 0x1032_5476
        for chunk in stride(from: 0, to: data.count, by: 64) {
            var m = [UInt32](repeating: 0, count: 16)
            for i in 0..<16 {
                let base = chunk + i * 4
                m[i] = UInt32(data[base]) | UInt32(data[base + 1]) << 8 | UInt32(data[base + 2]) << 16
                    | UInt32(data[base + 3]) << 24
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ constants[i] &+ m[g]
                a = d
                d = c
                c = b
                b = b &+ (f << shifts[i] | f >> (32 - shifts[i]))
            }
            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
        }
        var out = [UInt8]()
        for word in [a0, b0, c0, d0] {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif
