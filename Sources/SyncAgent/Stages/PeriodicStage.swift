/// The periodic work: the heartbeat (this host's rows are current), the reconcile (every
/// worktree probed in full now and then, unreadable ones tried again) and the systemd
/// watchdog.
package final class PeriodicStage: AgentStage {
    private let context: AgentContext
    private let probe: ProbeStage
    private let watch: WatchStage
    private let status: AgentStatus
    private let watchdogInterval: Duration?
    private var nextHeartbeat: Duration
    private var nextReconcile: Duration
    private var nextWatchdog: Duration
    private var reconciles = 0

    package init(context: AgentContext, probe: ProbeStage, watch: WatchStage, status: AgentStatus,
         watchdogInterval: Duration?, start: Duration) {
        self.context = context
        self.probe = probe
        self.watch = watch
        self.status = status
        self.watchdogInterval = watchdogInterval
        nextHeartbeat = start + context.configuration.heartbeat
        nextReconcile = start + context.configuration.reconcile
        nextWatchdog = start
    }

    package var nextDeadline: Duration? {
        [
            nextReconcile,
            context.session.isConnected && context.ready ? nextHeartbeat : nil,
            watchdogInterval == nil ? nil : nextWatchdog,
        ].compactMap { $0 }.min()
    }

    package func runDue(at now: Duration) {
        if now >= nextReconcile { reconcile(at: now) }
        if context.session.isConnected, context.ready, now >= nextHeartbeat { heartbeat(at: now) }
        pingWatchdog(at: now)
    }

    package func forget(_ id: String) {}

    package func reload(_ configuration: AgentConfiguration, at now: Duration) {
        nextReconcile = now + configuration.reconcile
        nextHeartbeat = min(nextHeartbeat, now + configuration.heartbeat)
    }

    package func report(into statistics: inout AgentStatus.Statistics) {
        statistics.reconciles = reconciles
    }

    /// Tells systemd the agent is alive when a ping is due; the probe stage calls it while it
    /// waits for probes too.
    package func pingWatchdog(at now: Duration) {
        guard let watchdogInterval, now >= nextWatchdog else { return }
        status.notify(["WATCHDOG=1"])
        nextWatchdog = now + watchdogInterval
    }

    /// A new connection: the rows are vouched for one interval from now, after the states
    /// kept meanwhile are written (not in the very step that connected).
    package func connected(at now: Duration) {
        nextHeartbeat = max(nextHeartbeat, now + context.configuration.heartbeat)
    }

    package func heartbeat(at now: Duration) {
        context.session.heartbeat(context.worktrees.current, at: now)
        nextHeartbeat = now + context.configuration.heartbeat
    }

    private func reconcile(at now: Duration) {
        context.logger.debug("periodic reconcile", metadata: ["worktrees.count": "\(context.worktrees.count)"])
        for id in context.worktrees.probeable { probe.mark(id, at: now, immediate: true) }
        watch.retry([.unreadable], at: now)
        nextReconcile = now + context.configuration.reconcile
        reconciles += 1
    }
}
