internal import CGit2

/// The narrow merge: the same three-way merge as ``MergeSandbox/conflictingPaths(_:_:)``, run
/// over only the paths both sides changed, when that provably gives the same conflicts.
///
/// libgit2 resolves each path of a tree merge on its own, except in two cases: rename
/// detection pairs a path one side deleted with one that side added (a rename source needs
/// a deletion), and a path that is a file on one side and a directory on the other. When
/// neither side deleted a path or changed one's type (so no rename source exists, and no
/// file of the base turns into a directory) and no path one side added is a directory of a
/// path the other side added, a path only one side changed resolves to that side without a
/// conflict, and a path both changed resolves as in the full merge: same three entries, same
/// merge driver, same content merge. Anything else is answered by the full merge.
extension MergeSandbox {
    /// One side's entry for a path: its blob (or link, or commit) and mode.
    struct SideEntry {
        var id: git_oid
        var mode: UInt32
    }

    /// What one side changed against an ancestor tree, by path: the ancestor's entry (`nil`:
    /// added) and the side's.
    struct SideChanges {
        var entries: [[UInt8]: (ancestor: SideEntry?, side: SideEntry)] = [:]
        /// Every directory above a path this side added (`a`, `a/b` for `a/b/c`).
        var directoriesOfAdditions: Set<[UInt8]> = []
        /// False when the side deleted a path or changed one's type: only the full merge is exact.
        var narrowable = true

        func addedFile(at path: [UInt8]) -> Bool { entries[path].map { $0.ancestor == nil } ?? false }
    }

    /// The conflicted paths of merging `ours` and `theirs` from `ancestor`, from the paths
    /// both changed alone; `nil` when only the full merge can say.
    func narrowConflicts(
        ancestor: OpaquePointer, ours: OpaquePointer, theirs: OpaquePointer, path: String
    ) throws(GitProbeError) -> [[UInt8]]? {
        let ourChanges = try changes(of: ours, against: ancestor, path: path)
        let theirChanges = try changes(of: theirs, against: ancestor, path: path)
        guard ourChanges.narrowable, theirChanges.narrowable,
            !ourChanges.directoriesOfAdditions.contains(where: theirChanges.addedFile(at:)),
            !theirChanges.directoriesOfAdditions.contains(where: ourChanges.addedFile(at:))
        else { return nil }
        let both = ourChanges.entries.keys.filter { theirChanges.entries[$0] != nil }
            .sorted { $0.lexicographicallyPrecedes($1) }
        guard !both.isEmpty else { return [] }

        let key = both.map { PathChange.text(of: $0) }.joined(separator: "\n")
        let narrowAncestor = try narrowTree(
            of: ancestor, key: key, both.compactMap { path in ourChanges.entries[path]!.ancestor.map { (path, $0) } }, path: path)
        defer { git_tree_free(narrowAncestor) }
        let narrowOurs = try narrowTree(of: ours, key: key, both.map { ($0, ourChanges.entries[$0]!.side) }, path: path)
        defer { git_tree_free(narrowOurs) }
        let narrowTheirs = try narrowTree(of: theirs, key: key, both.map { ($0, theirChanges.entries[$0]!.side) }, path: path)
        defer { git_tree_free(narrowTheirs) }
        return try mergeConflicts(ancestor: narrowAncestor, ours: narrowOurs, theirs: narrowTheirs, path: path)
    }

    /// `tree`'s changes against `ancestor` (kept: one side serves many pairs).
    private func changes(of tree: OpaquePointer, against ancestor: OpaquePointer, path: String) throws(GitProbeError) -> SideChanges {
        let key = GitRepository.hex(git_tree_id(ancestor).pointee) + GitRepository.hex(git_tree_id(tree).pointee)
        if let known = sideChanges[key] { return known }
        var diff: OpaquePointer?
        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        options.flags |= GIT_DIFF_INCLUDE_TYPECHANGE.rawValue
        let rc = git_diff_tree_to_tree(&diff, repository, ancestor, tree, &options)
        guard rc == 0, let diff else { throw .classified(path: path, operation: "git_diff_tree_to_tree", returnCode: rc) }
        defer { git_diff_free(diff) }
        var changes = SideChanges()
        for position in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, position)?.pointee, let name = delta.new_file.path else {
                changes.narrowable = false
                break
            }
            let file = PathBytes.of(name)
            let side = SideEntry(id: delta.new_file.id, mode: UInt32(delta.new_file.mode))
            switch delta.status {
            case GIT_DELTA_ADDED:
                changes.entries[file] = (nil, side)
                var directory = PathBytes.parent(of: file)
                while !directory.isEmpty {
                    changes.directoriesOfAdditions.insert(directory)
                    directory = PathBytes.parent(of: directory)
                }
            case GIT_DELTA_MODIFIED where (delta.old_file.mode & 0o170000) == (delta.new_file.mode & 0o170000):
                changes.entries[file] = (SideEntry(id: delta.old_file.id, mode: UInt32(delta.old_file.mode)), side)
            default:
                changes.narrowable = false
            }
            if !changes.narrowable { break }
        }
        sideChanges[key] = changes
        return changes
    }

    /// A tree of `entries` alone, standing for `source` restricted to the paths `key` names
    /// (kept: one side's narrow tree serves every pair with the same common paths).
    private func narrowTree(
        of source: OpaquePointer, key: String, _ entries: [([UInt8], SideEntry)], path: String
    ) throws(GitProbeError) -> OpaquePointer {
        let cacheKey = GitRepository.hex(git_tree_id(source).pointee) + "\n" + key
        if let known = narrowTrees[cacheKey] { return try lookupTree(known, path: path) }
        let names: [UnsafeMutablePointer<CChar>] = entries.map { entry in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: entry.0.count + 1)
            for (offset, byte) in entry.0.enumerated() { copy[offset] = CChar(bitPattern: byte) }
            copy[entry.0.count] = 0
            return copy
        }
        defer { for name in names { name.deallocate() } }
        let updates = entries.enumerated().map { index, entry in
            git_tree_update(
                action: GIT_TREE_UPDATE_UPSERT, id: entry.1.id, filemode: git_filemode_t(entry.1.mode),
                path: UnsafePointer(names[index]))
        }
        var tree = git_oid()
        let rc = updates.withUnsafeBufferPointer { buffer in
            git_tree_create_updated(&tree, repository, nil, buffer.count, buffer.baseAddress)
        }
        guard rc == 0 else { throw .classified(path: path, operation: "git_tree_create_updated (in memory)", returnCode: rc) }
        narrowTrees[cacheKey] = tree
        return try lookupTree(tree, path: path)
    }
}
