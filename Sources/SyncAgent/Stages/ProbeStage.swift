import GitProbe
import RegistryClient
import LinuxPlatform
import WorktreeProbing

/// Probing: the debounce schedule of changed worktrees, the probes when they are due (from
/// the changed paths alone when the worktree's last status is remembered), and their states
/// handed to the session (to write) and to the forecast (to re-evaluate).
package final class ProbeStage: AgentStage {
    private let context: AgentContext
    private let forecast: ForecastStage
    private let prober = WorktreeProber(scansForForecast: true)
    /// Called while probes run: the loop keeps its watchdog there; false gives up waiting.
    private let keepAlive: () -> Bool
    package private(set) var schedule: DebounceSchedule
    /// Per watched worktree, what its last status found, for path-level re-probing.
    private var remembered: [String: RememberedStatus] = [:]
    /// Worktrees whose last probe was given up as blocked, with the FIFO it was blocked on.
    /// While that path is still a FIFO the worktree is not probed again: the answer would be
    /// the same, and releasing the FIFO's open again would only make another event.
    private var blocked: [String: String?] = [:]
    /// When the bursts being probed began (only between taking them and recording the result).
    private var editedAt: [String: Duration] = [:]
    private var probes = 0
    /// Probes answered from the changed paths alone (the rest were full statuses).
    private var pathProbes = 0

    package init(context: AgentContext, forecast: ForecastStage, keepAlive: @escaping () -> Bool) {
        self.context = context
        self.forecast = forecast
        self.keepAlive = keepAlive
        schedule = DebounceSchedule(settle: context.configuration.settle, maxDelay: context.configuration.maxDelay)
    }

    package var nextDeadline: Duration? { schedule.nextDeadline }

    /// Whether nothing waits to be probed.
    package var isIdle: Bool { schedule.isEmpty }

    /// `id` changed (`changes`), or must be probed (`immediate`: at once, a full status).
    package func mark(_ id: String, at now: Duration, immediate: Bool = false, changes: WorktreeChanges = .everything) {
        schedule.mark(id, at: now, immediate: immediate, changes: changes)
    }

    /// Git began or ended an operation in a worktree: it is held while git works.
    package func noteOperation(_ mark: GitOperationMark, at now: Duration) {
        schedule.note(mark.marker, begun: mark.begun, in: mark.worktree, at: now)
    }

    /// What was remembered of `id` no longer holds (it was watched again, events were lost).
    package func forgetMemory(of id: String? = nil) {
        if let id { remembered[id] = nil } else { remembered = [:] }
    }

    package func runDue(at now: Duration) {
        let edited = schedule.entries.compactMapValues(\.editedAt)
        let due = schedule.takeDueChanges(at: now)
        for (id, _) in due { editedAt[id] = edited[id] }
        if !due.isEmpty { probe(due, at: now) }
        editedAt = [:]
    }

    /// Probes everything still scheduled (shutdown).
    package func probeRemaining() {
        let remaining = schedule.takeAll()
        if !remaining.isEmpty { probe(remaining, at: nil) }
    }

    package func forget(_ id: String) {
        schedule.remove(id)
        remembered[id] = nil
        blocked[id] = nil
        prober.integrations.forget(id)
    }

    package var keptWorktrees: Set<String> {
        Set(schedule.entries.keys).union(remembered.keys).union(blocked.keys).union(prober.integrations.kept)
    }

    package func reload(_ configuration: AgentConfiguration, at now: Duration) {
        schedule.settle = configuration.settle
        schedule.maxDelay = configuration.maxDelay
    }

    package func report(into statistics: inout AgentStatus.Statistics) {
        statistics.probes = probes
        statistics.pathProbes = pathProbes
        statistics.rememberedEntries = remembered.values.reduce(0) { $0 + $1.memory.entryCount }
        statistics.dirtyWorktrees = schedule.count
        statistics.blockedWorktrees = blocked.count
    }

    /// Probes on the prober's worker threads; one blocked worktree holds up neither the
    /// others nor the agent (``GuardedBatch``). `now` is nil at shutdown: nothing is
    /// forecast then.
    private func probe(_ due: [(id: String, changes: WorktreeChanges)], at now: Duration?) {
        let worktrees = context.worktrees
        let requests = due.compactMap { id, changes in
            isStillBlocked(id) ? nil : worktrees[id].map { ProbeRequest(worktree: $0, changes: changes, remembered: remembered[id]) }
        }
        let outcomes = prober.probeAll(requests, whileWaiting: keepAlive)
        let changes = Dictionary(due.map { ($0.id, $0.changes) }, uniquingKeysWith: { first, _ in first })
        probes += outcomes.count
        pathProbes += outcomes.count(where: \.pathLevel)
        context.logger.debug("probed", metadata: [
            "worktree.ids": "\(due.map(\.id).joined(separator: ","))",
            "path_level.ids": "\(outcomes.filter(\.pathLevel).map(\.worktree.id).joined(separator: ","))",
        ])
        for outcome in outcomes { take(outcome, changed: changes[outcome.worktree.id] ?? .everything, at: now) }
    }

    private func take(_ outcome: ProbeOutcome, changed: WorktreeChanges, at now: Duration?) {
        let id = outcome.worktree.id
        remembered[id] = outcome.remembered
        if outcome.state != nil, let now {
            forecast.noteProbed(
                id, inFlight: outcome.isInFlight, changed: outcome.pathLevel ? changed : .everything, scan: outcome.scan, at: now)
        }
        let edited = editedAt.removeValue(forKey: id)
        if let update = outcome.update {
            _ = context.worktrees.noteProbe(id, succeeded: true)
            blocked[id] = nil
            context.session.record(update)
            if let edited { context.session.noteEdit(id, at: edited) }
        } else if let failure = outcome.failure {
            blocked[id] = failure.code == .blocked ? .some(outcome.blockedOn?.path) : nil
            if let now { forecast.noteUnreadable(id, reason: failure.description, at: now) }
            guard context.worktrees.noteProbe(id, succeeded: false) else { return }
            if failure.code == .blocked {
                context.logger.error(
                    "a probe was given up; the worktree's stored state is kept and other worktrees go on",
                    metadata: ["worktree.id": "\(id)", "error": "\(failure)"])
            } else {
                context.logger.info(
                    "cannot read worktree; its stored state is kept", metadata: ["worktree.id": "\(id)", "error": "\(failure)"])
            }
        }
    }

    private func isStillBlocked(_ id: String) -> Bool {
        guard case .some(.some(let path)) = blocked[id] else { return false }
        return FileKind.of(path) == .fifo
    }
}
