internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What git's own status trusts to skip comparing HEAD with the index: the index file's
/// cache-tree (the `TREE` extension), read from the file without writing anything.
///
/// git skips every subtree whose cached tree id equals HEAD's; libgit2 1.5 compares HEAD with
/// the index tree by tree. Only the root is used here: when it is valid and names HEAD's tree,
/// HEAD and the index hold the same files and status need only look at the working directory.
/// Anything this reader does not understand (another index version, a split or sparse index,
/// a truncated file) gives `nil`, and the full comparison runs.
struct IndexCacheTree: Equatable {
    /// The index file's trailing checksum, to tell that libgit2 loaded the same file.
    var checksum: [UInt8]
    /// The root tree's id when the cache-tree is present and valid at the root.
    var rootTree: [UInt8]?
    /// An entry added with `git add -N`: git leaves it out of the cache-tree, so a valid root
    /// does not say HEAD and the index agree.
    var hasIntentToAdd: Bool
    /// A conflicted entry (stage 1-3).
    var hasUnmergedEntries: Bool
    /// The stat of the file read (its mtime is what racily clean entries are judged by);
    /// `nil` when parsed from bytes alone.
    var file: FileIdentity? = nil

    /// The cache-tree of the index file at `path`; `nil` when it cannot be read or parsed.
    static func read(indexAt path: String) -> IndexCacheTree? {
        let descriptor: Int32
        switch FileReading.openFile(path, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) {
        case .success(let opened): descriptor = opened
        case .failure: return nil
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
            info.st_size >= 32, info.st_size < 1 << 31
        else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        guard let filled = try? FileReading.fill(&bytes, from: descriptor), filled == bytes.count else {
            return nil
        }
        var result = parse(bytes)
        result?.file = FileIdentity(info)
        return result
    }

    /// Parses index versions 2 to 4 far enough to reach the extensions.
    static func parse(_ bytes: [UInt8]) -> IndexCacheTree? {
        bytes.withUnsafeBufferPointer { parse(buffer: $0) }
    }

    private static func parse(buffer bytes: UnsafeBufferPointer<UInt8>) -> IndexCacheTree? {
        let hashSize = 20
        guard bytes.count >= 12 + hashSize, Array(bytes[0..<4]) == Array("DIRC".utf8) else { return nil }
        let version = word(bytes, at: 4)
        guard (2...4).contains(version) else { return nil }
        let entryCount = Int(word(bytes, at: 8))
        let end = bytes.count - hashSize
        var result = IndexCacheTree(
            checksum: Array(bytes[end...]), rootTree: nil, hasIntentToAdd: false, hasUnmergedEntries: false)

        var offset = 12
        for _ in 0..<entryCount {
            // ctime, mtime, dev, ino, mode, uid, gid, size (40 bytes), the id, then the flags.
            let start = offset
            let flagsAt = start + 40 + hashSize
            guard flagsAt + 2 <= end else { return nil }
            let flags = UInt16(bytes[flagsAt]) << 8 | UInt16(bytes[flagsAt + 1])
            offset = flagsAt + 2
            if flags & 0x3000 != 0 { result.hasUnmergedEntries = true }
            if flags & 0x4000 != 0 {
                guard version >= 3, offset + 2 <= end else { return nil }
                if bytes[offset] & 0x20 != 0 { result.hasIntentToAdd = true }
                offset += 2
            }
            if version == 4 {
                // A varint (bytes to drop from the previous path), then the rest, NUL-ended.
                while true {
                    guard offset < end else { return nil }
                    let byte = bytes[offset]
                    offset += 1
                    if byte & 0x80 == 0 { break }
                }
                guard let nul = firstNul(bytes, from: offset, before: end) else { return nil }
                offset = nul + 1
            } else {
                let nameLength = Int(flags & 0x0FFF)
                let length: Int
                if nameLength < 0x0FFF {
                    length = nameLength
                } else {
                    guard let nul = firstNul(bytes, from: offset, before: end) else { return nil }
                    length = nul - offset
                }
                // Padded with 1 to 8 NULs to a multiple of eight bytes from the entry's start.
                offset = start + ((offset - start + length + 8) & ~7)
                guard offset <= end else { return nil }
            }
        }

        guard let root = extensionsRootTree(bytes, from: offset, to: end) else { return nil }
        result.rootTree = root.rootTree
        return result
    }

    /// What the extensions say.
    private struct Extensions {
        var rootTree: [UInt8]?
    }

    /// The root tree named by the `TREE` extension among the extensions in `start..<end`
    /// (`tree` is `nil` when it is missing or invalid); `nil` when they do not parse.
    private static func extensionsRootTree(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int
    ) -> Extensions? {
        var offset = start
        var tree: [UInt8]?
        while offset + 8 <= end {
            let signature = Array(bytes[offset..<offset + 4])
            let size = Int(word(bytes, at: offset + 4))
            let data = offset + 8
            guard size <= end - data else { return nil }
            switch signature {
            case Array("TREE".utf8):
                tree = rootTree(bytes, from: data, to: data + size)
            case Array("link".utf8), Array("sdir".utf8):
                return nil  // a split or sparse index: the entries are not all of it
            default:
                break
            }
            offset = data + size
        }
        return offset == end ? Extensions(rootTree: tree) : nil
    }

    /// The cache-tree of the index file at `path`, which libgit2 has loaded as `index`: for
    /// versions 2 and 3 the entries' size on disk follows from the loaded entries, so only
    /// the extensions and the checksum are read (a few kilobytes, not the whole file). The
    /// caller compares the checksum with the loaded index's, which makes the two the same file.
    static func read(indexAt path: String, loaded index: OpaquePointer) -> IndexCacheTree? {
        let version = git_index_version(index)
        guard version == 2 || version == 3 else { return read(indexAt: path) }
        var result = IndexCacheTree(checksum: [], rootTree: nil, hasIntentToAdd: false, hasUnmergedEntries: false)
        var extensionsStart = 12
        for position in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, position), let name = entry.pointee.path else { return nil }
            let extended = UInt32(entry.pointee.flags) & GIT_INDEX_ENTRY_EXTENDED.rawValue != 0
            extensionsStart += (62 + (extended ? 2 : 0) + strlen(name) + 8) & ~7
            if UInt32(entry.pointee.flags_extended) & GIT_INDEX_ENTRY_INTENT_TO_ADD.rawValue != 0 {
                result.hasIntentToAdd = true
            }
            if git_index_entry_stage(entry) != 0 { result.hasUnmergedEntries = true }
        }

        let descriptor: Int32
        switch FileReading.openFile(path, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) {
        case .success(let opened): descriptor = opened
        case .failure: return nil
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
            Int(info.st_size) >= extensionsStart + 20, Int(info.st_size) - extensionsStart <= 1 << 26
        else { return nil }
        var tail = [UInt8](repeating: 0, count: Int(info.st_size) - extensionsStart)
        var filled = 0
        while filled < tail.count {
            let got = tail.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + filled, $0.count - filled, off_t(extensionsStart + filled))
            }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { return nil }
            filled += got
        }
        let end = tail.count - 20
        result.checksum = Array(tail[end...])
        result.file = FileIdentity(info)
        guard let root = tail.withUnsafeBufferPointer({ extensionsRootTree($0, from: 0, to: end) }) else { return nil }
        result.rootTree = root.rootTree
        return result
    }

    /// The first cache-tree entry's id when it is the root (empty path) and valid: `""`, NUL,
    /// the entry count in ASCII (-1 when invalid), a space, the subtree count, a newline, the id.
    private static func rootTree(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> [UInt8]? {
        guard start < end, bytes[start] == 0 else { return nil }
        var offset = start + 1
        guard offset < end, bytes[offset] != UInt8(ascii: "-") else { return nil }
        var sawDigit = false
        while offset < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) {
            sawDigit = true
            offset += 1
        }
        guard sawDigit, offset < end, bytes[offset] == UInt8(ascii: " ") else { return nil }
        offset += 1
        while offset < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
        guard offset < end, bytes[offset] == UInt8(ascii: "\n"), offset + 1 + 20 <= end else { return nil }
        return Array(bytes[(offset + 1)..<(offset + 21)])
    }

    private static func word(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    private static func firstNul(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, before end: Int) -> Int? {
        var position = start
        while position < end {
            if bytes[position] == 0 { return position }
            position += 1
        }
        return nil
    }
}
