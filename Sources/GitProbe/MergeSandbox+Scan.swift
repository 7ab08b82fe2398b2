internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scanning a worktree's working directory, storing what it read, and listing a change set
/// the way `git status` does.
extension MergeSandbox {
    /// Reads what `git add -A` would change in the worktree's index: every path status sees
    /// changed in the working directory (untracked ones file by file), with its content as on
    /// disk. Needs no sandbox, so worktrees can be scanned on several threads at once.
    ///
    /// Files are opened through ``WorktreeFile`` only (never blocking, never following a link);
    /// files above ``WorktreeFile/storeLimit`` are hashed by streaming and not kept.
    ///
    /// At most `scanContentLimit` bytes of contents are held (scans of several worktrees wait
    /// together for their sandbox): past it, files are hashed and dropped like large ones.
    public static func scan(
        worktreeAt path: String, defaultBranch: String, scanContentLimit: Int = 16 << 20
    ) throws(GitProbeError) -> WorkdirScan {
        GitLibrary.initialize()
        let worktree = try GitRepository(openingWorktreeAt: path)
        let head = try worktree.head()
        let trunk = worktree.firstResolving(GitProbe.trunkCandidates(defaultBranch))?.target
        try checkRuleFiles(of: worktree, path: path)
        var settings = worktree.statusSettings()
        settings.untrackedFiles = .all
        settings.detectsStagedRenames = false
        var lookup = IndexLookup(repository: worktree.handle)
        var changed: [(path: [UInt8], status: UInt32)] = []
        try worktree.withStatusList(
            settings: settings, pathList: nil, show: GIT_STATUS_SHOW_WORKDIR_ONLY, excludingSubmodules: true
        ) { list throws(GitProbeError) in
            GitRepository.forEachEntry(of: list, correctingWith: &lookup) { status, entry in
                guard let delta = entry.pointee.index_to_workdir, let name = delta.pointee.new_file.path else { return }
                changed.append((PathBytes.of(name), status))
            }
        }
        return try reading(
            changed, in: worktree, path: path, headCommit: head.commit, trunkCommit: trunk, scanContentLimit: scanContentLimit)
    }

    /// The scan from the worktree side of a status the probe ran already (one walk of the
    /// working directory per worktree): the same edits ``scan(worktreeAt:defaultBranch:scanContentLimit:)``
    /// finds, when the probe's status saw every untracked file. `nil` when it did not
    /// (`status.showUntrackedFiles=no`, or an untracked directory shown as one entry), and
    /// the forecast scans for itself.
    static func scan(
        fromStatusOf worktree: GitRepository, entries: [(path: [UInt8], status: UInt32)], settings: StatusSettings,
        headCommit: git_oid?, trunkCommit: git_oid?, scanContentLimit: Int = 16 << 20
    ) throws(GitProbeError) -> WorkdirScan? {
        switch settings.untrackedFiles {
        case .no: return nil
        case .normal:
            // `dir/` may stand for many files (`all` lists them one by one), or be a nested repository.
            if entries.contains(where: { $0.path.last == UInt8(ascii: "/") }) { return nil }
        case .all: break
        }
        try checkRuleFiles(of: worktree, path: worktree.path)
        return try reading(
            entries, in: worktree, path: worktree.path, headCommit: headCommit, trunkCommit: trunkCommit,
            scanContentLimit: scanContentLimit)
    }

    private static func checkRuleFiles(of worktree: GitRepository, path: String) throws(GitProbeError) {
        guard let workdir = git_repository_workdir(worktree.handle) else {
            throw GitProbeError(code: .brokenRepository, path: path, operation: "git_repository_workdir")
        }
        let top = PathBytes.of(workdir)
        try checkRuleFiles(
            [top + Array(".gitignore".utf8), top + Array(".gitattributes".utf8),
             PathBytes.of(git_repository_commondir(worktree.handle)) + Array("info/exclude".utf8)],
            worktreePath: path)
    }

    /// Reads the files of the status entries `changed` (worktree side) into edits.
    private static func reading(
        _ changed: [(path: [UInt8], status: UInt32)], in worktree: GitRepository, path: String, headCommit: git_oid?,
        trunkCommit: git_oid?, scanContentLimit: Int
    ) throws(GitProbeError) -> WorkdirScan {
        guard let gitDirectory = git_repository_path(worktree.handle), let workdir = git_repository_workdir(worktree.handle) else {
            throw GitProbeError(code: .brokenRepository, path: path, operation: "git_repository_path")
        }
        let top = PathBytes.of(workdir)
        let filemode = worktree.trustsExecutableBit()
        let relevant = GIT_STATUS_WT_NEW.rawValue | GIT_STATUS_WT_MODIFIED.rawValue | GIT_STATUS_WT_TYPECHANGE.rawValue
            | GIT_STATUS_WT_DELETED.rawValue | GIT_STATUS_CONFLICTED.rawValue
        var edits: [WorkdirScan.Edit] = []
        var held = 0
        for (file, status) in changed where file.last != UInt8(ascii: "/") && status & relevant != 0 {
            let tracked = status & GIT_STATUS_WT_NEW.rawValue == 0
            switch try WorktreeFile.at(top + file, worktreePath: path) {
            case .missing, .directory:
                // A directory where a file was: `git add -A` removes the file and adds what
                // is inside, which status lists on its own.
                if tracked { edits.append(.remove(file)) }
            case .special:
                // `git add` refuses it; an untracked one git status does not even show.
                if tracked { edits.append(.unreadable(file)) }
            case .symlink(let blob):
                edits.append(.add(file, blob: blob, mode: GIT_FILEMODE_LINK.rawValue))
            case .regular(var blob, let executable):
                // Contents held past the scan's limit are dropped: such a file enters the tree
                // by its id alone, like a large one.
                if let content = blob.content {
                    if held + content.count > scanContentLimit { blob.content = nil } else { held += content.count }
                }
                let mode = filemode && executable ? GIT_FILEMODE_BLOB_EXECUTABLE.rawValue : GIT_FILEMODE_BLOB.rawValue
                edits.append(.add(file, blob: blob, mode: mode))
            }
        }
        return WorkdirScan(
            worktreePath: path, indexPath: String(cString: gitDirectory) + "index",
            commonDirectory: GitRepository.trimmed(git_repository_commondir(worktree.handle)),
            headCommit: headCommit.map(GitRepository.hex), trunkCommit: trunkCommit.map(GitRepository.hex), edits: edits)
    }

    /// Rule files libgit2 reads whole (and keeps) for status: the forecast refuses a worktree
    /// whose top-level ones exceed ``WorktreeFile/ruleFileLimit`` instead of letting a
    /// runaway file take gigabytes. (Nested `.gitignore` files are not checked: only a walk
    /// would find them, and libgit2 makes its own.)
    private static func checkRuleFiles(_ files: [[UInt8]], worktreePath: String) throws(GitProbeError) {
        for file in files {
            var info = stat()
            guard withCString(file, { lstat($0, &info) }) == 0, Int(info.st_size) > WorktreeFile.ruleFileLimit else { continue }
            throw GitProbeError(
                code: .libgit2, path: worktreePath, operation: "read \(PathChange.text(of: file))",
                libgit2Message: "\(info.st_size) bytes, more than the \(WorktreeFile.ruleFileLimit >> 20) MiB the forecast lets libgit2 read")
        }
    }

    /// The blob's id; its content written into the sandbox unless an object store already has
    /// it (an existing object is never "freshened") or the file was too large to be kept.
    func store(_ blob: FileBlob, path: String) throws(GitProbeError) -> git_oid {
        var oid = blob.oid
        guard let content = blob.content, git_odb_exists(odb, &oid) == 0 else { return oid }
        let rc = content.withUnsafeBytes { bytes in
            git_odb_write(&oid, odb, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, bytes.count, GIT_OBJECT_BLOB)
        }
        guard rc == 0 else { throw .classified(path: path, operation: "git_odb_write (in memory)", returnCode: rc) }
        return oid
    }

    /// `changes` as `git status` lists untracked files: an added path inside a directory the
    /// base tree does not have becomes that directory (the topmost such), `dir/`, once.
    func listing(_ changes: [PathChange], baseCommit: git_oid?, path: String) throws(GitProbeError) -> [PathChange] {
        guard changes.contains(where: { $0.kind == .added && $0.path.contains(UInt8(ascii: "/")) }) else { return changes }
        let baseTree = try baseCommit.map { oid throws(GitProbeError) in try treeOfCommit(oid, path: path) }
        defer { git_tree_free(baseTree) }
        var isDirectoryInBase: [[UInt8]: Bool] = [:]
        func inBase(_ directory: [UInt8]) -> Bool {
            if let known = isDirectoryInBase[directory] { return known }
            var found = false
            if let baseTree {
                var entry: OpaquePointer?
                if Self.withCString(directory, { git_tree_entry_bypath(&entry, baseTree, $0) }) == 0, let entry {
                    found = git_tree_entry_type(entry) == GIT_OBJECT_TREE
                    git_tree_entry_free(entry)
                }
            }
            isDirectoryInBase[directory] = found
            return found
        }
        var listed: [PathChange] = []
        var seen = Set<[UInt8]>()
        for change in changes {
            var entry = change
            if change.kind == .added {
                for (offset, byte) in change.path.enumerated() where byte == UInt8(ascii: "/") {
                    let directory = Array(change.path[..<offset])
                    if !inBase(directory) {
                        entry = PathChange(path: directory + [UInt8(ascii: "/")], kind: .added)
                        break
                    }
                }
            }
            if seen.insert(entry.path).inserted { listed.append(entry) }
        }
        return listed.sorted()
    }
}
