#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a full status of one worktree found, kept so that an edit of known paths can later be
/// recounted from those paths alone (``GitProbe/reprobe(path:after:memory:changedPaths:)``).
///
/// It holds the worktree's non-clean entries only, so it grows with what is changed in the
/// worktree, not with its size. Everything a path-level recount cannot see from the paths
/// themselves is pinned here, and a recount whose pins moved is refused: the index file, HEAD,
/// the status settings from git config.
public struct StatusMemory: Sendable, Equatable {
    /// Porcelain lines per index-side path; an untracked directory is `name/`.
    var linesByPath: [[UInt8]: Int]
    /// Both halves of every staged rename: an edit of either could pair them differently.
    var renamedPaths: Set<[UInt8]>
    /// The index file as it was before the status read it.
    var index: FileIdentity
    var settings: StatusSettings
    var headCommit: String?
    var branch: String?

    /// The porcelain line count this memory adds up to.
    public var lines: Int { linesByPath.values.reduce(0, +) }
    /// Non-clean paths remembered (what the memory costs).
    public var entryCount: Int { linesByPath.count }

    /// True when `path` lies inside a directory that status listed as one untracked line:
    /// git collapses it, so what a file inside it does cannot be told from the file alone.
    func isInsideUntrackedDirectory(_ path: [UInt8]) -> Bool {
        var prefix: [UInt8] = []
        for component in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            prefix += component
            prefix.append(UInt8(ascii: "/"))
            if linesByPath[prefix] != nil { return true }
        }
        return false
    }
}

/// Enough of `stat` to tell that a file was replaced or rewritten.
struct FileIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: timespec
    var changed: timespec

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
            && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
            && lhs.changed.tv_sec == rhs.changed.tv_sec && lhs.changed.tv_nsec == rhs.changed.tv_nsec
    }

    init(device: UInt64, inode: UInt64, size: Int64, modified: timespec, changed: timespec) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modified = modified
        self.changed = changed
    }

    /// The identity `info` describes.
    init(_ info: stat) {
        self.init(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: info.st_mtim, changed: info.st_ctim)
    }

    /// The identity of the file at `path`; a missing file has the all-zero identity, so "no
    /// index yet" is a state that can be compared too.
    static func of(_ path: String) -> FileIdentity {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return FileIdentity(device: 0, inode: 0, size: -1, modified: timespec(), changed: timespec())
        }
        return FileIdentity(info)
    }
}
