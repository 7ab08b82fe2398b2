internal import CGit2

/// Answers questions about index entries for the few paths status reports, to correct libgit2
/// where it differs from git.
///
/// The index is fetched on the first question only, so clean worktrees never pay for it; it is
/// the repository's cached index that status has already loaded, not a second read.
struct IndexLookup: ~Copyable {
    private let repository: OpaquePointer
    private var index: OpaquePointer?
    private var fetched = false

    init(repository: OpaquePointer) {
        self.repository = repository
    }

    deinit {
        // The reference taken by the first question; git_index_free is a no-op on NULL.
        git_index_free(index)
    }

    /// True when `path` is a skip-worktree (sparse checkout) entry.
    mutating func isSkipWorktree(_ path: UnsafePointer<CChar>) -> Bool {
        guard let index = loadedIndex(), let entry = git_index_get_bypath(index, path, 0) else {
            return false
        }
        return UInt32(entry.pointee.flags_extended) & GIT_INDEX_ENTRY_SKIP_WORKTREE.rawValue != 0
    }

    /// True when the untracked directory entry `path` (`name/`) is, without its slash, a path
    /// the index tracks, i.e. a tracked file was replaced by a directory.
    ///
    /// git's collapsed listing skips such a directory (the file shows only as deleted); libgit2
    /// lists it. With `showUntrackedFiles=all` git does list the files inside, and so does
    /// libgit2, whose entries are then files and never end in `/`.
    mutating func isTrackedDirectoryName(_ path: UnsafePointer<CChar>) -> Bool {
        var length = 0
        while path[length] != 0 { length += 1 }
        let slash = CChar(UInt8(ascii: "/"))
        guard length > 1, path[length - 1] == slash, let index = loadedIndex() else {
            return false
        }
        let name = UnsafeMutablePointer<CChar>.allocate(capacity: length)
        defer { name.deallocate() }
        name.initialize(from: path, count: length - 1)
        name[length - 1] = 0
        return git_index_find(nil, index, name) == 0
    }

    /// Paths of the submodules (gitlink entries) in the index, limited to those that are one of
    /// `units` or lie under one, when given.
    mutating func gitlinkPaths(under units: Set<[UInt8]>?) -> [[UInt8]] {
        guard let index = loadedIndex() else { return [] }
        var paths: [[UInt8]] = []
        for position in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, position),
                entry.pointee.mode == GIT_FILEMODE_COMMIT.rawValue,
                let path = entry.pointee.path
            else { continue }
            let bytes = PathBytes.of(path)
            if let units, !PathBytes.isUnder(bytes, anyOf: units) {
                continue
            }
            paths.append(bytes)
        }
        return paths
    }

    /// True when the index has an entry inside the directory `directory` (no trailing `/`).
    mutating func hasEntries(under directory: [UInt8]) -> Bool {
        guard let index = loadedIndex() else { return false }
        var position = 0
        let prefix = directory + [UInt8(ascii: "/"), 0]
        return prefix.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { git_index_find_prefix(&position, index, $0.baseAddress) == 0 }
        }
    }

    private mutating func loadedIndex() -> OpaquePointer? {
        if !fetched {
            fetched = true
            // On failure every answer is "no", i.e. libgit2's own status stands.
            if git_repository_index(&index, repository) != 0 { index = nil }
        }
        return index
    }
}
