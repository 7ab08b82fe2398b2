internal import CGit2
import Dispatch

import Synchronization
import class Foundation.ProcessInfo

/// Counts the lines `git status --porcelain` would print, splitting large worktrees across
/// threads.
///
/// libgit2's status is single-threaded while git stats the index entries on several threads,
/// so on a 20,000-file worktree one libgit2 pass takes about twice git's wall time. Above
/// `partitionThresholdBytes` of index the top-level names are split into groups, each group
/// gets its own repository handle and status run on its own thread, and the line counts are
/// summed (groups never share a path). When a split could change the answer (a staged rename
/// whose halves fall in different groups, case-insensitive matching, an index-only top-level
/// name) one whole-worktree pass is used instead.
struct PorcelainCounter: Sendable {
    /// Index files smaller than this are counted in one pass: a second handle re-reads the
    /// whole index, which only pays off once the workdir scan dominates.
    var partitionThresholdBytes: Int = 256 * 1024
    /// Upper bound on groups; each group loads its own copy of the index.
    var maxPartitions: Int = min(4, ProcessInfo.processInfo.activeProcessorCount)

    func count(in repository: GitRepository, headCommit: git_oid?) throws(GitProbeError) -> Int {
        try count(in: repository, headCommit: headCommit, settings: repository.statusSettings()).lines
    }

    /// The count with what each path contributed (see `StatusMemory`).
    func count(
        in repository: GitRepository, headCommit: git_oid?, settings: StatusSettings
    ) throws(GitProbeError) -> GitRepository.StatusCount {
        guard maxPartitions > 1, !settings.ignoresCase,
            let indexSize = repository.indexFileSize(), indexSize >= partitionThresholdBytes
        else {
            return try repository.statusCount(settings: settings)
        }

        let known = try repository.topLevelNames(headCommit: headCommit)
        let groups = Self.groups(of: known, count: maxPartitions)
        guard groups.count > 1 else {
            return try repository.statusCount(settings: settings)
        }

        let outcomes = Outcomes(count: groups.count)
        let path = repository.path
        DispatchQueue.concurrentPerform(iterations: groups.count) { group in
            outcomes[group] = Result { () throws(GitProbeError) -> GroupOutcome in
                let worker = try GitRepository(openingWorktreeAt: path)
                let pathList = PathList(groups[group])
                let count = try pathList.withStrArray { list throws(GitProbeError) in
                    try worker.statusCount(
                        settings: settings, pathList: list, topLevelNames: Set(groups[group]))
                }
                // Any one handle will do for the index check; the first group's has it loaded.
                let unknown = group == 0 ? try worker.indexTopLevelNames(notIn: known) : []
                return GroupOutcome(count: count, hasUnknownIndexNames: !unknown.isEmpty)
            }
        }

        var results: [GroupOutcome] = []
        for outcome in outcomes.all {
            switch outcome {
            case .success(let result): results.append(result)
            case .failure(let error): throw error
            case nil:
                throw GitProbeError(code: .libgit2, path: path, operation: "partitioned status")
            }
        }
        if results.contains(where: \.hasUnknownIndexNames)
            || (settings.detectsStagedRenames && Self.mayPairAcrossGroups(results.map(\.count)))
        {
            return try repository.statusCount(settings: settings)
        }
        var total = GitRepository.StatusCount()
        for result in results { total.absorb(result.count) }
        return total
    }

    /// Splits names round-robin in sorted order, so neighbouring directories (often similar in
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

    private struct GroupOutcome: Sendable {
        var count: GitRepository.StatusCount
        var hasUnknownIndexNames: Bool
    }

    /// One slot per group, written once by that group's thread.
    private final class Outcomes: Sendable {
        private let slots: Mutex<[Result<GroupOutcome, GitProbeError>?]>

        init(count: Int) {
            slots = Mutex(Array(repeating: nil, count: count))
        }

        subscript(group: Int) -> Result<GroupOutcome, GitProbeError>? {
            get { slots.withLock { $0[group] } }
            set { slots.withLock { $0[group] = newValue } }
        }

        var all: [Result<GroupOutcome, GitProbeError>?] {
            slots.withLock { $0 }
        }
    }
}
