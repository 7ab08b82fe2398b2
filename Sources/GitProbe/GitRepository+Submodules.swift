internal import CGit2

extension GitRepository {
    /// The status count for a worktree whose index holds submodules (gitlinks).
    ///
    /// libgit2 1.5.1's status scans `.gitmodules` with a regex iterator that leaks PCRE2 match
    /// data for every entry it does not match (fixed upstream in libgit2 1.6, PR #6382): about
    /// 30 KB per probe per submodule, unbounded in a long-running agent. So submodules are
    /// taken out of the main status: their staged side comes from a HEAD-against-index pass
    /// (which never opens a submodule) and their worktree side from `git_submodule_status` per
    /// path, which looks the submodule up without that iterator. git prints one line per path,
    /// so tracked changes are collected by path and counted once each.
    func statusCountWithSubmodules(
        _ submodules: [[UInt8]],
        settings: StatusSettings,
        pathList: git_strarray?,
        refreshingIndex: Bool,
        index: inout IndexLookup
    ) throws(GitProbeError) -> StatusCount {
        var count = StatusCount(linesByPath: nil, workdirEntries: nil)
        var changedPaths = Set<[UInt8]>()

        try withStatusList(
            settings: settings, pathList: pathList, excludingSubmodules: true, refreshingIndex: refreshingIndex
        ) {
            list throws(GitProbeError) in
            Self.forEachEntry(of: list, correctingWith: &index) { status, entry in
                if Self.isUntracked(status) { count.lines += 1 }
                if Self.hasTrackedChange(status), let path = Self.indexSidePath(of: entry) {
                    changedPaths.insert(path)
                }
                count.noteStaged(status)
            }
        }

        try collectStagedSubmoduleChanges(
            settings: settings, pathList: pathList, refreshingIndex: refreshingIndex, into: &changedPaths,
            count: &count)

        let ignores = try SubmoduleIgnores(repository: self)
        for submodule in submodules
        where try worktreeChanged(submodule: submodule, ignores: ignores) {
            changedPaths.insert(submodule)
        }
        count.lines += changedPaths.count
        return count
    }

    /// Gitlinks whose commit differs between HEAD and the index (shown whatever `ignore` says,
    /// as git does). A gitlink deleted at one path and added with the same commit at another
    /// is git's exact rename, one line under the new path; libgit2 does not pair them.
    private func collectStagedSubmoduleChanges(
        settings: StatusSettings,
        pathList: git_strarray?,
        refreshingIndex: Bool,
        into changedPaths: inout Set<[UInt8]>,
        count: inout StatusCount
    ) throws(GitProbeError) {
        var deleted: [(commit: git_oid, path: [UInt8])] = []
        var added: [(commit: git_oid, path: [UInt8])] = []
        try withStatusList(
            settings: settings, pathList: pathList, show: GIT_STATUS_SHOW_INDEX_ONLY,
            refreshingIndex: refreshingIndex
        ) { list throws(GitProbeError) in
            for position in 0..<git_status_list_entrycount(list) {
                guard let entry = git_status_byindex(list, position),
                    let delta = entry.pointee.head_to_index
                else { continue }
                let old = delta.pointee.old_file
                let new = delta.pointee.new_file
                let gitlink = GIT_FILEMODE_COMMIT.rawValue
                guard old.mode == gitlink || new.mode == gitlink, let newPath = new.path else {
                    continue
                }
                let status = entry.pointee.status.rawValue
                count.noteStaged(status)
                if status == GIT_STATUS_INDEX_DELETED.rawValue, old.mode == gitlink {
                    deleted.append((old.id, PathBytes.of(newPath)))
                } else if status == GIT_STATUS_INDEX_NEW.rawValue, new.mode == gitlink {
                    added.append((new.id, PathBytes.of(newPath)))
                } else {
                    changedPaths.insert(PathBytes.of(newPath))
                }
            }
        }
        for addition in added { changedPaths.insert(addition.path) }
        for deletion in deleted {
            var commit = deletion.commit
            let renamed =
                settings.detectsStagedRenames
                && added.contains { addition in
                    var other = addition.commit
                    return git_oid_equal(&commit, &other) != 0
                }
            if !renamed { changedPaths.insert(deletion.path) }
        }
    }

    /// Whether git would list the submodule at `path` for its worktree side: a different commit
    /// checked out, modified or untracked content (as its `ignore` setting allows), or its
    /// directory gone. An uninitialised submodule is not a change.
    private func worktreeChanged(
        submodule path: [UInt8], ignores: SubmoduleIgnores
    ) throws(GitProbeError) -> Bool {
        let ignore = ignores.setting(forSubmoduleAt: path)
        var flags: UInt32 = 0
        let rc = (path + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { name in
                git_submodule_status(&flags, handle, name.baseAddress, ignore)
            }
        }
        guard rc == 0 else {
            throw .classified(path: self.path, operation: "git_submodule_status", returnCode: rc)
        }
        return flags & Self.submoduleWorktreeChanges != 0
    }

    private static let submoduleWorktreeChanges =
        GIT_SUBMODULE_STATUS_WD_ADDED.rawValue | GIT_SUBMODULE_STATUS_WD_DELETED.rawValue
        | GIT_SUBMODULE_STATUS_WD_MODIFIED.rawValue
        | GIT_SUBMODULE_STATUS_WD_INDEX_MODIFIED.rawValue
        | GIT_SUBMODULE_STATUS_WD_WD_MODIFIED.rawValue | GIT_SUBMODULE_STATUS_WD_UNTRACKED.rawValue
}
