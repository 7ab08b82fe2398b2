/// Text as PostgreSQL stores it: valid UTF-8 without NUL bytes.
enum PostgresText {
    /// The bytes, with invalid UTF-8 replaced (U+FFFD) and NUL removed; `ok` when unchanged.
    static func clean(_ bytes: UnsafeBufferPointer<UInt8>) -> ([UInt8], Bool) {
        var plain = true
        for byte in bytes where byte >= 0x80 || byte == 0 {
            plain = false
            break
        }
        if plain { return (Array(bytes), true) }
        var ok = true
        var out: [UInt8]
        if let valid = String(validating: bytes, as: UTF8.self) {
            out = Array(valid.utf8)
        } else {
            ok = false
            out = Array(String(decoding: bytes, as: UTF8.self).utf8)
        }
        if out.contains(0) {
            ok = false
            out.removeAll { $0 == 0 }
        }
        return (out, ok)
    }

    /// Whether the bytes are valid UTF-8 without NUL (PostgreSQL takes them as they are).
    static func isClean(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if isPlainASCII(bytes) { return true }
        var ascii = true
        for byte in bytes where byte >= 0x80 || byte == 0 {
            if byte == 0 { return false }
            ascii = false
            break
        }
        if ascii { return true }
        guard String(validating: bytes, as: UTF8.self) != nil else { return false }
        return !bytes.contains(0)
    }

    /// Whether every byte is ASCII other than NUL, eight bytes at a time (every activity's
    /// text columns pass here).
    static func isPlainASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= bytes.count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            // A high bit set, or a zero byte (the classic has-zero-byte test).
            if word & highs != 0 || (word &- ones) & ~word & highs != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if base[index] >= 0x80 || base[index] == 0 { return false }
            index += 1
        }
        return true
    }

    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: clean(bytes).0, as: UTF8.self)
    }
}
