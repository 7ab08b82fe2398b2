internal import CGit2

extension GitRepository {
    /// What one status run found: its porcelain lines, and whether it saw staged deletions and
    /// additions (the two halves a staged rename is detected from).
    struct StatusCount: Equatable {
        var lines = 0
        var hasStagedDeletion = false
        var hasStagedAddition = false
        /// The lines per path, for `StatusMemory`; `nil` when the count came from a pass that
        /// cannot be redone path by path (submodules).
        var linesByPath: [[UInt8]: Int]? = [:]
        /// Both halves of every staged rename.
        var renamedPaths: Set<[UInt8]> = []
        /// Every entry with a worktree side (its path there and its status), for the forecast's
        /// working state; `nil` when the pass did not see them all (submodules).
        var workdirEntries: [(path: [UInt8], status: UInt32)]? = []

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.lines == rhs.lines && lhs.hasStagedDeletion == rhs.hasStagedDeletion
                && lhs.hasStagedAddition == rhs.hasStagedAddition && lhs.linesByPath == rhs.linesByPath
                && lhs.renamedPaths == rhs.renamedPaths
        }
    }

    /// Counts the lines `git status --porcelain` (v1) prints, over the whole worktree or, with
    /// `pathList`, only under those literal paths (`units`, the same paths as a set).
    ///
    /// `pass` says whether HEAD is compared with the index (not when the cache-tree already
    /// says they agree) and whether the index already loaded is used as it is.
    ///
    /// Read-only: no `GIT_STATUS_OPT_UPDATE_INDEX`, so files whose stat data is stale are
    /// re-hashed but the index is never rewritten and no `index.lock` is taken.
    func statusCount(
        settings: StatusSettings,
        pathList: git_strarray? = nil,
        units: Set<[UInt8]>? = nil,
        pass: StatusPass = StatusPass()
    ) throws(GitProbeError) -> StatusCount {
        var index = IndexLookup(repository: handle)
        let submodules = index.gitlinkPaths(under: units)
        guard submodules.isEmpty else {
            return try statusCountWithSubmodules(
                submodules, settings: settings, pathList: pathList, refreshingIndex: pass.refreshesIndex,
                index: &index)
        }

        var count = StatusCount()
        try withStatusList(
            settings: settings, pathList: pathList, show: pass.show, refreshingIndex: pass.refreshesIndex
        ) { list throws(GitProbeError) in
            Self.forEachEntry(of: list, correctingWith: &index) { status, entry in
                let lines = Self.porcelainLines(forStatus: status)
                count.lines += lines
                count.noteStaged(status)
                count.remember(entry, status: status, lines: lines)
                if let delta = entry.pointee.index_to_workdir, let name = delta.pointee.new_file.path {
                    count.workdirEntries?.append((PathBytes.of(name), status))
                }
            }
        }
        return count
    }

    /// Runs libgit2's status with the flags git's porcelain corresponds to and hands the list
    /// to `body`, freeing it afterwards.
    func withStatusList(
        settings: StatusSettings,
        pathList: git_strarray?,
        show: git_status_show_t = GIT_STATUS_SHOW_INDEX_AND_WORKDIR,
        excludingSubmodules: Bool = false,
        recursingUntracked: Bool = false,
        refreshingIndex: Bool = true,
        _ body: (OpaquePointer) throws(GitProbeError) -> Void
    ) throws(GitProbeError) {
        var options = git_status_options()
        let initRC = git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        guard initRC == 0 else {
            throw .classified(path: path, operation: "git_status_options_init", returnCode: initRC)
        }
        options.show = show
        // Paths are literal, so libgit2 prunes whole directories outside the list instead of
        // fnmatch-ing every file. No rename search runs in the workdir: porcelain does none.
        var flags = GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue
        switch settings.untrackedFiles {
        case .no: break
        case .normal:
            flags |= GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue
            if recursingUntracked { flags |= GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue }
        case .all:
            flags |= GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue
            flags |= GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
        }
        if settings.detectsStagedRenames {
            flags |= GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue
        }
        if excludingSubmodules {
            flags |= GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
        }
        if !refreshingIndex {
            flags |= GIT_STATUS_OPT_NO_REFRESH.rawValue
        }
        options.flags = flags
        if let pathList {
            options.pathspec = pathList
        }

        var list: OpaquePointer?
        let rc = git_status_list_new(&list, handle, &options)
        guard rc == 0, let list else {
            throw .classified(path: path, operation: "git_status_list_new", returnCode: rc)
        }
        defer { git_status_list_free(list) }
        try body(list)
    }

    /// Calls `body` with each entry's status, corrected where libgit2 1.5 and git disagree, and
    /// the entry itself.
    static func forEachEntry(
        of list: OpaquePointer,
        correctingWith index: inout IndexLookup,
        _ body: (UInt32, UnsafePointer<git_status_entry>) -> Void
    ) {
        for position in 0..<git_status_list_entrycount(list) {
            guard let entry = git_status_byindex(list, position) else { continue }
            var status = entry.pointee.status.rawValue
            let workdirPath = entry.pointee.index_to_workdir?.pointee.old_file.path
            if status & worktreeChangeBits != 0, let workdirPath,
                index.isSkipWorktree(workdirPath)
            {
                // git treats skip-worktree entries (sparse checkout) as matching the index
                // whatever is on disk; libgit2 1.5 does not know the flag.
                status &= ~worktreeChangeBits
            }
            if status & GIT_STATUS_WT_NEW.rawValue != 0, let workdirPath,
                index.isTrackedDirectoryName(workdirPath)
            {
                status &= ~GIT_STATUS_WT_NEW.rawValue
            }
            body(status, entry)
        }
    }

    /// The path an entry has in the index (or had in HEAD, when it is gone from the index).
    static func indexSidePath(of entry: UnsafePointer<git_status_entry>) -> [UInt8]? {
        if let path = entry.pointee.index_to_workdir?.pointee.old_file.path {
            return PathBytes.of(path)
        }
        if let path = entry.pointee.head_to_index?.pointee.new_file.path {
            return PathBytes.of(path)
        }
        return nil
    }

    /// Worktree-side changes to a tracked path (not "untracked").
    static let worktreeChangeBits =
        GIT_STATUS_WT_MODIFIED.rawValue | GIT_STATUS_WT_DELETED.rawValue
        | GIT_STATUS_WT_TYPECHANGE.rawValue | GIT_STATUS_WT_RENAMED.rawValue

    /// How many porcelain lines one libgit2 status entry stands for.
    ///
    /// libgit2 merges everything about a path into one entry, git prints tracked changes and
    /// "untracked" on separate lines: after `git rm --cached f` the entry is
    /// INDEX_DELETED|WT_NEW and porcelain prints `D  f` and `?? f`.
    static func porcelainLines(forStatus status: UInt32) -> Int {
        (isUntracked(status) ? 1 : 0) + (hasTrackedChange(status) ? 1 : 0)
    }

    static func isUntracked(_ status: UInt32) -> Bool {
        status & GIT_STATUS_WT_NEW.rawValue != 0
    }

    static func hasTrackedChange(_ status: UInt32) -> Bool {
        status & ~(GIT_STATUS_WT_NEW.rawValue | GIT_STATUS_IGNORED.rawValue) != 0
    }

    /// `core.fileMode` (default true): whether the executable bit on disk is part of a file's
    /// mode, as `git add` reads it.
    func trustsExecutableBit() -> Bool {
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, handle) == 0, let config else { return true }
        defer { git_config_free(config) }
        var value: Int32 = 1
        return git_config_get_bool(&value, config, "core.filemode") == 0 ? value != 0 : true
    }

    /// Reads the status-related config; unreadable config keeps git's defaults.
    func statusSettings() -> StatusSettings {
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, handle) == 0, let config else {
            return StatusSettings()
        }
        defer { git_config_free(config) }

        func string(_ name: String) -> String? {
            var value: UnsafePointer<CChar>?
            guard git_config_get_string(&value, config, name) == 0, let value else { return nil }
            return String(cString: value)
        }

        var settings = StatusSettings()
        settings.untrackedFiles = StatusSettings.untrackedFiles(
            fromConfigValue: string("status.showUntrackedFiles"))
        settings.detectsStagedRenames =
            StatusSettings.renames(fromConfigValue: string("status.renames"))
            ?? StatusSettings.renames(fromConfigValue: string("diff.renames"))
            ?? true
        var ignoresCase: Int32 = 0
        if git_config_get_bool(&ignoresCase, config, "core.ignorecase") == 0 {
            settings.ignoresCase = ignoresCase != 0
        }
        return settings
    }
}

extension GitRepository.StatusCount {
    /// Keeps what one entry contributed, by its index-side path.
    mutating func remember(_ entry: UnsafePointer<git_status_entry>, status: UInt32, lines: Int) {
        guard lines > 0, let path = GitRepository.indexSidePath(of: entry) else { return }
        linesByPath?[path, default: 0] += lines
        if status & GIT_STATUS_INDEX_RENAMED.rawValue != 0, let delta = entry.pointee.head_to_index {
            if let old = delta.pointee.old_file.path { renamedPaths.insert(PathBytes.of(old)) }
            renamedPaths.insert(path)
        }
    }

    /// The count of `paths`, each a tracked file whose worktree content differs from the
    /// index, with HEAD and the index agreeing: git prints ` M path` for each.
    static func modifiedInWorktree(_ paths: [[UInt8]]) -> Self {
        var count = Self()
        for path in paths {
            count.lines += 1
            count.linesByPath?[path, default: 0] += 1
            count.workdirEntries?.append((path, GIT_STATUS_WT_MODIFIED.rawValue))
        }
        return count
    }

    /// Adds a disjoint part's count (a partition of the worktree's paths).
    mutating func absorb(_ part: Self) {
        lines += part.lines
        hasStagedDeletion = hasStagedDeletion || part.hasStagedDeletion
        hasStagedAddition = hasStagedAddition || part.hasStagedAddition
        if let theirs = part.linesByPath, linesByPath != nil {
            linesByPath!.merge(theirs, uniquingKeysWith: +)
        } else {
            linesByPath = nil
        }
        renamedPaths.formUnion(part.renamedPaths)
        if let theirs = part.workdirEntries, workdirEntries != nil {
            workdirEntries!.append(contentsOf: theirs)
        } else {
            workdirEntries = nil
        }
    }

    /// Records the staged halves of a possible rename.
    mutating func noteStaged(_ status: UInt32) {
        hasStagedDeletion = hasStagedDeletion || status & GIT_STATUS_INDEX_DELETED.rawValue != 0
        hasStagedAddition = hasStagedAddition || status & GIT_STATUS_INDEX_NEW.rawValue != 0
    }
}
