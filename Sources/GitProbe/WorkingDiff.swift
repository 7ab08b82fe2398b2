internal import CGit2

/// What one worktree changed in one file since a commit: the unified diff from the file in
/// that commit (usually the merge base with trunk) to the file in the working directory, as
/// `git diff BASE -- PATH` prints its hunks. Read-only: the commit's blob comes from the
/// repository, the working file is read with a bound (never through libgit2's blocking open).
package enum WorkingDiff {
    /// Files larger than this are not diffed (a conflict report shows text, not megabytes).
    package static let limit = 1 << 20

    /// The diff text of `path` (relative to the worktree top at `worktree`) since `base`
    /// (a commit id); empty when the file is the same. A path outside the worktree, a file
    /// that is not a regular file or larger than ``limit`` is refused with one line.
    package static func of(_ path: String, in worktree: String, since base: String) throws(GitProbeError) -> String {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw .libgit2(.missingPath, path: path, operation: "a path inside the worktree", returnCode: -1)
        }
        let repository = try GitRepository(openingWorktreeAt: worktree)
        var oid = git_oid()
        guard git_oid_fromstr(&oid, base) == 0 else {
            throw .libgit2(.libgit2, path: worktree, operation: "git_oid_fromstr \(base.prefix(40))", returnCode: -1)
        }
        var commit: OpaquePointer?
        let looked = git_commit_lookup(&commit, repository.handle, &oid)
        guard looked == 0, let commit else {
            throw .libgit2(.libgit2, path: worktree, operation: "git_commit_lookup", returnCode: looked)
        }
        defer { git_commit_free(commit) }
        var tree: OpaquePointer?
        guard git_commit_tree(&tree, commit) == 0, let tree else {
            throw .libgit2(.libgit2, path: worktree, operation: "git_commit_tree", returnCode: -1)
        }
        defer { git_tree_free(tree) }
        // The file in the commit, if it was there.
        var blob: OpaquePointer?
        var entry: OpaquePointer?
        if git_tree_entry_bypath(&entry, tree, path) == 0, let entry {
            defer { git_tree_entry_free(entry) }
            if git_tree_entry_type(entry) == GIT_OBJECT_BLOB {
                _ = git_blob_lookup(&blob, repository.handle, git_tree_entry_id(entry))
            }
        }
        defer { if let blob { git_blob_free(blob) } }
        // The file on disk, if it is there.
        let full = worktree.hasSuffix("/") ? worktree + path : worktree + "/" + path
        let working: [UInt8]?
        do {
            working = try SmallFile.contents(of: full, followingLinks: false, limit: limit)
        } catch .missing {
            working = nil
        } catch {
            throw .libgit2(.unsupportedFormat, path: full, operation: error.sentence(full), returnCode: -1)
        }
        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        var patch: OpaquePointer?
        let rc: Int32 =
            if let working {
                working.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) {
                        git_patch_from_blob_and_buffer(&patch, blob, path, $0.baseAddress, bytes.count, path, &options)
                    }
                }
            } else {
                git_patch_from_blob_and_buffer(&patch, blob, path, nil, 0, path, &options)
            }
        guard rc == 0, let patch else { throw .libgit2(.libgit2, path: full, operation: "git_patch_from_blob_and_buffer", returnCode: rc) }
        defer { git_patch_free(patch) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        guard git_patch_to_buf(&buffer, patch) == 0, let text = buffer.ptr else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: buffer.size), as: UTF8.self)
    }
}
