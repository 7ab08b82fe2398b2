#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// One entry of a directory as `readdir` gives it. The name stays bytes: file names need not
/// be UTF-8, and a name decoded lossily would name another file.
package struct DirectoryEntry: Equatable, Sendable {
    package enum Kind: Equatable, Sendable {
        case directory, symbolicLink, other
    }

    package var name: FilePath.Component
    package var kind: Kind
}

/// Lists directories with `opendir`/`readdir`, never following symbolic links.
package enum DirectoryListing {
    /// The entries of `directory` except `.` and `..`; an unreadable or vanished directory
    /// throws its errno.
    ///
    /// `d_type` is trusted where the file system fills it in; `DT_UNKNOWN` is resolved with
    /// `lstat`, so a symbolic link to a directory is reported as a link, not a directory.
    package static func entries(of directory: FilePath) throws(Errno) -> [DirectoryEntry] {
        let stream: OpaquePointer? = directory.withPlatformString { opendir($0) }
        guard let stream else { throw Errno(rawValue: errno) }
        defer { closedir(stream) }
        var entries: [DirectoryEntry] = []
        while true {
            errno = 0
            guard let record = readdir(stream) else {
                if errno != 0 { throw Errno(rawValue: errno) }
                return entries
            }
            guard let name = Self.name(ofRecord: UnsafeRawPointer(record)) else { continue }
            var kind = Self.kind(ofRecord: UnsafeRawPointer(record))
            if kind == nil { kind = Self.lstatKind(directory.appending(name)) }
            entries.append(DirectoryEntry(name: name, kind: kind ?? .other))
        }
    }

    /// The name of one `readdir` record, read in place and bounded by the record's own length;
    /// `nil` for `.` and `..`.
    ///
    /// glibc packs records as the kernel returns them: a record is only as long as its name
    /// needs (`d_reclen`), so copying `struct dirent`'s fixed 256-byte `d_name` (or the whole
    /// struct, as `record.pointee` does) reads past the record and, at the end of the buffer,
    /// into an unmapped page.
    package static func name(ofRecord record: UnsafeRawPointer) -> FilePath.Component? {
        let length = Int(record.loadUnaligned(fromByteOffset: reclenOffset, as: UInt16.self))
        let capacity = max(0, length - nameOffset)
        let start = record.advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
        var bytes: [CChar] = []
        bytes.reserveCapacity(min(capacity, 64) + 1)
        var index = 0
        while index < capacity, start[index] != 0 {
            bytes.append(start[index])
            index += 1
        }
        if bytes == dot || bytes == dotDot || bytes.isEmpty { return nil }
        bytes.append(0)
        return FilePath.Component(platformString: bytes)
    }

    /// `d_type` of one record; `nil` when the file system left it unknown.
    package static func kind(ofRecord record: UnsafeRawPointer) -> DirectoryEntry.Kind? {
        switch Int32(record.load(fromByteOffset: typeOffset, as: UInt8.self)) {
        case Int32(DT_DIR): .directory
        case Int32(DT_LNK): .symbolicLink
        case Int32(DT_UNKNOWN): nil
        default: .other
        }
    }

    /// What `path` is, without following a final symbolic link; `nil` when it is gone.
    package static func lstatKind(_ path: FilePath) -> DirectoryEntry.Kind? {
        var info = stat()
        guard path.withPlatformString({ lstat($0, &info) }) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    private static let dot: [CChar] = [CChar(UInt8(ascii: "."))]
    private static let dotDot: [CChar] = [CChar(UInt8(ascii: ".")), CChar(UInt8(ascii: "."))]
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
    private static let reclenOffset = MemoryLayout<dirent>.offset(of: \dirent.d_reclen)!
    private static let typeOffset = MemoryLayout<dirent>.offset(of: \dirent.d_type)!
}
