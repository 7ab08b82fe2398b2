#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// What a path names, for refusing early and saying so in one line: a FIFO given as a file
/// to read would block forever, a directory given as a file fails late.
package enum FileKind: Equatable, Sendable {
    case missing
    case regularFile
    case directory
    case characterDevice
    case blockDevice
    case fifo
    case socket
    /// A symbolic link whose target does not exist.
    case danglingLink

    /// True only when the kernel says `path` does not exist (ENOENT, ENOTDIR) and no link
    /// stands there; a path that cannot be looked at (EACCES, EIO) is not gone.
    package static func isGone(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) != 0 else { return false }
        return errno == ENOENT || errno == ENOTDIR
    }

    /// What `path` is, following symbolic links as opening it would.
    package static func of(_ path: String) -> FileKind {
        var info = stat()
        guard stat(path, &info) == 0 else {
            var link = stat()
            return lstat(path, &link) == 0 && link.st_mode & S_IFMT == S_IFLNK ? .danglingLink : .missing
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        case S_IFCHR: return .characterDevice
        case S_IFBLK: return .blockDevice
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        default: return .missing
        }
    }

    /// The permission bits of `path` (following links), e.g. 0o644; `nil` when it is gone.
    package static func permissions(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode & 0o7777)
    }

    /// Whether the calling process may read `path`.
    package static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// Whether a plain `open(2)` for reading may wait forever (a FIFO) or a read never end (a
    /// device such as /dev/zero).
    package var blocksReaders: Bool {
        self == .fifo || self == .characterDevice || self == .blockDevice
    }

    /// "a directory", "a FIFO (named pipe)", …
    package var phrase: String {
        switch self {
        case .missing: "missing"
        case .regularFile: "a regular file"
        case .directory: "a directory"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .fifo: "a FIFO (named pipe)"
        case .socket: "a socket"
        case .danglingLink: "a symbolic link to a missing file"
        }
    }
}

/// What changes when a file is written: its size and modification time.
package struct FileStamp: Equatable, Sendable {
    package var size: Int64
    package var modifiedNanoseconds: Int64

    /// The stamp of `path` (following links); `nil` when it is gone.
    package static func of(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStamp(
            size: Int64(info.st_size),
            modifiedNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }
}
