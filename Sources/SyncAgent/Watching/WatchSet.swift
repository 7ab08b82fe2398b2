import SystemPackage

/// Whom a watch is for.
package enum WatchOwner: Hashable, Sendable {
    /// A registered worktree, by registry id.
    case worktree(String)
    /// Directories outside every repository holding a file git reads (global config,
    /// `core.excludesFile`), or the nearest existing ancestor of one not created yet.
    case external
    /// Directories watched for worktrees and clones coming and going (``MembershipWatch``).
    case membership
}

/// What is watched for whom: which directory each watch descriptor is, who owns it and as
/// what, and what the watcher keeps per worktree. A plain value: the event classifier reads
/// and updates it without a kernel, and the watcher applies what changed.
///
/// The kernel hands out one descriptor per inode, so a directory two worktrees share (the
/// common git directory's refs) is one watch with two owners; it is removed with its last owner.
package struct WatchSet {
    package enum Role: Equatable, Hashable, Sendable {
        /// A directory of the worktree's files.
        case tree
        /// A git directory: the worktree's own (HEAD, index, config.worktree), the common one
        /// (packed-refs, config), or a submodule's.
        case gitDirectory
        /// A directory under a common directory's refs/.
        case refs
        /// The common directory's info/ (exclude, sparse-checkout, attributes).
        case info
        /// See ``WatchOwner/external``.
        case external
        /// See ``WatchOwner/membership``.
        case membership
    }

    package struct Entry {
        package var path: FilePath
        package var owners: [WatchOwner: Role]
    }

    /// What is kept per watched worktree besides its watches.
    package struct Worktree {
        package var root: FilePath
        /// Its own git directory (HEAD and the index live here), where git's operation markers
        /// appear; `nil` until known.
        package var gitDirectory: FilePath? = nil
        /// Ignored directories without tracked files, with their path relative to `root`.
        package var ignored: [FilePath: [UInt8]] = [:]
        /// Files outside the repository git reads for this worktree (`core.excludesFile`).
        package var externalFiles: [FilePath] = []
    }

    package private(set) var entries: [Int32: Entry] = [:]
    package private(set) var watchesByOwner: [WatchOwner: Set<Int32>] = [:]
    package var worktrees: [String: Worktree] = [:]
    /// What each membership watch is on.
    package var membership: [FilePath: Set<MembershipWatch>] = [:]
    /// For each watched external directory, the names in it that lead to a file git reads.
    package var externalInterest: [FilePath: Set<FilePath.Component>] = [:]

    package var count: Int { entries.count }

    package mutating func add(_ watch: Int32, path: FilePath, owner: WatchOwner, role: Role) {
        entries[watch, default: Entry(path: path, owners: [:])].owners[owner] = role
        // A directory renamed inside the tree keeps its descriptor; follow its new name.
        entries[watch]?.path = path
        watchesByOwner[owner, default: []].insert(watch)
    }

    package func entry(_ watch: Int32) -> Entry? { entries[watch] }

    /// Forgets `owner` (and, for a worktree, what is kept for it); returns the descriptors
    /// nobody owns any more (to remove from the kernel).
    package mutating func removeOwner(_ owner: WatchOwner) -> [Int32] {
        if case .worktree(let id) = owner { worktrees[id] = nil }
        return remove(owner) { _ in true }
    }

    /// Forgets the worktree's tree watches at `path` and below (a directory moved away) and
    /// the ignored directories there; returns the orphaned descriptors.
    package mutating func removeTree(under path: FilePath, of id: String) -> [Int32] {
        if let ignored = worktrees[id]?.ignored { worktrees[id]?.ignored = ignored.filter { !$0.key.starts(with: path) } }
        return remove(.worktree(id)) { $0.owners[.worktree(id)] == .tree && $0.path.starts(with: path) }
    }

    /// Forgets `owner`'s watches in `role` that are not in `kept` (directories ignore rules now
    /// exclude, a removed submodule); returns the orphaned descriptors.
    package mutating func remove(_ owner: WatchOwner, role: Role, notIn kept: Set<FilePath>) -> [Int32] {
        remove(owner) { $0.owners[owner] == role && !kept.contains($0.path) }
    }

    /// Whether some watch is on `path` already (a linear scan: tests' watch limit only).
    package func isWatched(_ path: FilePath) -> Bool {
        entries.values.contains { $0.path == path }
    }

    /// The directories `owner` watches in `role`.
    package func paths(of owner: WatchOwner, role: Role) -> [FilePath] {
        (watchesByOwner[owner] ?? []).compactMap { watch in
            entries[watch].flatMap { $0.owners[owner] == role ? $0.path : nil }
        }
    }

    private mutating func remove(_ owner: WatchOwner, where matches: (Entry) -> Bool) -> [Int32] {
        var orphaned: [Int32] = []
        for watch in watchesByOwner[owner] ?? [] {
            guard let entry = entries[watch], matches(entry) else { continue }
            watchesByOwner[owner]?.remove(watch)
            entries[watch]?.owners[owner] = nil
            if entries[watch]?.owners.isEmpty == true {
                entries[watch] = nil
                orphaned.append(watch)
            }
        }
        if watchesByOwner[owner]?.isEmpty == true { watchesByOwner[owner] = nil }
        return orphaned.sorted()
    }

    /// The kernel dropped `watch` (its directory is gone).
    package mutating func drop(_ watch: Int32) {
        guard let entry = entries.removeValue(forKey: watch) else { return }
        for owner in entry.owners.keys { watchesByOwner[owner]?.remove(watch) }
    }

    package func watchCount(of owner: WatchOwner) -> Int { watchesByOwner[owner]?.count ?? 0 }

    /// `path`'s bytes relative to `root`, as git names paths (no leading `/`).
    package static func relative(_ path: FilePath, to root: FilePath) -> [UInt8] {
        var components = path.components.dropFirst(root.components.count).map(\.bytes)
        var bytes: [UInt8] = []
        if let first = components.first {
            bytes = first
            components.removeFirst()
        }
        for component in components { bytes += [UInt8(ascii: "/")] + component }
        return bytes
    }
}
