import SystemPackage

/// Which watch descriptor belongs to which worktree, and as what.
///
/// The kernel hands out one descriptor per inode, so a directory two worktrees share (the
/// common git directory's refs) is one watch with two owners; it is removed with its last owner.
struct WatchTable {
    enum Role: Equatable, Hashable, Sendable {
        /// A directory of the worktree's files.
        case tree
        /// A git directory: the worktree's own (HEAD, index, config.worktree), the common one
        /// (packed-refs, config), or a submodule's.
        case gitDirectory
        /// A directory under a common directory's refs/.
        case refs
        /// The common directory's info/ (exclude, sparse-checkout, attributes).
        case info
        /// A directory outside every repository holding a file git reads (global config,
        /// core.excludesFile), or the nearest existing ancestor of one not created yet.
        case external
        /// A directory watched for worktrees and clones coming and going (``MembershipWatch``).
        case membership
    }

    struct Entry {
        var path: FilePath
        var owners: [String: Role]
    }

    private(set) var entries: [Int32: Entry] = [:]
    private(set) var watchesByWorktree: [String: Set<Int32>] = [:]

    var count: Int { entries.count }

    mutating func add(_ watch: Int32, path: FilePath, owner: String, role: Role) {
        entries[watch, default: Entry(path: path, owners: [:])].owners[owner] = role
        // A directory renamed inside the tree keeps its descriptor; follow its new name.
        entries[watch]?.path = path
        watchesByWorktree[owner, default: []].insert(watch)
    }

    func entry(_ watch: Int32) -> Entry? { entries[watch] }

    /// Forgets `owner`; returns the descriptors nobody owns any more (to remove from the kernel).
    mutating func removeOwner(_ owner: String) -> [Int32] {
        remove(owner) { _ in true }
    }

    /// Forgets `owner`'s tree watches at `path` and below (a directory moved away); returns the
    /// orphaned descriptors.
    mutating func removeTree(under path: FilePath, owner: String) -> [Int32] {
        remove(owner) { $0.owners[owner] == .tree && $0.path.starts(with: path) }
    }

    /// Forgets `owner`'s watches in `role` that are not in `kept` (directories ignore rules now
    /// exclude, a removed submodule); returns the orphaned descriptors.
    mutating func remove(_ owner: String, role: WatchTable.Role, notIn kept: Set<FilePath>) -> [Int32] {
        remove(owner) { $0.owners[owner] == role && !kept.contains($0.path) }
    }

    /// Whether some watch is on `path` already (a linear scan: tests' watch limit only).
    func isWatched(_ path: FilePath) -> Bool {
        entries.values.contains { $0.path == path }
    }

    /// The directories `owner` watches in `role`.
    func paths(of owner: String, role: Role) -> [FilePath] {
        (watchesByWorktree[owner] ?? []).compactMap { watch in
            entries[watch].flatMap { $0.owners[owner] == role ? $0.path : nil }
        }
    }

    private mutating func remove(_ owner: String, where matches: (Entry) -> Bool) -> [Int32] {
        var orphaned: [Int32] = []
        for watch in watchesByWorktree[owner] ?? [] {
            guard let entry = entries[watch], matches(entry) else { continue }
            watchesByWorktree[owner]?.remove(watch)
            entries[watch]?.owners[owner] = nil
            if entries[watch]?.owners.isEmpty == true {
                entries[watch] = nil
                orphaned.append(watch)
            }
        }
        if watchesByWorktree[owner]?.isEmpty == true { watchesByWorktree[owner] = nil }
        return orphaned.sorted()
    }

    /// The kernel dropped `watch` (its directory is gone).
    mutating func drop(_ watch: Int32) {
        guard let entry = entries.removeValue(forKey: watch) else { return }
        for owner in entry.owners.keys { watchesByWorktree[owner]?.remove(watch) }
    }

    func watchCount(of owner: String) -> Int { watchesByWorktree[owner]?.count ?? 0 }
}
