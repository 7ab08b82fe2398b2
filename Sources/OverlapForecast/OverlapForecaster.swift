import Foundation
import Synchronization
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import WorktreeProbing

/// Keeps the overlap forecast: each in-flight worktree's change set, and for two worktrees of
/// one project on this host that change a path in common, whether merging them conflicts.
///
/// Working states are built in a ``MergeSandbox`` per repository (nothing is written into a
/// repository); change sets and verdicts are written only when they changed, in batched
/// statements. `once` gives it every worktree of this host; `run` the ones it just probed,
/// and it brings in (from the stored change sets) the partners they overlap with. A partner
/// that was not probed since its working state was built is not built again: `run` keeps
/// one forecaster, whose sandboxes and states live until `invalidate`, `storeBudget` or
/// `maxBuilds`.
///
/// Memory: files above GitProbe's store limit (1 MiB) are hashed by streaming and never
/// held; what the sandboxes hold is counted, and at the start of a pass over `storeBudget`
/// they start afresh (the states in them are built again when needed).
/// A worktree whose state cannot be built keeps its stored change set, marked stale.
package final class OverlapForecaster {
    package let logger: Logger
    /// Builds and path-level updates after which the sandboxes start afresh.
    package var maxBuilds = 2000
    /// Bytes the sandboxes may hold (blobs, trees, merged blobs) before they start afresh at
    /// the next pass: one pass adds at most its own changed files (each at most 1 MiB).
    package var storeBudget = 48 << 20
    /// Keep a state for clean worktrees too (HEAD's tree, read without a scan), so the first
    /// edit of one is applied path by path; `run` sets it, `once` has no later edits.
    package var keepsCleanStates = false
    /// Only for worktrees whose index is at least this large: a small one is scanned in a
    /// millisecond, and a sandbox kept for it would cost memory for nothing.
    package var cleanStateMinimumIndexBytes = 256 * 1024

    /// Reads a worktree's working directory (tests put a failing one here).
    package var scanWorktree: @Sendable (RegisteredWorktree) throws(GitProbeError) -> WorkdirScan = { worktree throws(GitProbeError) in
        try OverlapForecaster.guardedScan(worktree)
    }

    /// How long one working-directory scan may run before it is given up.
    package static let scanPatience: Duration = .seconds(30)

    /// Scans on a worker the caller can walk away from (``GuardedBatch``): libgit2 reads
    /// ignore rules with a blocking open, and a FIFO named `.gitignore` in a partner that
    /// was not probed now would otherwise stop the forecast, and `run` with it.
    package static func guardedScan(_ worktree: RegisteredWorktree) throws(GitProbeError) -> WorkdirScan {
        let outcome = GuardedBatch(patience: scanPatience, width: 1).run([worktree]) { worktree in
            Result { () throws(GitProbeError) in
                try MergeSandbox.scan(worktreeAt: worktree.path, defaultBranch: worktree.defaultBranch)
            }
        }[0]
        switch outcome {
        case .finished(let result): return try result.get()
        case .givenUp(let blocked, let ran): throw WorktreeProber.blocked(worktree.path, on: blocked, after: ran)
        }
    }

    var sandboxes: [String: MergeSandbox] = [:]
    var commonOf: [String: String] = [:]
    var states: [String: WorkingState] = [:]
    var builds = 0
    /// How many times the sandboxes started afresh.
    package private(set) var resets = 0

    package init(logger: Logger) {
        self.logger = logger
    }

    /// What one pass did.
    package struct Report: Sendable, Equatable {
        package var changeSetsWritten = 0
        package var statesBuilt = 0
        /// States updated from the changed files alone.
        package var statesUpdated = 0
        package var pairsMerged = 0
        package var verdictsWritten = 0
        package var failures = 0

        package init() {}
    }

    /// A worktree to forecast, with whether its state says it is in flight (uncommitted
    /// changes or commits ahead of trunk); one that is not has an empty change set.
    package struct Target {
        package var worktree: RegisteredWorktree
        package var inFlight: Bool
        /// The files changed since its state was last built, when only files changed (the
        /// probes were path-level); `nil`: build it afresh.
        package var changedPaths: Set<[UInt8]>? = nil
        /// Its working directory as its probe's status read it; `nil`: scanned here.
        package var scan: WorkdirScan? = nil

        package init(worktree: RegisteredWorktree, inFlight: Bool, changedPaths: Set<[UInt8]>? = nil, scan: WorkdirScan? = nil) {
            self.worktree = worktree
            self.inFlight = inFlight
            self.changedPaths = changedPaths
            self.scan = scan
        }
    }

    /// The worktrees whose working state is kept.
    package var keptWorktrees: Set<String> { Set(states.keys) }

    /// Forgets a worktree's working state (it was probed again, or went away).
    package func invalidate(_ id: String) {
        states[id] = nil
    }

    /// Bytes the sandboxes hold now.
    package var storedBytes: Int { sandboxes.values.reduce(0) { $0 + $1.storedBytes } }

    /// Drops the states of worktrees that are gone, and everything when the sandboxes hold
    /// more than the budget or have seen `maxBuilds` builds: a safe point, no state of this
    /// pass is in them yet.
    private func release(keeping local: Set<String>) {
        for id in Set(states.keys).union(commonOf.keys) where !local.contains(id) {
            states[id] = nil
            commonOf[id] = nil
        }
        let used = Set(commonOf.values)
        for common in sandboxes.keys where !used.contains(common) { sandboxes[common] = nil }
        if builds >= maxBuilds || storedBytes > storeBudget {
            if !sandboxes.isEmpty { resets += 1 }
            sandboxes = [:]
            states = [:]
            builds = 0
        }
    }

    /// `local` is every active worktree of this host (for looking up partners by id).
    package func forecast(_ targets: [Target], local: [RegisteredWorktree], registry: Registry) throws -> Report {
        var report = Report()
        guard !targets.isEmpty else { return report }
        let clock = ContinuousClock()
        var phases: [(String, ContinuousClock.Instant)] = [("start", clock.now)]
        release(keeping: Set(local.map(\.id)))
        let byID = Dictionary(local.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let targetIDs = Set(targets.map(\.worktree.id))
        // A state known here whose files alone changed is updated path by path; the others
        // are built afresh, their working directories read on every core first.
        for target in targets {
            let id = target.worktree.id
            guard target.inFlight, let paths = target.changedPaths, let previous = states[id],
                let common = commonOf[id], let sandbox = sandboxes[common],
                let updated = try? sandbox.updatedWorkingState(previous, changedPaths: paths)
            else {
                states[id] = nil
                continue
            }
            states[id] = updated
            builds += 1
            report.statesUpdated += 1
        }
        // The probes' own scans where they gave one: the working directory is walked once.
        let toBuild = targets.filter { $0.inFlight && states[$0.worktree.id] == nil }
        var scans = Self.scanAll(with: scanWorktree, toBuild.filter { $0.scan == nil }.map(\.worktree))
        for target in toBuild { if let scan = target.scan { scans[target.worktree.id] = .success(scan) } }
        buildInParallel(scans, report: &report)
        var updates: [ChangeSetUpdate] = []
        var stale: [StaleChangeSet] = []
        for target in targets {
            guard target.inFlight else {
                updates.append(ChangeSetUpdate(
                    worktreeID: target.worktree.id, headCommit: nil, baseCommit: nil, workingTree: "", changes: []))
                if keepsCleanStates { keepCleanState(of: target.worktree) }
                continue
            }
            switch state(of: target.worktree, scan: scans[target.worktree.id], report: &report) {
            case .success(let built): updates.append(Self.update(target.worktree.id, built))
            case .failure(let error): stale.append(StaleChangeSet(worktreeID: target.worktree.id, reason: "\(error)"))
            }
        }
        phases.append(("states", clock.now))
        report.changeSetsWritten += try writeChanged(updates, registry: registry)
        try registry.markChangeSetsStale(stale)
        phases.append(("change_sets", clock.now))

        // Pairs: targets with each other, and with the partners the stored change sets name.
        var pairs = Set<[String]>()
        let inFlightTargets = targets.filter { states[$0.worktree.id] != nil }.map(\.worktree.id)
        for (index, a) in inFlightTargets.enumerated() {
            for b in inFlightTargets[(index + 1)...] { pairs.insert([a, b].sorted()) }
        }
        for (a, b) in try registry.overlappingPairs(involving: inFlightTargets) { pairs.insert([a, b]) }

        let storedVerdicts = try registry.storedVerdicts(involving: Array(targetIDs))
        var partnersBuilt: [String] = []
        var jobs: [MergeJob] = []
        for pair in pairs.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let (a, b) = (pair[0], pair[1])
            guard let worktreeA = byID[a], let worktreeB = byID[b], worktreeA.hostID == worktreeB.hostID,
                worktreeA.projectName == worktreeB.projectName
            else { continue }
            for (id, worktree) in [(a, worktreeA), (b, worktreeB)] where states[id] == nil && !targetIDs.contains(id) {
                if case .success = state(of: worktree, report: &report) { partnersBuilt.append(id) }
            }
            guard let stateA = states[a], let stateB = states[b], !stateA.paths.isDisjoint(with: stateB.paths),
                let common = commonOf[a], commonOf[b] == common, sandboxes[common] != nil
            else { continue }
            // A path one side cannot read (a FIFO where a file was) has no exact merge.
            guard stateA.unreadablePaths.isDisjoint(with: stateB.paths), stateB.unreadablePaths.isDisjoint(with: stateA.paths)
            else { continue }
            if let known = storedVerdicts[a + " " + b], known.treeA == stateA.tree, known.treeB == stateB.tree { continue }
            jobs.append(MergeJob(a: a, b: b, stateA: stateA, stateB: stateB, common: common))
        }
        phases.append(("pairs", clock.now))
        var verdicts: [PairVerdict] = []
        for (job, result) in zip(jobs, merge(jobs, scans: scans, byID: byID, scanWorktree: scanWorktree)) {
            switch result {
            case .success(let conflicts):
                report.pairsMerged += 1
                verdicts.append(PairVerdict(
                    worktreeA: job.a, worktreeB: job.b, treeA: job.stateA.tree, treeB: job.stateB.tree,
                    conflictPaths: Self.listed(conflicts, job.stateA, job.stateB)))
            case .failure(let error):
                report.failures += 1
                logger.info("cannot merge two working states; their verdict is unknown",
                            metadata: ["worktree.ids": "\(job.a),\(job.b)", "error": "\(error)"])
            }
        }
        // A partner built afresh may have moved on since its change set was stored.
        report.changeSetsWritten += try writeChanged(
            partnersBuilt.compactMap { id in states[id].map { Self.update(id, $0) } }, registry: registry)
        phases.append(("merges", clock.now))
        try registry.writeVerdicts(verdicts)
        report.verdictsWritten = verdicts.count
        phases.append(("verdicts", clock.now))
        logger.debug("forecast pass", metadata: Self.timings(phases))
        return report
    }

    /// HEAD's tree as the state of a clean worktree; nothing is kept when it cannot be read.
    private func keepCleanState(of worktree: RegisteredWorktree) {
        guard MergeSandbox.indexFileSize(ofWorktreeAt: worktree.path) >= cleanStateMinimumIndexBytes else {
            states[worktree.id] = nil
            return
        }
        do {
            let common = try commonOf[worktree.id] ?? MergeSandbox.commonDirectory(ofWorktreeAt: worktree.path)
            commonOf[worktree.id] = common
            let sandbox = try sandboxes[common] ?? MergeSandbox(commonDirectory: common)
            sandboxes[common] = sandbox
            states[worktree.id] = try sandbox.cleanWorkingState(ofWorktreeAt: worktree.path, defaultBranch: worktree.defaultBranch)
        } catch {
            states[worktree.id] = nil
        }
    }

    private func state(
        of worktree: RegisteredWorktree, scan: Result<WorkdirScan, GitProbeError>? = nil, report: inout Report
    ) -> Result<WorkingState, any Error> {
        if let known = states[worktree.id] { return .success(known) }
        do {
            let scanned = try scan?.get() ?? scanWorktree(worktree)
            let common = scanned.commonDirectory
            commonOf[worktree.id] = common
            let sandbox = try sandboxes[common] ?? MergeSandbox(commonDirectory: common)
            sandboxes[common] = sandbox
            let built = try sandbox.workingState(from: scanned)
            states[worktree.id] = built
            builds += 1
            report.statesBuilt += 1
            return .success(built)
        } catch {
            report.failures += 1
            logger.info("cannot build the working state of a worktree; its change set is kept, marked stale",
                        metadata: ["worktree.id": "\(worktree.id)", "error": "\(error)"])
            return .failure(error)
        }
    }

    struct MergeJob: Sendable {
        package var a: String
        package var b: String
        package var stateA: WorkingState
        package var stateB: WorkingState
        package var common: String
    }

    private func writeChanged(_ updates: [ChangeSetUpdate], registry: Registry) throws -> Int {
        let stored = try registry.storedChangeSetKeys(of: updates.map(\.worktreeID))
        let changed = updates.filter { stored[$0.worktreeID] != Registry.changeSetKey($0) }
        try registry.writeChangeSets(changed)
        return changed.count
    }

    private static func update(_ id: String, _ built: WorkingState) -> ChangeSetUpdate {
        ChangeSetUpdate(
            worktreeID: id, headCommit: built.headCommit, baseCommit: built.baseCommit, workingTree: built.tree,
            changes: built.listedChanges.map { .init(path: $0.text, kind: $0.kind.rawValue) })
    }

    /// Conflicted paths as the stored change sets name them: a path inside a new directory
    /// listed `dir/` on either side is also recorded as that directory.
    private static func listed(_ conflicts: [[UInt8]], _ a: WorkingState, _ b: WorkingState) -> [String] {
        var paths = Set<[UInt8]>()
        for path in conflicts {
            paths.insert(path)
            paths.insert(a.listedEntry(for: path))
            paths.insert(b.listedEntry(for: path))
        }
        return paths.sorted { $0.lexicographicallyPrecedes($1) }.map(PathChange.text(of:))
    }
}
