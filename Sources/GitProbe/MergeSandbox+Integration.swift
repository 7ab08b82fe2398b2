internal import CGit2

/// The "integrated" test of a branch: its changes are in trunk without its commits.
extension MergeSandbox {
    /// True when merging `head` into `target` changes nothing: what `git merge-tree
    /// --write-tree <target> <head>` decides when it prints `<target>^{tree}`.
    ///
    /// libgit2's three-way merge of the two commits (recursive merge bases, rename
    /// detection) runs in this sandbox: merged blobs, virtual bases and the result tree are
    /// written to its in-memory store only. A conflict, or no merge base (git refuses
    /// unrelated histories), is a change.
    func mergeChangesNothing(merging head: git_oid, into target: git_oid, path: String) throws(GitProbeError) -> Bool {
        var ours = target
        var theirs = head
        var base = git_oid()
        let baseRC = git_merge_base(&base, repository, &ours, &theirs)
        if baseRC == GIT_ENOTFOUND.rawValue { return false }
        guard baseRC == 0 else { throw .classified(path: path, operation: "git_merge_base", returnCode: baseRC) }

        let targetCommit = try lookupCommit(target, path: path)
        defer { git_commit_free(targetCommit) }
        let headCommit = try lookupCommit(head, path: path)
        defer { git_commit_free(headCommit) }
        var options = git_merge_options()
        git_merge_options_init(&options, UInt32(GIT_MERGE_OPTIONS_VERSION))
        var merged: OpaquePointer?
        let rc = git_merge_commits(&merged, repository, targetCommit, headCommit, &options)
        guard rc == 0, let merged else {
            throw .classified(path: path, operation: "git_merge_commits (in memory)", returnCode: rc)
        }
        defer { git_index_free(merged) }
        guard git_index_has_conflicts(merged) == 0 else { return false }
        var tree = git_oid()
        let treeRC = git_index_write_tree_to(&tree, merged, repository)
        guard treeRC == 0 else {
            throw .classified(path: path, operation: "git_index_write_tree_to (in memory)", returnCode: treeRC)
        }
        guard let targetTree = git_commit_tree_id(targetCommit) else { return false }
        return git_oid_equal(&tree, targetTree) != 0
    }

    private func lookupCommit(_ oid: git_oid, path: String) throws(GitProbeError) -> OpaquePointer {
        var id = oid
        var commit: OpaquePointer?
        let rc = git_commit_lookup(&commit, repository, &id)
        guard rc == 0, let commit else { throw .classified(path: path, operation: "git_commit_lookup", returnCode: rc) }
        return commit
    }
}
