/// Which watch descriptor belongs to which worktree, and as what.
///
/// The kernel hands out one descriptor per inode, so a directory two worktrees share (the
/// common git directory's refs) is one watch with two owners; it is removed with its last owner.
struct WatchTable {
    enum Role: Equatable {
        /// A directory of the worktree's files.
        case tree
        /// The worktree's own git directory (HEAD, index).
        case gitDirectory
        /// The common directory (packed-refs, FETCH_HEAD) or a directory under its refs/.
        case refs
    }

    struct Entry {
        var path: String
        var owners: [String: Role]
    }

    private(set) var entries: [Int32: Entry] = [:]
    private(set) var watchesByWorktree: [String: Set<Int32>] = [:]

    var count: Int { entries.count }

    mutating func add(_ watch: Int32, path: String, owner: String, role: Role) {
        entries[watch, default: Entry(path: path, owners: [:])].owners[owner] = role
        // A directory renamed inside the tree keeps its descriptor; follow its new name.
        entries[watch]?.path = path
        watchesByWorktree[owner, default: []].insert(watch)
    }

    func entry(_ watch: Int32) -> Entry? { entries[watch] }

    /// Forgets `owner`; returns the descriptors nobody owns any more (to remove from the kernel).
    mutating func removeOwner(_ owner: String) -> [Int32] {
        guard let watches = watchesByWorktree.removeValue(forKey: owner) else { return [] }
        var orphaned: [Int32] = []
        for watch in watches {
            entries[watch]?.owners[owner] = nil
            if entries[watch]?.owners.isEmpty == true {
                entries[watch] = nil
                orphaned.append(watch)
            }
        }
        return orphaned.sorted()
    }

    /// Forgets `owner`'s tree watches at `path` and below (a directory moved away); returns the
    /// orphaned descriptors.
    mutating func removeTree(under path: String, owner: String) -> [Int32] {
        var orphaned: [Int32] = []
        for watch in watchesByWorktree[owner] ?? [] {
            guard let entry = entries[watch], entry.owners[owner] == .tree,
                entry.path == path || entry.path.hasPrefix(path + "/")
            else { continue }
            watchesByWorktree[owner]?.remove(watch)
            entries[watch]?.owners[owner] = nil
            if entries[watch]?.owners.isEmpty == true {
                entries[watch] = nil
                orphaned.append(watch)
            }
        }
        return orphaned.sorted()
    }

    /// The kernel dropped `watch` (its directory is gone).
    mutating func drop(_ watch: Int32) {
        guard let entry = entries.removeValue(forKey: watch) else { return }
        for owner in entry.owners.keys { watchesByWorktree[owner]?.remove(watch) }
    }

    func watchCount(of owner: String) -> Int { watchesByWorktree[owner]?.count ?? 0 }
}
