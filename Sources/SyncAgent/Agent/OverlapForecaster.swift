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
/// and it brings in (from the stored change sets) the partners they overlap with.
struct OverlapForecaster {
    var logger: Logger

    /// What one pass did.
    struct Report: Sendable, Equatable {
        var changeSetsWritten = 0
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

    /// `local` is every active worktree of this host (for looking up partners by id).
    func forecast(_ targets: [Target], local: [RegisteredWorktree], registry: Registry) throws -> Report {
        var report = Report()
        guard !targets.isEmpty else { return report }
        let byID = Dictionary(local.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var states: [String: WorkingState] = [:]
        var updates: [ChangeSetUpdate] = []
        var sandboxes: [String: MergeSandbox] = [:]
        var commonOf: [String: String] = [:]

        func state(of worktree: RegisteredWorktree) -> WorkingState? {
            if let known = states[worktree.id] { return known }
            do {
                let common = try commonOf[worktree.id] ?? MergeSandbox.commonDirectory(ofWorktreeAt: worktree.path)
                commonOf[worktree.id] = common
                let sandbox = try sandboxes[common] ?? MergeSandbox(commonDirectory: common)
                sandboxes[common] = sandbox
                let built = try sandbox.workingState(ofWorktreeAt: worktree.path, defaultBranch: worktree.defaultBranch)
                states[worktree.id] = built
                return built
            } catch {
                report.failures += 1
                logger.info("cannot build the working state of a worktree; its change set is kept",
                            metadata: ["worktree.id": "\(worktree.id)", "error": "\(error)"])
                return nil
            }
        }

        for target in targets {
            if !target.inFlight {
                updates.append(ChangeSetUpdate(
                    worktreeID: target.worktree.id, headCommit: nil, baseCommit: nil, workingTree: "", changes: []))
                continue
            }
            guard let built = state(of: target.worktree) else { continue }
            updates.append(ChangeSetUpdate(
                worktreeID: target.worktree.id, headCommit: built.headCommit, baseCommit: built.baseCommit,
                workingTree: built.tree,
                changes: built.changes.map { .init(path: $0.text, kind: $0.kind.rawValue) }))
        }
        let stored = try registry.storedChangeSetKeys(of: updates.map(\.worktreeID))
        let changed = updates.filter { stored[$0.worktreeID] != Registry.changeSetKey($0) }
        try registry.writeChangeSets(changed)
        report.changeSetsWritten = changed.count

        // Pairs: each target with every overlapping worktree of this host (targets first,
        // then partners the stored change sets name), merged when their states are new.
        var pairs: [(String, String)] = []
        var seen = Set<String>()
        let targetIDs = Set(targets.map(\.worktree.id))
        for target in targets where states[target.worktree.id] != nil {
            var partners = Set(targets.map(\.worktree.id)).subtracting([target.worktree.id])
            partners.formUnion(try registry.overlappingWorktrees(of: target.worktree.id).filter { !targetIDs.contains($0) })
            for partner in partners {
                guard let other = byID[partner], other.hostID == target.worktree.hostID,
                    other.projectName == target.worktree.projectName
                else { continue }
                let (a, b) = target.worktree.id < partner ? (target.worktree.id, partner) : (partner, target.worktree.id)
                if seen.insert(a + " " + b).inserted { pairs.append((a, b)) }
            }
        }
        let storedVerdicts = try registry.storedVerdicts(involving: Array(targetIDs))
        var verdicts: [PairVerdict] = []
        for (a, b) in pairs {
            guard let worktreeA = byID[a], let worktreeB = byID[b],
                let stateA = states[a] ?? (targetIDs.contains(a) ? nil : state(of: worktreeA)),
                let stateB = states[b] ?? (targetIDs.contains(b) ? nil : state(of: worktreeB)),
                !stateA.paths.isDisjoint(with: stateB.paths),
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
        // A partner whose state was rebuilt for a merge may have moved on since it was stored.
        let partnerUpdates = states.filter { !targetIDs.contains($0.key) }.map { id, built in
            ChangeSetUpdate(
                worktreeID: id, headCommit: built.headCommit, baseCommit: built.baseCommit, workingTree: built.tree,
                changes: built.changes.map { .init(path: $0.text, kind: $0.kind.rawValue) })
        }
        let storedPartners = try registry.storedChangeSetKeys(of: partnerUpdates.map(\.worktreeID))
        let changedPartners = partnerUpdates.filter { storedPartners[$0.worktreeID] != Registry.changeSetKey($0) }
        try registry.writeChangeSets(changedPartners)
        report.changeSetsWritten += changedPartners.count
        try registry.writeVerdicts(verdicts)
        report.verdictsWritten = verdicts.count
        return report
    }
}
