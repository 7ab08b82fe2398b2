internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Working states: scanning a worktree's working directory, building the tree `git add -A`
/// would record in the sandbox, and updating it path by path after edits.
extension MergeSandbox {

    /// The worktree at `path`: its change set against `merge-base(HEAD, trunk)` and the tree
    /// `git add -A` would record, built from its index and the files status reports changed.
    ///
    /// File contents are hashed as they are on disk (no clean filters such as CRLF
    /// conversion, and never a filter driver); symbolic links as their targets.
    public func workingState(ofWorktreeAt path: String, defaultBranch: String) throws(GitProbeError) -> WorkingState {
        try workingState(from: Self.scan(worktreeAt: path, defaultBranch: defaultBranch))
    }


    /// Whether this sandbox built the working state of the scan's worktree already.
    public func holds(treeOf scan: WorkdirScan) -> Bool { built.contains(scan.worktreePath) }

    /// Builds in this sandbox the tree of the scan's working state, and nothing else: what a
    /// merge in another thread's sandbox needs of a state built elsewhere.
    public func buildTree(from scan: WorkdirScan) throws(GitProbeError) {
        _ = try writeTree(from: scan)
        built.insert(scan.worktreePath)
    }

    /// The tree `git add -A` would record (written into the sandbox), and the tracked paths
    /// whose content it cannot hold.
    private func writeTree(from scan: WorkdirScan) throws(GitProbeError) -> (git_oid, Set<[UInt8]>) {
        let path = scan.worktreePath
        var index: OpaquePointer?
        let rc = git_index_open(&index, scan.indexPath)
        guard rc == 0, let index else {
            throw .classified(path: path, operation: "git_index_open", returnCode: rc)
        }
        defer { git_index_free(index) }
        var unreadable: Set<[UInt8]> = []
        for edit in scan.edits {
            switch edit {
            case .unreadable(let file):
                unreadable.insert(file)
            case .remove(let file):
                Self.withCString(file) { name in
                    _ = git_index_conflict_remove(index, name)
                    _ = git_index_remove(index, name, 0)
                }
            case .add(let file, let blob, let mode):
                let oid = try store(blob, path: path)
                var entry = git_index_entry()
                entry.mode = mode
                entry.id = oid
                entry.file_size = UInt32(truncatingIfNeeded: blob.size)
                let addRC = Self.withCString(file) { name in
                    entry.path = name
                    _ = git_index_conflict_remove(index, name)
                    return git_index_add(index, &entry)
                }
                guard addRC == 0 else {
                    throw .classified(path: path, operation: "git_index_add (in memory)", returnCode: addRC)
                }
            }
        }

        var tree = git_oid()
        let treeRC = git_index_write_tree_to(&tree, index, repository)
        guard treeRC == 0 else {
            throw .classified(path: path, operation: "git_index_write_tree_to (in memory)", returnCode: treeRC)
        }

        return (tree, unreadable)
    }

    /// The working state from a scan made earlier (possibly on another thread).
    public func workingState(from scan: WorkdirScan) throws(GitProbeError) -> WorkingState {
        let path = scan.worktreePath
        let (tree, unreadable) = try writeTree(from: scan)
        let head = scan.headCommit.flatMap(Self.oid)
        var base = head
        if let commit = head, let trunk = scan.trunkCommit.flatMap(Self.oid) {
            var found = git_oid()
            var ours = commit
            var theirs = trunk
            let baseRC = git_merge_base(&found, repository, &ours, &theirs)
            if baseRC == 0 {
                base = found
            } else if baseRC == GIT_ENOTFOUND.rawValue {
                base = nil
            } else {
                throw .classified(path: path, operation: "git_merge_base", returnCode: baseRC)
            }
        }
        var changes = try diff(fromCommit: base, toTree: tree, path: path)
        // What git status calls modified: the path changed, though its content is not in the tree.
        let listed = Set(changes.map(\.path))
        changes = (changes + unreadable.filter { !listed.contains($0) }.map { PathChange(path: $0, kind: .modified) }).sorted()
        built.insert(path)
        return WorkingState(
            worktreePath: path, headCommit: scan.headCommit, baseCommit: base.map(GitRepository.hex),
            tree: GitRepository.hex(tree), changes: changes,
            listedChanges: try listing(changes, baseCommit: base, path: path), unreadablePaths: unreadable)
    }

    /// The working state of a worktree known to be clean (nothing uncommitted): its tree is
    /// HEAD's, so nothing needs to be read but HEAD and the merge base. Edits are then
    /// applied with ``updatedWorkingState(_:changedPaths:)``.
    public func cleanWorkingState(ofWorktreeAt path: String, defaultBranch: String) throws(GitProbeError) -> WorkingState? {
        let worktree = try GitRepository(openingWorktreeAt: path)
        guard let commit = try worktree.head().commit else { return nil }
        let trunk = worktree.firstResolving(GitProbe.trunkCandidates(defaultBranch))?.target
        let headTree = try treeOfCommit(commit, path: path)
        defer { git_tree_free(headTree) }
        guard let treeID = git_tree_id(headTree)?.pointee else { return nil }
        var base: git_oid? = commit
        if let trunk {
            var found = git_oid()
            var ours = commit
            var theirs = trunk
            let rc = git_merge_base(&found, repository, &ours, &theirs)
            if rc == 0 { base = found } else if rc == GIT_ENOTFOUND.rawValue { base = nil } else {
                throw .classified(path: path, operation: "git_merge_base", returnCode: rc)
            }
        }
        let changes = try diff(fromCommit: base, toTree: treeID, path: path)
        built.insert(path)
        return WorkingState(
            worktreePath: path, headCommit: GitRepository.hex(commit), baseCommit: base.map(GitRepository.hex),
            tree: GitRepository.hex(treeID), changes: changes,
            listedChanges: try listing(changes, baseCommit: base, path: path))
    }

    /// The working state after edits of the files `changedPaths` (relative to the worktree
    /// top), from `previous` built in this sandbox: its tree updated path by path
    /// (`git_tree_create_updated`, in memory) and its change set recomputed for those paths
    /// alone. `nil` when that cannot be exact and the state must be built afresh: `previous`
    /// is not in this sandbox or has unreadable paths, HEAD moved, a path is a directory or
    /// something `git add` refuses (a FIFO, a socket), a new path is one git
    /// ignores (only the index could say whether `git add -A` takes it), a `.gitignore`, or a
    /// removal would empty a directory.
    public func updatedWorkingState(
        _ previous: WorkingState, changedPaths: Set<[UInt8]>
    ) throws(GitProbeError) -> WorkingState? {
        let path = previous.worktreePath
        guard built.contains(path), previous.unreadablePaths.isEmpty, let previousTree = Self.oid(previous.tree) else {
            return nil
        }
        let worktree = try GitRepository(openingWorktreeAt: path)
        guard try worktree.head().commit.map(GitRepository.hex) == previous.headCommit,
            let workdir = git_repository_workdir(worktree.handle)
        else { return nil }
        let top = PathBytes.of(workdir)
        let filemode = worktree.trustsExecutableBit()
        let oldTree = try lookupTree(previousTree, path: path)
        defer { git_tree_free(oldTree) }

        var updates: [(path: [UInt8], remove: Bool, id: git_oid, mode: UInt32)] = []
        for changed in changedPaths.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            // New ignore rules can change what `git add -A` takes anywhere.
            if PathBytes.lastComponent(of: changed) == Array(".gitignore".utf8) { return nil }
            let old = Self.entry(changed, in: oldTree)
            if old == nil, Self.exists(top + changed), Self.isIgnored(changed, in: worktree) { return nil }
            let blob: FileBlob
            let mode: UInt32
            switch try WorktreeFile.at(top + changed, worktreePath: path) {
            case .missing:
                guard let old else { continue }
                if Self.entryCount(ofParentOf: changed, in: oldTree) <= 1 { return nil }
                updates.append((changed, true, old.id, old.mode))
                continue
            case .directory, .special:
                return nil
            case .symlink(let target):
                (blob, mode) = (target, GIT_FILEMODE_LINK.rawValue)
            case .regular(let content, let executable):
                blob = content
                mode = filemode && executable ? GIT_FILEMODE_BLOB_EXECUTABLE.rawValue : GIT_FILEMODE_BLOB.rawValue
            }
            let id = try store(blob, path: path)
            if let old, old.mode == mode, git_oid_equal([id], [old.id]) != 0 { continue }
            updates.append((changed, false, id, mode))
        }

        var tree = previousTree
        if !updates.isEmpty {
            // Names byte for byte: they need not be UTF-8.
            let exact: [UnsafeMutablePointer<CChar>] = updates.map { update in
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: update.path.count + 1)
                for (offset, byte) in update.path.enumerated() { copy[offset] = CChar(bitPattern: byte) }
                copy[update.path.count] = 0
                return copy
            }
            defer { for name in exact { name.deallocate() } }
            let list = updates.enumerated().map { index, update in
                git_tree_update(
                    action: update.remove ? GIT_TREE_UPDATE_REMOVE : GIT_TREE_UPDATE_UPSERT, id: update.id,
                    filemode: git_filemode_t(update.mode), path: UnsafePointer(exact[index]))
            }
            let rc = list.withUnsafeBufferPointer { buffer in
                git_tree_create_updated(&tree, repository, oldTree, buffer.count, buffer.baseAddress)
            }
            guard rc == 0 else { return nil }
        }

        let newTree = try lookupTree(tree, path: path)
        defer { git_tree_free(newTree) }
        let baseTree = try previous.baseCommit.flatMap(Self.oid).map { oid throws(GitProbeError) in try treeOfCommit(oid, path: path) }
        defer { git_tree_free(baseTree) }
        var changes = previous.changes.filter { !changedPaths.contains($0.path) }
        for changed in changedPaths {
            let before = baseTree.flatMap { Self.entry(changed, in: $0) }
            let after = Self.entry(changed, in: newTree)
            let kind: PathChange.Kind?
            switch (before, after) {
            case (nil, nil): kind = nil
            case (nil, .some): kind = .added
            case (.some, nil): kind = .deleted
            case (.some(let old), .some(let new)):
                if old.mode == new.mode, git_oid_equal([old.id], [new.id]) != 0 {
                    kind = nil
                } else if (old.mode & 0o170000) != (new.mode & 0o170000) {
                    kind = .typeChanged
                } else {
                    kind = .modified
                }
            }
            if let kind { changes.append(PathChange(path: changed, kind: kind)) }
        }
        changes.sort()
        return WorkingState(
            worktreePath: path, headCommit: previous.headCommit, baseCommit: previous.baseCommit,
            tree: GitRepository.hex(tree), changes: changes,
            listedChanges: try listing(changes, baseCommit: previous.baseCommit.flatMap(Self.oid), path: path))
    }

    /// The entry at `path` (a file, never a directory) in `tree`.
    private static func entry(_ path: [UInt8], in tree: OpaquePointer) -> (id: git_oid, mode: UInt32)? {
        var found: OpaquePointer?
        guard withCString(path, { git_tree_entry_bypath(&found, tree, $0) }) == 0, let found else { return nil }
        defer { git_tree_entry_free(found) }
        guard git_tree_entry_type(found) != GIT_OBJECT_TREE, let id = git_tree_entry_id(found) else { return nil }
        return (id.pointee, git_tree_entry_filemode(found).rawValue)
    }

    /// How many entries the directory holding `path` has in `tree`.
    private static func entryCount(ofParentOf path: [UInt8], in tree: OpaquePointer) -> Int {
        let parent = PathBytes.parent(of: path)
        guard !parent.isEmpty else { return git_tree_entrycount(tree) }
        var found: OpaquePointer?
        guard withCString(parent, { git_tree_entry_bypath(&found, tree, $0) }) == 0, let found else { return 0 }
        defer { git_tree_entry_free(found) }
        var subtree: OpaquePointer?
        guard let id = git_tree_entry_id(found), git_tree_lookup(&subtree, git_tree_owner(tree), id) == 0, let subtree else {
            return 0
        }
        defer { git_tree_free(subtree) }
        return git_tree_entrycount(subtree)
    }

    private static func isIgnored(_ path: [UInt8], in worktree: GitRepository) -> Bool {
        var ignored: Int32 = 0
        return withCString(path) { git_ignore_path_is_ignored(&ignored, worktree.handle, $0) } == 0 && ignored != 0
    }

    /// The paths that differ between `commit`'s tree (the empty tree for `nil`) and `tree`,
    /// without rename detection.
    private func diff(fromCommit commit: git_oid?, toTree tree: git_oid, path: String) throws(GitProbeError) -> [PathChange] {
        let baseTree = try commit.map { oid throws(GitProbeError) in try treeOfCommit(oid, path: path) }
        defer { git_tree_free(baseTree) }
        let workTree = try lookupTree(tree, path: path)
        defer { git_tree_free(workTree) }
        var diff: OpaquePointer?
        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        let rc = git_diff_tree_to_tree(&diff, repository, baseTree, workTree, &options)
        guard rc == 0, let diff else { throw .classified(path: path, operation: "git_diff_tree_to_tree", returnCode: rc) }
        defer { git_diff_free(diff) }
        var changes: [PathChange] = []
        for position in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, position) else { continue }
            let kind: PathChange.Kind
            switch delta.pointee.status {
            case GIT_DELTA_ADDED: kind = .added
            case GIT_DELTA_DELETED: kind = .deleted
            case GIT_DELTA_TYPECHANGE: kind = .typeChanged
            default: kind = .modified
            }
            let name = kind == .deleted ? delta.pointee.old_file.path : delta.pointee.new_file.path
            if let name { changes.append(PathChange(path: PathBytes.of(name), kind: kind)) }
        }
        return changes.sorted()
    }
}
