internal import CGit2
import Dispatch

import Synchronization
import class Foundation.ProcessInfo

/// Counts the lines `git status --porcelain` would print, splitting large worktrees across
/// threads.
///
/// The index is read once, on the caller's handle, and every pass uses it as read. When its
/// cache-tree says it holds HEAD's tree (as git's status trusts it), HEAD is not compared with
/// the index at all. libgit2's status is single-threaded while git stats the index entries on
/// several threads, so above `partitionThresholdBytes` of index the worktree is cut into
/// literal paths (`GitRepository.statusUnits`), the paths are dealt into groups, each group
/// runs a status on its own thread with its own repository handle sharing the one index, and
/// the line counts are summed (groups never share a path). When a split could change the
/// answer (a staged rename whose halves fall in different groups, case-insensitive matching)
/// one whole-worktree pass is used instead. With the index holding HEAD's tree, each thread
/// first drops the paths whose files it proves unchanged from stat data (`StatClean`): what
/// libgit2 would spend on them is mostly resolving each file's absolute path in the kernel.
/// Those stat data are read on another thread while the index is parsed (`WorkdirSnapshot`):
/// the parse runs on one core, and reading the disk needs nothing from it.
struct PorcelainCounter: Sendable {
    /// Index files smaller than this are counted in one pass: a split only pays off once the
    /// workdir scan dominates.
    var partitionThresholdBytes: Int = 256 * 1024
    /// Upper bound on groups.
    var maxPartitions: Int = min(4, ProcessInfo.processInfo.activeProcessorCount)
    /// Whether a split status first tries to prove its paths clean from stat data (see
    /// `StatClean`) when the index holds HEAD's tree.
    var provesUnitsClean = true
    /// Whether that check reads the worktree on a thread of its own while the index is parsed
    /// (see `WorkdirSnapshot`), instead of with syscalls after the parse.
    var walksWorkdirDuringParse = true
    /// How many names that walk reads beyond twice the index's estimated entry count before it
    /// gives up (it knows no ignore rules: a large ignored tree must not make it unbounded).
    var walkNameSlack = 10_000
    /// Counts what that check did, for tests.
    var statCleanTally: StatCleanTally?
    /// For tests: called once the walk has started, before the index is read.
    var walkStarted: (@Sendable (WorkdirWalk) -> Void)?

    func count(in repository: GitRepository, headCommit: git_oid?) throws(GitProbeError) -> Int {
        try count(in: repository, headCommit: headCommit, settings: repository.statusSettings()).lines
    }

    /// The count with what each path contributed (see `StatusMemory`).
    func count(
        in repository: GitRepository, headCommit: git_oid?, settings: StatusSettings
    ) throws(GitProbeError) -> GitRepository.StatusCount {
        let walk = startWalk(in: repository, settings: settings)
        // Whatever the outcome, the walk's thread has ended when this returns.
        defer { walk?.walk.cancel() }
        if let walk { walkStarted?(walk.walk) }
        let index = try repository.loadedIndex()
        defer { git_index_free(index) }
        var pass = StatusPass(refreshesIndex: false)
        let indexFile = repository.indexFileMatchingHead(headCommit, index: index)
        // A walk whose snapshot could not be used stops now rather than compete with the status.
        if let walk, indexFile != walk.indexFile { walk.walk.cancel() }
        if indexFile != nil {
            pass.show = GIT_STATUS_SHOW_WORKDIR_ONLY
        }
        guard maxPartitions > 1, !settings.ignoresCase,
            let indexSize = repository.indexFileSize(), indexSize >= partitionThresholdBytes
        else {
            walk?.walk.cancel()
            return try repository.statusCount(settings: settings, pass: pass)
        }

        let units = try repository.statusUnits(headCommit: headCommit, index: index, parts: maxPartitions)
        let groups = Self.groups(of: units, count: maxPartitions)
        guard groups.count > 1 else {
            walk?.walk.cancel()
            return try repository.statusCount(settings: settings, pass: pass)
        }

        // Opened here, not on the threads: each handle takes the index before any status runs.
        var workers: [GitRepository] = []
        for _ in groups {
            let worker = try GitRepository(openingWorktreeAt: repository.path)
            let rc = git_repository_set_index(worker.handle, index)
            guard rc == 0 else {
                throw .classified(path: repository.path, operation: "git_repository_set_index", returnCode: rc)
            }
            workers.append(worker)
        }
        let outcomes = Outcomes(count: groups.count)
        let handles = Handles(workers)
        let groupPass = pass
        // With the index holding HEAD's tree, a path whose worktree side matches the index
        // prints nothing: each thread first drops the paths it proves so from stat data.
        var checker =
            provesUnitsClean ? indexFile.flatMap { StatClean(repository: repository, index: index, indexFile: $0) } : nil
        let tally = statCleanTally
        // The snapshot is used only when it was read after the loaded index's file was
        // written: its identity was taken before the walk started, and the file the loaded
        // index came from (told by its checksum, see `indexFileMatchingHead`) has that same
        // identity. Every lstat in the snapshot is then one StatClean's own fstatat could have
        // made: those too come after the index file was written (after the parse), and the
        // racily-clean check still compares with that file's mtime. A file changed after the
        // walk saw it is answered as it was when seen, exactly as a file changed right after
        // StatClean's own fstatat is today; libgit2 has no part in a clean unit either way,
        // and a status is never one instant (git's own lstat()s each file once, in turn).
        // The index file's identity is checked again after the units (`remaining`).
        // The walk is not waited for: once the units are known, what it has not listed yet is
        // left to the groups' threads, which check it with syscalls on every core, while the
        // walk would go on on one.
        if checker != nil, let walk, walk.indexFile == indexFile,
            let snapshot = walk.walk.snapshot(stoppingEarly: true)
        {
            checker?.snapshot = snapshot
            tally?.add(snapshot)
        }
        let statClean = checker
        DispatchQueue.concurrentPerform(iterations: groups.count) { group in
            outcomes[group] = Result { () throws(GitProbeError) -> GitRepository.StatusCount in
                var paths = groups[group]
                var decided = GitRepository.StatusCount()
                if let statClean {
                    let remaining = statClean.remaining(of: paths, entryCounts: units)
                    paths = remaining.paths
                    decided = .modifiedInWorktree(remaining.modified)
                    tally?.add(remaining, of: groups[group].count)
                }
                guard !paths.isEmpty else { return decided }
                let pathList = PathList(paths)
                var count = try pathList.withStrArray { list throws(GitProbeError) in
                    try handles.workers[group].statusCount(
                        settings: settings, pathList: list, units: Set(paths), pass: groupPass)
                }
                count.absorb(decided)
                return count
            }
        }

        var results: [GitRepository.StatusCount] = []
        for outcome in outcomes.all {
            switch outcome {
            case .success(let result): results.append(result)
            case .failure(let error): throw error
            case nil:
                throw GitProbeError(code: .libgit2, path: repository.path, operation: "partitioned status")
            }
        }
        if settings.detectsStagedRenames && Self.mayPairAcrossGroups(results) {
            return try repository.statusCount(settings: settings, pass: pass)
        }
        var total = GitRepository.StatusCount()
        for result in results { total.absorb(result) }
        return total
    }

    /// Starts reading the worktree for `StatClean` (see `WorkdirSnapshot`) when the status
    /// will be split, before the index is parsed: the parse runs on one thread, and the walk
    /// needs nothing from it. Also the identity of the index file before the walk starts.
    /// Bounded by the index file's size: a version-2 entry takes about 62 bytes and more with
    /// its name, so twice that estimate plus `walkNameSlack` names is well past a worktree
    /// holding only its tracked files and a few others.
    private func startWalk(
        in repository: GitRepository, settings: StatusSettings
    ) -> (walk: WorkdirWalk, indexFile: FileIdentity)? {
        guard walksWorkdirDuringParse, provesUnitsClean, maxPartitions > 1, !settings.ignoresCase,
            let indexPath = repository.indexFilePath(), let workdir = git_repository_workdir(repository.handle)
        else { return nil }
        let indexFile = FileIdentity.of(indexPath)
        guard indexFile.size >= 0, indexFile.size >= partitionThresholdBytes else { return nil }
        let estimate = Int(indexFile.size) / 62
        let walk = WorkdirWalk.start(workdir: PathBytes.of(workdir), nameLimit: 2 * estimate + walkNameSlack)
        return (walk, indexFile)
    }

    /// Deals `units` (paths with their index entry counts) into groups: round-robin in byte
    /// order, except that a path below the top level with no index entries goes with a path
    /// that has entries in the same directory. libgit2's status restricted to literal paths
    /// takes a directory under which none of the paths has an index entry for untracked and
    /// reports it as one line, which the paths then filter out: an untracked file or
    /// directory alone in its group would be lost. One group when no such partner exists.
    static func groups(of units: [[UInt8]: Int], count: Int) -> [[[UInt8]]] {
        let anchors = units.filter { $0.value > 0 || PathBytes.parent(of: $0.key).isEmpty }
        var groups = groups(of: Set(anchors.keys), count: count)
        var groupOfDirectory: [[UInt8]: Int] = [:]
        for (group, paths) in groups.enumerated() {
            for path in paths where units[path, default: 0] > 0 {
                var directory = PathBytes.parent(of: path)
                while !directory.isEmpty, groupOfDirectory[directory] == nil {
                    groupOfDirectory[directory] = group
                    directory = PathBytes.parent(of: directory)
                }
            }
        }
        for (unit, entries) in units where entries == 0 && !PathBytes.parent(of: unit).isEmpty {
            guard let group = groupOfDirectory[PathBytes.parent(of: unit)] else {
                return [units.keys.sorted { $0.lexicographicallyPrecedes($1) }]
            }
            groups[group].append(unit)
        }
        return groups
    }

    /// Splits paths round-robin in sorted order, so neighbouring directories (often similar in
    /// size) land in different groups.
    static func groups(of names: Set<[UInt8]>, count: Int) -> [[[UInt8]]] {
        let sorted = names.sorted { $0.lexicographicallyPrecedes($1) }
        let groupCount = min(count, sorted.count)
        guard groupCount > 0 else { return [] }
        var groups = [[[UInt8]]](repeating: [], count: groupCount)
        for (position, name) in sorted.enumerated() {
            groups[position % groupCount].append(name)
        }
        return groups
    }

    /// True when a staged deletion in one group and a staged addition in another could have been
    /// one rename had both been seen together.
    static func mayPairAcrossGroups(_ counts: [GitRepository.StatusCount]) -> Bool {
        for (deleting, deletion) in counts.enumerated() where deletion.hasStagedDeletion {
            for (adding, addition) in counts.enumerated()
            where adding != deleting && addition.hasStagedAddition {
                return true
            }
        }
        return false
    }

    /// The workers' handles, each used by its own group's thread only.
    private final class Handles: @unchecked Sendable {
        let workers: [GitRepository]
        init(_ workers: [GitRepository]) { self.workers = workers }
    }

    /// One slot per group, written once by that group's thread.
    private final class Outcomes: Sendable {
        private let slots: Mutex<[Result<GitRepository.StatusCount, GitProbeError>?]>

        init(count: Int) {
            slots = Mutex(Array(repeating: nil, count: count))
        }

        subscript(group: Int) -> Result<GitRepository.StatusCount, GitProbeError>? {
            get { slots.withLock { $0[group] } }
            set { slots.withLock { $0[group] = newValue } }
        }

        var all: [Result<GitRepository.StatusCount, GitProbeError>?] {
            slots.withLock { $0 }
        }
    }
}
