internal import CGit2
import Foundation

/// Reads a worktree's git state with libgit2, matching what the git CLI would report.
///
/// Stateless and `Sendable`: each `probe` opens its own repository handle, so one value can be
/// used from many threads at once on different (or the same) paths. Probing never writes to
/// the repository. `probe` blocks on file I/O; a worktree with a large index is scanned on a
/// few extra threads (see `PorcelainCounter`), so call it off the cooperative thread pool.
public struct GitProbe: Sendable {
    /// Creates a probe; initialises libgit2 if the process has not done so yet.
    ///
    /// - Parameter splitsLargeWorktrees: scan a worktree with a large index on up to four
    ///   threads (one repository handle each, all sharing the one index read). Pass `false`
    ///   when the caller already probes many worktrees in parallel and the cores are busy anyway.
    public init(splitsLargeWorktrees: Bool = true) {
        var counter = PorcelainCounter()
        if !splitsLargeWorktrees { counter.maxPartitions = 1 }
        self.init(counter: counter)
    }

    /// Tests force or forbid the multi-threaded status through `counter`.
    init(counter: PorcelainCounter) {
        GitLibrary.initialize()
        self.counter = counter
    }

    private let counter: PorcelainCounter

    /// The state of the worktree whose top directory is `path`.
    ///
    /// Trunk is the first of `refs/remotes/origin/HEAD`, `refs/remotes/origin/<defaultBranch>`
    /// and `refs/heads/<defaultBranch>` that resolves; without one, or with an unborn HEAD,
    /// ahead/behind are `nil`. `readAt` is taken before anything is read, so a change made after
    /// it may or may not be included, but none made before it is missed.
    public func probe(path: String, defaultBranch: String) throws(GitProbeError) -> WorktreeState {
        try probe(path: path, defaultBranch: defaultBranch, remembering: false).state
    }

    /// The state, and with `remembering` what its status found path by path, for
    /// ``reprobe(path:after:memory:changedPaths:)``; the memory is `nil` for worktrees whose
    /// count cannot be redone path by path (submodules, case-insensitive paths).
    ///
    /// With `openRepositories`, the handle this probe opened (and the index it parsed) is put
    /// there afterwards, for the merge verdict and the next path-level probe to reuse.
    public func probe(
        path: String, defaultBranch: String, remembering: Bool, openRepositories: OpenRepositories? = nil
    ) throws(GitProbeError) -> (state: WorktreeState, memory: StatusMemory?) {
        let probed = try probe(
            path: path, defaultBranch: defaultBranch, remembering: remembering, scanning: false,
            openRepositories: openRepositories)
        return (probed.state, probed.memory)
    }

    /// The state and memory as above, and with `scanning` what the forecast reads of the
    /// working directory (``WorkdirScan``), taken from this probe's own status: the
    /// working directory is walked once. The scan is `nil` when the status cannot give it
    /// (see ``MergeSandbox/scan(worktreeAt:defaultBranch:scanContentLimit:)``, which then
    /// walks it again) or a file cannot be read.
    public func probe(
        path: String, defaultBranch: String, remembering: Bool, scanning: Bool, openRepositories: OpenRepositories? = nil
    ) throws(GitProbeError) -> (state: WorktreeState, memory: StatusMemory?, scan: WorkdirScan?) {
        let readAt = Date()
        // Checked first so a vanished worktree is told apart from a directory that is not one.
        guard FileManager.default.fileExists(atPath: path) else {
            throw GitProbeError(code: .missingPath, path: path, operation: "check path exists")
        }

        let repository = try GitRepository(openingWorktreeAt: path)
        try RepositoryFiles.checkPatternFiles(
            top: path, commonDirectory: GitRepository.trimmed(git_repository_commondir(repository.handle)))
        let indexBefore = remembering ? repository.indexIdentity() : nil
        let head = try repository.head()

        var lastCommitHash: String?
        var lastCommitMessage: String?
        var trunkRef: String?
        var trunkCommit: git_oid?
        var ahead: Int?
        var behind: Int?
        if let commit = head.commit {
            lastCommitHash = GitRepository.hex(commit)
            lastCommitMessage = try repository.subject(of: commit)
            if let trunk = repository.firstResolving(Self.trunkCandidates(defaultBranch)) {
                let counts = try repository.aheadBehind(local: commit, upstream: trunk.target)
                trunkRef = trunk.name
                trunkCommit = trunk.target
                ahead = counts.ahead
                behind = counts.behind
            }
        }

        let settings = repository.statusSettings()
        let count = try counter.count(in: repository, headCommit: head.commit, settings: settings)
        let state = WorktreeState(
            uncommittedFilesCount: count.lines,
            aheadOfTrunk: ahead,
            behindTrunk: behind,
            lastCommitHash: lastCommitHash,
            lastCommitMessage: lastCommitMessage,
            trunkRef: trunkRef,
            branch: head.branch,
            readAt: readAt
        )
        var memory: StatusMemory?
        if let indexBefore, let linesByPath = count.linesByPath, !settings.ignoresCase,
            repository.indexIdentity() == indexBefore
        {
            memory = StatusMemory(
                linesByPath: linesByPath, renamedPaths: count.renamedPaths, index: indexBefore,
                settings: settings, headCommit: lastCommitHash, branch: head.branch)
        }
        var scan: WorkdirScan?
        if scanning, let entries = count.workdirEntries {
            // An unborn HEAD has no trunk counts above; the scan still wants trunk's commit.
            let trunk = trunkCommit ?? repository.firstResolving(Self.trunkCandidates(defaultBranch))?.target
            scan = try? MergeSandbox.scan(
                fromStatusOf: repository, entries: entries, settings: settings, headCommit: head.commit, trunkCommit: trunk)
        }
        openRepositories?.put(repository, for: path)
        return (state, memory, scan)
    }

    /// The state after edits of `changedPaths` (relative to the worktree top, as git names
    /// paths), recounted from those paths alone: a status restricted to them, on top of what
    /// `memory` remembers of the rest. `nil` when that cannot be exact, and a full probe is
    /// due: the index, HEAD or the status settings changed since `memory`; a path is a
    /// directory, a `.gitignore`, half of a staged rename, inside an untracked directory, or
    /// in a directory the index has no entries in (git may collapse it into one line).
    ///
    /// Everything but the count is taken from `previous`: HEAD is unchanged, so are the commit,
    /// its subject and, until a ref changes (which the caller treats as needing a full probe),
    /// ahead and behind.
    ///
    /// With `openRepositories`, the worktree's handle (and its parsed index) is taken from
    /// and returned to that cache, so successive edits do not re-read the index.
    public func reprobe(
        path: String, after previous: WorktreeState, memory: StatusMemory, changedPaths: Set<[UInt8]>,
        openRepositories: OpenRepositories? = nil
    ) throws(GitProbeError) -> (state: WorktreeState, memory: StatusMemory)? {
        let readAt = Date()
        guard !changedPaths.isEmpty, previous.lastCommitHash == memory.headCommit,
            previous.branch == memory.branch
        else { return nil }
        for changed in changedPaths {
            guard !changed.isEmpty, changed.last != UInt8(ascii: "/"),
                !memory.renamedPaths.contains(changed),
                !memory.isInsideUntrackedDirectory(changed),
                PathBytes.lastComponent(of: changed) != Self.gitignoreName
            else { return nil }
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw GitProbeError(code: .missingPath, path: path, operation: "check path exists")
        }
        let repository: GitRepository
        if let open = openRepositories?.take(path) {
            repository = open
        } else {
            repository = try GitRepository(openingWorktreeAt: path)
        }
        guard repository.indexIdentity() == memory.index,
            repository.statusSettings() == memory.settings
        else { return nil }
        let head = try repository.head()
        guard head.commit.map(GitRepository.hex) == memory.headCommit, head.branch == memory.branch,
            let recount = try repository.recount(changedPaths, settings: memory.settings),
            repository.indexIdentity() == memory.index
        else { return nil }

        openRepositories?.put(repository, for: path)
        var updated = memory
        for changed in changedPaths { updated.linesByPath[changed] = nil }
        updated.linesByPath.merge(recount, uniquingKeysWith: +)
        var state = previous
        state.uncommittedFilesCount = updated.lines
        state.readAt = readAt
        return (state, updated)
    }

    private static let gitignoreName = Array(".gitignore".utf8)

    /// Opens the worktree at `path` and reads its index, the two steps where an unreadable
    /// repository (not a worktree, SHA-256 object names, a sparse index) fails; throws what
    /// `probe` would. Much cheaper than a probe: no status, no history walk.
    public func checkReadable(path: String) throws(GitProbeError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GitProbeError(code: .missingPath, path: path, operation: "check path exists")
        }
        try GitRepository(openingWorktreeAt: path).loadIndex()
    }

    /// The refs tried as trunk, in REGISTRY.md's order.
    static func trunkCandidates(_ defaultBranch: String) -> [String] {
        [
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/\(defaultBranch)",
            "refs/heads/\(defaultBranch)",
        ]
    }
}
