/// Paths as git stores them: bytes, not `String`s, since file names need not be UTF-8.
enum PathBytes {
    /// The bytes of a NUL-terminated C string.
    static func of(_ text: UnsafePointer<CChar>) -> [UInt8] {
        var bytes: [UInt8] = []
        var position = 0
        while text[position] != 0 {
            bytes.append(UInt8(bitPattern: text[position]))
            position += 1
        }
        return bytes
    }

    /// The first component: up to the first `/`, or the whole path.
    static func topLevelComponent(of path: [UInt8]) -> [UInt8] {
        guard let slash = path.firstIndex(of: UInt8(ascii: "/")) else { return path }
        return Array(path[..<slash])
    }

    /// The last component: after the last `/`, or the whole path.
    static func lastComponent(of path: [UInt8]) -> [UInt8] {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return Array(path[(slash + 1)...])
    }

    /// Everything before the last `/`; empty for a top-level name.
    static func parent(of path: [UInt8]) -> [UInt8] {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return [] }
        return Array(path[..<slash])
    }

    /// True when `path` is one of `prefixes` or lies under one (`prefix/...`).
    static func isUnder(_ path: [UInt8], anyOf prefixes: Set<[UInt8]>) -> Bool {
        if prefixes.contains(path) { return true }
        for (position, byte) in path.enumerated() where byte == UInt8(ascii: "/") {
            if prefixes.contains(Array(path[..<position])) { return true }
        }
        return false
    }
}
