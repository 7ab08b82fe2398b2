import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient

/// Keeps the overlap forecast: each in-flight worktree's change set, and for two worktrees of
/// one project on this host that change a path in common, whether merging them conflicts.
///
/// Working states are built in a ``MergeSandbox`` per repository (nothing is written into a
/// repository); change sets and verdicts are written only when they changed, in batched
/// statements. `once` gives it every worktree of this host; `run` the ones it just probed,
/// and it brings in (from the stored change sets) the partners they overlap with. A partner
/// that was not probed since its working state was built is not built again: `run` keeps
/// one forecaster, whose sandboxes and states live until `invalidate` or `maxBuilds`.
final class OverlapForecaster {
    let logger: Logger
    /// Builds after which the sandboxes (whose in-memory objects only grow) start afresh.
    var maxBuilds = 2000

    private var sandboxes: [String: MergeSandbox] = [:]
    private var commonOf: [String: String] = [:]
    private var states: [String: WorkingState] = [:]
    private var builds = 0

    init(logger: Logger) {
        self.logger = logger
    }

    /// What one pass did.
    struct Report: Sendable, Equatable {
        var changeSetsWritten = 0
        var statesBuilt = 0
        var pairsMerged = 0
        var verdictsWritten = 0
        var failures = 0
    }

    /// A worktree to forecast, with whether its state says it is in flight (uncommitted
    /// changes or commits ahead of trunk); one that is not has an empty change set.
    struct Target {
        var worktree: RegisteredWorktree
        var inFlight: Bool
    }

    /// Forgets a worktree's working state (it was probed again, or went away).
    func invalidate(_ id: String) {
        states[id] = nil
    }

    /// `local` is every active worktree of this host (for looking up partners by id).
    func forecast(_ targets: [Target], local: [RegisteredWorktree], registry: Registry) throws -> Report {
        var report = Report()
        guard !targets.isEmpty else { return report }
        if builds >= maxBuilds {
            sandboxes = [:]
            states = [:]
            builds = 0
        }
        let byID = Dictionary(local.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let targetIDs = Set(targets.map(\.worktree.id))
        for id in targetIDs { states[id] = nil }

        var updates: [ChangeSetUpdate] = []
        for target in targets {
            guard target.inFlight else {
                updates.append(ChangeSetUpdate(
                    worktreeID: target.worktree.id, headCommit: nil, baseCommit: nil, workingTree: "", changes: []))
                continue
            }
            guard let built = state(of: target.worktree, report: &report) else { continue }
            updates.append(Self.update(target.worktree.id, built))
        }
        report.changeSetsWritten += try writeChanged(updates, registry: registry)

        // Pairs: targets with each other, and with the partners the stored change sets name.
        var pairs = Set<[String]>()
        let inFlightTargets = targets.filter { states[$0.worktree.id] != nil }.map(\.worktree.id)
        for (index, a) in inFlightTargets.enumerated() {
            for b in inFlightTargets[(index + 1)...] { pairs.insert([a, b].sorted()) }
        }
        for (a, b) in try registry.overlappingPairs(involving: inFlightTargets) { pairs.insert([a, b]) }

        let storedVerdicts = try registry.storedVerdicts(involving: Array(targetIDs))
        var verdicts: [PairVerdict] = []
        var partnersBuilt: [String] = []
        for pair in pairs.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let (a, b) = (pair[0], pair[1])
            guard let worktreeA = byID[a], let worktreeB = byID[b], worktreeA.hostID == worktreeB.hostID,
                worktreeA.projectName == worktreeB.projectName
            else { continue }
            for (id, worktree) in [(a, worktreeA), (b, worktreeB)] where states[id] == nil && !targetIDs.contains(id) {
                if state(of: worktree, report: &report) != nil { partnersBuilt.append(id) }
            }
            guard let stateA = states[a], let stateB = states[b], !stateA.paths.isDisjoint(with: stateB.paths),
                let common = commonOf[a], commonOf[b] == common, let sandbox = sandboxes[common]
            else { continue }
            if let known = storedVerdicts[a + " " + b], known.treeA == stateA.tree, known.treeB == stateB.tree { continue }
            do {
                let conflicts = try sandbox.conflictingPaths(stateA, stateB)
                report.pairsMerged += 1
                verdicts.append(PairVerdict(
                    worktreeA: a, worktreeB: b, treeA: stateA.tree, treeB: stateB.tree,
                    conflictPaths: conflicts.map(PathChange.text(of:))))
            } catch {
                report.failures += 1
                logger.info("cannot merge two working states; their verdict is unknown",
                            metadata: ["worktree.ids": "\(a),\(b)", "error": "\(error)"])
            }
        }
        // A partner built afresh may have moved on since its change set was stored.
        report.changeSetsWritten += try writeChanged(
            partnersBuilt.compactMap { id in states[id].map { Self.update(id, $0) } }, registry: registry)
        try registry.writeVerdicts(verdicts)
        report.verdictsWritten = verdicts.count
        return report
    }

    private func state(of worktree: RegisteredWorktree, report: inout Report) -> WorkingState? {
        if let known = states[worktree.id] { return known }
        do {
            let common = try commonOf[worktree.id] ?? MergeSandbox.commonDirectory(ofWorktreeAt: worktree.path)
            commonOf[worktree.id] = common
            let sandbox = try sandboxes[common] ?? MergeSandbox(commonDirectory: common)
            sandboxes[common] = sandbox
            let built = try sandbox.workingState(ofWorktreeAt: worktree.path, defaultBranch: worktree.defaultBranch)
            states[worktree.id] = built
            builds += 1
            report.statesBuilt += 1
            return built
        } catch {
            report.failures += 1
            logger.info("cannot build the working state of a worktree; its change set is kept",
                        metadata: ["worktree.id": "\(worktree.id)", "error": "\(error)"])
            return nil
        }
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
            changes: built.changes.map { .init(path: $0.text, kind: $0.kind.rawValue) })
    }
}
