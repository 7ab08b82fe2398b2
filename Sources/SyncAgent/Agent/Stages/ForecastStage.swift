/// The overlap forecast kept live: worktrees probed lately are re-evaluated (their change
/// sets, and the pairs they are in) a short settle after their probe, while connected.
final class ForecastStage: AgentStage {
    private let context: AgentContext
    private let forecaster: OverlapForecaster
    /// Worktrees probed since their forecast was last evaluated.
    private var schedule: DebounceSchedule
    /// Whether each probed worktree is in flight (uncommitted changes or commits ahead).
    private var inFlight: [String: Bool] = [:]
    /// What changed in each worktree since its working state was last built.
    private var changes: [String: WorktreeChanges] = [:]
    private var passes = 0
    private var pairsMerged = 0

    init(context: AgentContext) {
        self.context = context
        forecaster = OverlapForecaster(logger: context.logger)
        forecaster.keepsCleanStates = true
        schedule = DebounceSchedule(
            settle: context.configuration.forecastSettle, maxDelay: context.configuration.forecastMaxDelay)
    }

    var nextDeadline: Duration? { context.session.isConnected ? schedule.nextDeadline : nil }

    /// A probe read `id`: re-evaluate it after the settle.
    func noteProbed(_ id: String, inFlight: Bool, changed: WorktreeChanges, at now: Duration) {
        self.inFlight[id] = inFlight
        changes[id, default: WorktreeChanges.files([])].merge(changed)
        schedule.mark(id, at: now)
    }

    func forget(_ id: String) {
        schedule.remove(id)
        inFlight[id] = nil
        changes[id] = nil
        forecaster.invalidate(id)
    }

    var keptWorktrees: Set<String> {
        Set(schedule.entries.keys).union(inFlight.keys).union(changes.keys).union(forecaster.keptWorktrees)
    }

    func report(into statistics: inout AgentStatus.Statistics) {
        statistics.forecastPasses = passes
        statistics.pairsMerged = pairsMerged
    }

    /// Re-evaluates the change sets of the worktrees due and the pairs they are in.
    func runDue(at now: Duration) {
        let due = schedule.takeDue(at: now)
        let worktrees = context.worktrees
        let targets = worktrees.registered(due).map { worktree in
            let changed = changes.removeValue(forKey: worktree.id) ?? .everything
            return OverlapForecaster.Target(
                worktree: worktree, inFlight: inFlight[worktree.id] ?? false,
                changedPaths: changed.needsFullStatus || changed.paths.isEmpty ? nil : changed.paths)
        }
        guard !targets.isEmpty else { return }
        let local = worktrees.registered(Array(worktrees.worktrees.keys))
        let report = context.session.withRegistry(.forecast, at: now) { registry, _ in
            try forecaster.forecast(targets, local: local, registry: registry)
        }
        guard let report else {
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
