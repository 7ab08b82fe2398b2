internal import CGit2

extension GitRepository {
    /// The index this handle's status will use, read now if it has not been yet; the caller
    /// frees the reference. Loading it once and handing it to every pass (see
    /// `PorcelainCounter`) is what keeps a split status from re-reading it per thread.
    func loadedIndex() throws(GitProbeError) -> OpaquePointer {
        var index: OpaquePointer?
        let rc = git_repository_index(&index, handle)
        guard rc == 0, let index else {
            throw .classified(path: path, operation: "git_repository_index", returnCode: rc)
        }
        return index
    }

    /// True when the index file's cache-tree, trusted as git's status trusts it, says the
    /// index holds exactly HEAD's tree, so status need not compare HEAD with the index.
    ///
    /// `index` is the index status will use (with `GIT_STATUS_OPT_NO_REFRESH`, so it is not
    /// re-read); the file read here must be the one it was loaded from, which the trailing
    /// checksum tells. False whenever that cannot be known: no HEAD, no or invalid cache-tree
    /// root, an intent-to-add or conflicted entry, an index this reader does not parse.
    func cacheTreeMatchesHead(_ headCommit: git_oid?, index: OpaquePointer) -> Bool {
        indexFileMatchingHead(headCommit, index: index) != nil
    }

    /// The same check, answered with the stat of the index file `index` was loaded from (the
    /// file whose checksum it carries) when its cache-tree names HEAD's tree, `nil` otherwise.
    func indexFileMatchingHead(_ headCommit: git_oid?, index: OpaquePointer) -> FileIdentity? {
        guard var commitID = headCommit, let gitDirectory = git_repository_path(handle),
            let cacheTree = IndexCacheTree.read(indexAt: String(cString: gitDirectory) + "index", loaded: index),
            let root = cacheTree.rootTree, !cacheTree.hasIntentToAdd, !cacheTree.hasUnmergedEntries,
            let file = cacheTree.file, let loaded = git_index_checksum(index),
            withUnsafeBytes(of: loaded.pointee.id, { Array($0) }) == cacheTree.checksum
        else { return nil }
        var commit: OpaquePointer?
        guard git_commit_lookup(&commit, handle, &commitID) == 0, let commit else { return nil }
        defer { git_commit_free(commit) }
        guard let tree = git_commit_tree_id(commit), withUnsafeBytes(of: tree.pointee.id, { Array($0) }) == root
        else { return nil }
        return file
    }

    /// The same check on the index this handle loads, against its own HEAD.
    func cacheTreeMatchesHead() throws(GitProbeError) -> Bool {
        let index = try loadedIndex()
        defer { git_index_free(index) }
        return cacheTreeMatchesHead(try head().commit, index: index)
    }
}
