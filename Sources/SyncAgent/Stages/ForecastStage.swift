import GitProbe
import RegistryClient
import OverlapForecast
import WorktreeProbing

/// The overlap forecast kept live: worktrees probed lately are re-evaluated (their change
/// sets, and the pairs they are in) a short settle after their probe, while connected; one
/// whose probe failed has its stored change set marked stale.
package final class ForecastStage: AgentStage {
    private let context: AgentContext
    private let forecaster: OverlapForecaster
    /// Worktrees probed since their forecast was last evaluated.
    private var schedule: DebounceSchedule
    /// Whether each probed worktree is in flight (uncommitted changes or commits ahead).
    private var inFlight: [String: Bool] = [:]
    /// What changed in each worktree since its working state was last built.
    private var changes: [String: WorktreeChanges] = [:]
    /// The working directory as the last full probe's status read it, while no path-level
    /// probe came after it: the forecast builds from it instead of walking the directory again.
    private var scans: [String: WorkdirScan] = [:]
    /// Worktrees whose probe failed, and why: their stored change sets are marked stale.
    private var unreadable: [String: String] = [:]
    private var passes = 0
    private var pairsMerged = 0

    package init(context: AgentContext) {
        self.context = context
        forecaster = OverlapForecaster(logger: context.logger)
        forecaster.keepsCleanStates = true
        schedule = DebounceSchedule(
            settle: context.configuration.forecastSettle, maxDelay: context.configuration.forecastMaxDelay)
    }

    package var nextDeadline: Duration? { context.session.isConnected ? schedule.nextDeadline : nil }

    /// A probe read `id`: re-evaluate it after the settle.
    package func noteProbed(_ id: String, inFlight: Bool, changed: WorktreeChanges, scan: WorkdirScan? = nil, at now: Duration) {
        unreadable[id] = nil
        // A path-level probe read edits the last scan does not have.
        scans[id] = changed.needsFullStatus ? scan : nil
        self.inFlight[id] = inFlight
        changes[id, default: WorktreeChanges.files([])].merge(changed)
        schedule.mark(id, at: now)
    }

    /// A probe could not read `id`: its stored change set is no longer known to be current.
    package func noteUnreadable(_ id: String, reason: String, at now: Duration) {
        unreadable[id] = reason
        changes[id] = nil
        scans[id] = nil
        forecaster.invalidate(id)
        schedule.mark(id, at: now)
    }

    package func forget(_ id: String) {
        unreadable[id] = nil
        schedule.remove(id)
        inFlight[id] = nil
        changes[id] = nil
        scans[id] = nil
        forecaster.invalidate(id)
    }

    package var keptWorktrees: Set<String> {
        Set(schedule.entries.keys).union(inFlight.keys).union(changes.keys).union(unreadable.keys)
            .union(scans.keys).union(forecaster.keptWorktrees)
    }

    package func report(into statistics: inout AgentStatus.Statistics) {
        statistics.forecastPasses = passes
        statistics.pairsMerged = pairsMerged
    }

    /// Re-evaluates the change sets of the worktrees due and the pairs they are in.
    package func runDue(at now: Duration) {
        var due = schedule.takeDue(at: now)
        let stale = due.compactMap { id in unreadable[id].map { StaleChangeSet(worktreeID: id, reason: $0) } }
        if !stale.isEmpty {
            let marked = context.session.withRegistry(.forecast, at: now) { registry, _ in
                try registry.markChangeSetsStale(stale)
            }
            for change in stale {
                if marked.value != nil { unreadable[change.worktreeID] = nil } else { schedule.mark(change.worktreeID, at: now) }
            }
            due.removeAll { id in stale.contains { $0.worktreeID == id } }
        }
        let worktrees = context.worktrees
        let targets = worktrees.registered(due).map { worktree in
            let changed = changes.removeValue(forKey: worktree.id) ?? .everything
            let scan = scans.removeValue(forKey: worktree.id)
            let whole = changed.needsFullStatus || changed.paths.isEmpty
            return OverlapForecaster.Target(
                worktree: worktree, inFlight: inFlight[worktree.id] ?? false,
                changedPaths: whole ? nil : changed.paths, scan: whole ? scan : nil)
        }
        guard !targets.isEmpty else { return }
        let local = worktrees.registered(Array(worktrees.worktrees.keys))
        let access = context.session.withRegistry(.forecast, at: now) { registry, _ in
            try forecaster.forecast(targets, local: local, registry: registry)
        }
        guard let report = access.value else {
            // Not written (the database is away or refused it): evaluate again, afresh, later.
            for target in targets {
                forecaster.invalidate(target.worktree.id)
                schedule.mark(target.worktree.id, at: now)
            }
            return
        }
        passes += 1
        pairsMerged += report.pairsMerged
        context.logger.debug("forecast", metadata: [
            "worktree.ids": "\(due.joined(separator: ","))", "change_sets.written": "\(report.changeSetsWritten)",
            "pairs.merged": "\(report.pairsMerged)",
        ])
    }
}
