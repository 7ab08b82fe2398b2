import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import Synchronization

/// `imi-sync run`'s engine: the loop that owns every stage and every deadline.
///
///     inotify event (WorktreeWatcher) -> dirty worktree (DirtySet) -> probe (WorktreeProber)
///     -> changed state (StateLedger) -> one batched write + NOTIFY (RegistrySession)
///
/// Membership runs beside it: a worktree or clone coming or going (WorktreeWatcher's
/// membership watches) -> a pass of MembershipKeeper -> rows registered, repaired or
/// deactivated -> the tracker follows the registry.
///
/// The loop runs on a thread of its own: every libpq call and every libgit2 probe blocks that
/// thread, never a thread of Swift's cooperative pool. Other threads (inotify reader, LISTEN
/// connection, signal handlers) only post to ``inbox``. The loop sleeps until the next
/// deadline it knows of (a settling worktree, a heartbeat, a reconnect) or until input
/// arrives, so an idle agent wakes only for the heartbeat and the systemd watchdog.
final class AgentLoop: @unchecked Sendable {
    typealias Statistics = AgentStatus.Statistics

    let inbox = Inbox()
    let status: AgentStatus
    private var configuration: AgentConfiguration
    private let loadConfiguration: @Sendable () throws -> AgentConfiguration
    private let loadConnectionSettings: (@Sendable () throws -> ConnectionSettings)?
    private let logger: Logger
    private let clock: AgentClock
    private let watchdogInterval: Duration?
    private let watchLimit: Int?
    private let prober = WorktreeProber()
    private var watcher: WorktreeWatcher?
    private let session: RegistrySession
    private var tracker = WorktreeTracker()
    private let membership: MembershipKeeper
    private var legacy: LegacyFollower?
    private var dirty: DirtySet
    private var loadedRegistry = false
    private var ready = false
    private var stopping = false
    private var nextHeartbeat: Duration = .zero
    private var nextReconcile: Duration = .zero
    private var nextPoll: Duration = .zero
    private var nextMissingCheck: Duration = .zero
    private var nextWatchdog: Duration = .zero
    private var probes = 0
    /// Probes answered from the changed paths alone (the rest were full statuses).
    private var pathProbes = 0
    /// Per watched worktree, what its last status found, for path-level re-probing.
    private var remembered: [String: RememberedStatus] = [:]
    /// Worktrees probed since their overlap forecast was last evaluated, and whether each is
    /// in flight.
    private var forecastDirty: DirtySet
    private var inFlight: [String: Bool] = [:]
    /// What changed in each worktree since its working state was last built.
    private var forecastChanges: [String: WorktreeChanges] = [:]
    private var forecastPasses = 0
    private lazy var forecaster: OverlapForecaster = {
        let forecaster = OverlapForecaster(logger: logger)
        forecaster.keepsCleanStates = true
        return forecaster
    }()
    private var pairsMerged = 0
    private var overflows = 0
    private var reconciles = 0

    init(
        settings: ConnectionSettings,
        configuration: AgentConfiguration,
        loadConfiguration: @escaping @Sendable () throws -> AgentConfiguration,
        loadConnectionSettings: (@Sendable () throws -> ConnectionSettings)? = nil,
        clock: any Clock<Duration>,
        logger: Logger,
        notifier: SystemdNotifier? = nil,
        watchdogInterval: Duration? = nil,
        watchLimit: Int? = nil,
        legacyPath: String? = nil,
        host: HostScope
    ) {
        self.configuration = configuration
        self.loadConfiguration = loadConfiguration
        self.loadConnectionSettings = loadConnectionSettings
        self.clock = AgentClock(clock)
        self.logger = logger
        self.watchdogInterval = watchdogInterval
        self.watchLimit = watchLimit
        self.status = AgentStatus(notifier: notifier, logger: logger)
        self.dirty = DirtySet(settle: configuration.settle, maxDelay: configuration.maxDelay)
        self.forecastDirty = DirtySet(settle: configuration.forecastSettle, maxDelay: configuration.forecastMaxDelay)
        self.membership = MembershipKeeper(configuration: configuration.membership, logger: logger)
        self.legacy = configuration.followedLegacyRegistry.map { LegacyFollower(path: $0, logger: logger) }
        let backoffBox = BackoffBox(configuration.reconnect)
        self.backoff = backoffBox
        let heartbeat = configuration.heartbeat
        self.session = RegistrySession(
            settings: settings, host: host, heartbeat: { heartbeat }, backoff: { backoffBox.value },
            inbox: inbox, logger: logger, legacyPath: legacyPath)
    }

    /// The reconnect backoff, which a reload may change while the session holds on to it.
    private let backoff: BackoffBox

    /// The watcher, for tests that hold its reader back to overflow the kernel queue.
    var watcherForTesting: WorktreeWatcher? { watcher }

    /// A snapshot of the counters; safe from any thread.
    var currentStatistics: Statistics { status.current }

    // MARK: Running

    /// Starts the loop on a thread of its own, at once (not from a task the cooperative pool
    /// may be too busy to run). It runs until `.shutdown` is posted and flushes before it ends.
    func start() {
        let thread = Thread { [self] in
            loop()
            finished.finish()
        }
        thread.name = "imi-sync agent"
        thread.start()
    }

    /// Starts the loop and returns once it has stopped; cancelling the task shuts it down.
    func run() async {
        start()
        await withTaskCancellationHandler {
            await finished.wait()
        } onCancel: {
            inbox.post(.shutdown)
        }
    }

    /// Waits (without blocking a thread) until the loop has stopped.
    func waitUntilStopped() async {
        await finished.wait()
    }

    private let finished = Completion()

    private func loop() {
        startWatcher()
        let start = clock.now()
        nextHeartbeat = start + configuration.heartbeat
        nextReconcile = start + configuration.reconcile
        nextWatchdog = start
        while !stopping {
            step(at: clock.now())
            if stopping { break }
            let deadline = nextDeadline()
            publishStatus(nextWake: deadline)
            clock.wait(until: deadline, on: inbox)
            // A scan registering a thousand rows sends a thousand notifications: one re-read.
            var registryChanged = false
            for input in inbox.drain() {
                if input == .registryChanged {
                    registryChanged = true
                } else {
                    handle(input, at: clock.now())
                }
            }
            if registryChanged { handle(.registryChanged, at: clock.now()) }
        }
        shutDown()
    }

    private func startWatcher() {
        let inbox = self.inbox
        do {
            watcher = try WorktreeWatcher(logger: logger, watchLimit: watchLimit) { signal in
                inbox.post(.watch(signal))
            }
        } catch {
            logger.error("cannot create the wake-up pipe for the watcher", metadata: ["error": "\(error)"])
        }
        if let reason = watcher?.unavailableReason {
            let instances = Inotify.instanceLimit().map(String.init) ?? "unknown"
            logger.error(
                """
                cannot create an inotify instance (\(reason)); every worktree is polled every \
                \(configuration.pollInterval) instead. Raise fs.inotify.max_user_instances (now \(instances)) with \
                `sudo sysctl fs.inotify.max_user_instances=512` and restart imi-sync
                """)
        }
    }

    /// Does everything that is due at `now`.
    private func step(at now: Duration) {
        if let listed = session.connectIfDue(at: now) {
            loadedRegistry = true
            apply(listed, at: now)
            // Worktrees may have come or gone while the agent was away, and the old CLI written.
            membership.schedule(.roots, at: now)
            legacy?.schedule(at: now)
        }
        if session.isConnected, let due = legacy?.nextDeadline, now >= due { followLegacy(at: now) }
        if session.isConnected, let due = membership.nextDeadline, now >= due { keepMembership(at: now) }
        if !tracker.ids(in: .missing).isEmpty, now >= nextMissingCheck {
            recheckMissing(at: now)
            nextMissingCheck = now + configuration.missingRecheck
        }
        if !tracker.polled.isEmpty, now >= nextPoll {
            for id in tracker.polled { dirty.mark(id, at: now, immediate: true) }
            nextPoll = now + configuration.pollInterval
        }
        if now >= nextReconcile { reconcile(at: now) }
        let due = dirty.takeDueChanges(at: now)
        if !due.isEmpty { probe(due, at: now) }
        session.flush(at: now)
        if session.isConnected, let deadline = forecastDirty.nextDeadline, now >= deadline { forecast(at: now) }
        if session.isConnected, loadedRegistry, !ready, dirty.isEmpty, session.ledger.pending.isEmpty,
            membership.walkedOnce || !configuration.membership.enabled
        {
            becomeReady(at: now)
        }
        if session.isConnected, ready, now >= nextHeartbeat {
            session.heartbeat(tracker.current, at: now)
            nextHeartbeat = now + configuration.heartbeat
        }
        if let watchdogInterval, now >= nextWatchdog {
            status.notify(["WATCHDOG=1"])
            nextWatchdog = now + watchdogInterval
        }
    }

    private func nextDeadline() -> Duration? {
        var candidates: [Duration] = [nextReconcile]
        if let deadline = dirty.nextDeadline { candidates.append(deadline) }
        if session.isConnected, let deadline = forecastDirty.nextDeadline { candidates.append(deadline) }
        if let deadline = session.nextDeadline { candidates.append(deadline) }
        if session.isConnected, let deadline = membership.nextDeadline { candidates.append(deadline) }
        if session.isConnected, let deadline = legacy?.nextDeadline { candidates.append(deadline) }
        if session.isConnected, ready { candidates.append(nextHeartbeat) }
        if !tracker.polled.isEmpty { candidates.append(nextPoll) }
        if !tracker.ids(in: .missing).isEmpty { candidates.append(nextMissingCheck) }
        if watchdogInterval != nil { candidates.append(nextWatchdog) }
        return candidates.min()
    }

    private func becomeReady(at now: Duration) {
        ready = true
        session.heartbeat(tracker.current, at: now)
        nextHeartbeat = now + configuration.heartbeat
        logger.notice(
            "first full sync done; watching for changes",
            metadata: [
                "worktrees.count": "\(tracker.count)",
                "inotify.watches": "\(watcher?.watchCount ?? 0)",
                "inotify.limit": "\(watcher?.watchLimit.map(String.init) ?? "unknown")",
            ])
        status.notify(["READY=1"])
        // The first sync probed everything on many threads; give their freed malloc arenas
        // back to the system so the resident size reflects the steady state.
        releaseFreedMemory()
    }

    private func reconcile(at now: Duration) {
        logger.debug("periodic reconcile", metadata: ["worktrees.count": "\(tracker.count)"])
        for id in tracker.probeable { dirty.mark(id, at: now, immediate: true) }
        let retry = tracker.registered(tracker.ids(in: .unreadable))
        if !retry.isEmpty { watchAll(retry, at: now) }
        nextReconcile = now + configuration.reconcile
        reconciles += 1
    }

    private func handle(_ input: AgentInput, at now: Duration) {
        switch input {
        case .watch(.changed(let changes)):
            let probeable = Set(tracker.probeable)
            for (id, changed) in changes where probeable.contains(id) {
                // A polled worktree has directories nobody watches: only a full status is exact.
                dirty.mark(id, at: now, changes: tracker.state(of: id) == .watched ? changed : .everything)
            }
        case .watch(.overflow):
            overflows += 1
            remembered = [:]
            logger.warning("the inotify queue overflowed (fs.inotify.max_queued_events); rescanning every worktree")
            watchAll(tracker.registered(Array(tracker.worktrees.keys)), at: now)
        case .watch(.membership(let triggers)):
            for trigger in triggers {
                if trigger == .legacyRegistry { legacy?.schedule(at: now) } else { membership.schedule(trigger, at: now) }
            }
        case .watch(.rootGone(let id)):
            guard let worktree = tracker[id], tracker.state(of: id) != .missing else { return }
            tracker.set(id, .missing)
            dirty.remove(id)
            remembered[id] = nil
            nextMissingCheck = now + configuration.missingRecheck
            logger.notice(
                "worktree directory is gone; its stored state is kept and it is watched again if it comes back",
                metadata: ["worktree.id": "\(id)", "worktree.path": "\(worktree.path)"])
        case .registryChanged:
            if let listed = session.activeWorktrees(at: now) { apply(listed, at: now) }
        case .listenerLost(let reason):
            session.lost(PostgresError(.connection, reason), at: now)
        case .reload:
            reload(at: now)
        case .shutdown:
            stopping = true
        case .tick:
            break
        }
    }

    // MARK: Registry

    /// Starts watching new worktrees, stops watching removed ones, re-watches moved ones.
    private func apply(_ listed: [RegisteredWorktree], at now: Duration) {
        let (removed, changed) = tracker.replace(with: listed)
        for worktree in removed {
            watcher?.unwatch(id: worktree.id)
            dirty.remove(worktree.id)
            forecastDirty.remove(worktree.id)
            forecaster.invalidate(worktree.id)
            forecastChanges[worktree.id] = nil
            remembered[worktree.id] = nil
            session.forget(worktree.id)
            logger.info("stopped watching a worktree removed from the registry",
                        metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)"])
        }
        watchAll(changed, at: now)
    }

    private func reload(at now: Duration) {
        do {
            configuration = try loadConfiguration()
            dirty.settle = configuration.settle
            dirty.maxDelay = configuration.maxDelay
            backoff.value = configuration.reconnect
            membership.configuration = configuration.membership
            membership.schedule(.roots, at: now)
            if configuration.followedLegacyRegistry != legacy?.path {
                legacy = configuration.followedLegacyRegistry.map { LegacyFollower(path: $0, logger: logger) }
                legacy?.schedule(at: now)
            }
            nextReconcile = now + configuration.reconcile
            logger.notice("configuration reloaded")
        } catch {
            logger.error("cannot reload the configuration; keeping the current one", metadata: ["error": "\(error)"])
        }
        if let loadConnectionSettings {
            do {
                session.reload(try loadConnectionSettings(), at: now)
            } catch {
                logger.error("cannot reload the database settings; keeping the current ones",
                             metadata: ["error": "\(error)"])
            }
        }
        // A reload also retries worktrees that could not be watched (e.g. after raising the limit).
        let retry = tracker.ids(in: .polled) + tracker.ids(in: .missing) + tracker.ids(in: .unreadable)
        watchAll(tracker.registered(retry), at: now)
        if let listed = session.activeWorktrees(at: now) { apply(listed, at: now) }
    }

    /// Runs the membership passes due and follows the registry when they changed rows.
    private func keepMembership(at now: Duration) {
        let registered = tracker.registered(Array(tracker.worktrees.keys))
        let changed = session.withRegistry(.membership, at: now) { registry, hostID in
            try membership.runDue(at: now, registry: registry, hostID: hostID, registered: registered)
        }
        if changed == nil, session.isConnected { membership.refused(at: now) }
        updateMembershipWatches()
        if changed == true, let listed = session.activeWorktrees(at: now) { apply(listed, at: now) }
    }

    /// Imports what the old iMi CLI added to the legacy registry (the dual-run period).
    private func followLegacy(at now: Duration) {
        guard let legacy else { return }
        let imported = session.withRegistry(.legacyImport, at: now) { registry, hostID in
            try legacy.runDue(at: now, connection: registry.connection, hostID: hostID)
        }
        updateMembershipWatches()
        if imported == true, let listed = session.activeWorktrees(at: now) { apply(listed, at: now) }
    }

    private func updateMembershipWatches() {
        var watches = membership.watches
        if let legacy {
            let (directory, names) = legacy.watch
            watches[directory, default: []].insert(.legacyRegistry(names: names))
        }
        watcher?.setMembershipWatches(watches)
    }

    // MARK: Watching and probing

    private func watchAll(_ list: [RegisteredWorktree], at now: Duration) {
        var limited: [(String, Int)] = []
        for worktree in list {
            // Watches are (re)made: whatever happened before them was not seen.
            remembered[worktree.id] = nil
            let outcome = watcher?.watch(WatchedWorktree(id: worktree.id, path: worktree.path)) ?? .unavailable
            switch outcome {
            case .watching:
                tracker.set(worktree.id, .watched)
                dirty.mark(worktree.id, at: now, immediate: true)
            case .missing(let reason):
                let previous = tracker.set(worktree.id, .missing)
                nextMissingCheck = now + configuration.missingRecheck
                if previous != .missing {
                    logger.notice(
                        "worktree directory not found; its stored state is kept and it is looked for again",
                        metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)",
                                   "error": "\(reason)"])
                }
            case .notAWorktree(let reason):
                let previous = tracker.set(worktree.id, .unreadable)
                if previous != .unreadable {
                    logger.notice(
                        """
                        registered path is not a readable git worktree; its stored state is kept \
                        and it is tried again at each reconcile
                        """,
                        metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)",
                                   "error": "\(reason)"])
                }
            case .incomplete(let reason):
                tracker.set(worktree.id, .polled)
                nextPoll = now + configuration.pollInterval
                dirty.mark(worktree.id, at: now, immediate: true)
                logger.error(
                    "not every directory of a worktree can be watched; it is polled every \(configuration.pollInterval) instead",
                    metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)",
                               "error": "\(reason)"])
            case .limitReached(let needed):
                tracker.set(worktree.id, .polled)
                limited.append((worktree.id, needed))
                dirty.mark(worktree.id, at: now, immediate: true)
            case .unavailable:
                tracker.set(worktree.id, .polled)
                dirty.mark(worktree.id, at: now, immediate: true)
            }
        }
        if !limited.isEmpty { reportWatchLimit(limited, at: now) }
    }

    private func reportWatchLimit(_ limited: [(String, Int)], at now: Duration) {
        nextPoll = now + configuration.pollInterval
        let inUse = watcher?.watchCount ?? 0
        let limit = watcher?.watchLimit ?? 0
        let needed = limited.map(\.1).reduce(0, +)
        let suggestion = max(524_288, (inUse + needed) * 2)
        logger.error(
            """
            inotify watch limit reached (fs.inotify.max_user_watches = \(limit), \(inUse) in use): \
            \(limited.count) worktrees need about \(needed) more watches and are polled every \
            \(configuration.pollInterval) instead; raise it with `sudo sysctl fs.inotify.max_user_watches=\(suggestion)` \
            (persist it in /etc/sysctl.d/) and run `systemctl --user reload imi-sync`
            """)
    }

    private func recheckMissing(at now: Duration) {
        let back = tracker.registered(tracker.ids(in: .missing)).filter { FileManager.default.fileExists(atPath: $0.path) }
        guard !back.isEmpty else { return }
        for worktree in back {
            logger.notice("worktree directory is back; watching it again",
                          metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)"])
        }
        watchAll(back, at: now)
    }

    private func probe(_ due: [(id: String, changes: WorktreeChanges)], at now: Duration? = nil) {
        let requests = due.compactMap { id, changes in
            tracker[id].map { ProbeRequest(worktree: $0, changes: changes, remembered: remembered[id]) }
        }
        let outcomes = prober.probeAll(requests)
        let changes = Dictionary(due.map { ($0.id, $0.changes) }, uniquingKeysWith: { first, _ in first })
        probes += outcomes.count
        pathProbes += outcomes.count(where: \.pathLevel)
        logger.debug("probed", metadata: [
            "worktree.ids": "\(due.map(\.id).joined(separator: ","))",
            "path_level.ids": "\(outcomes.filter(\.pathLevel).map(\.worktree.id).joined(separator: ","))",
        ])
        for outcome in outcomes {
            let id = outcome.worktree.id
            remembered[id] = outcome.remembered
            if let state = outcome.state, let now {
                inFlight[id] = state.isInFlight
                let changed = outcome.pathLevel ? changes[id] ?? .everything : .everything
                forecastChanges[id, default: WorktreeChanges.files([])].merge(changed)
                forecastDirty.mark(id, at: now)
            }
            if let update = outcome.update {
                _ = tracker.noteProbe(id, succeeded: true)
                session.record(update)
            } else if let failure = outcome.failure, tracker.noteProbe(id, succeeded: false) {
                logger.info("cannot read worktree; its stored state is kept",
                            metadata: ["worktree.id": "\(id)", "error": "\(failure)"])
            }
        }
    }

    /// Re-evaluates the change sets of the worktrees probed lately and the pairs they are in.
    private func forecast(at now: Duration) {
        let due = forecastDirty.takeDue(at: now)
        let targets = tracker.registered(due).map { worktree in
            let changes = forecastChanges.removeValue(forKey: worktree.id) ?? .everything
            return OverlapForecaster.Target(
                worktree: worktree, inFlight: inFlight[worktree.id] ?? false,
                changedPaths: changes.needsFullStatus || changes.paths.isEmpty ? nil : changes.paths)
        }
        guard !targets.isEmpty else { return }
        let local = tracker.registered(Array(tracker.worktrees.keys))
        let report = session.withRegistry(.forecast, at: now) { registry, _ in
            try forecaster.forecast(targets, local: local, registry: registry)
        }
        guard let report else {
            // Not written (the database is away or refused it): evaluate again, afresh, later.
            for target in targets {
                forecaster.invalidate(target.worktree.id)
                forecastDirty.mark(target.worktree.id, at: now)
            }
            return
        }
        forecastPasses += 1
        pairsMerged += report.pairsMerged
        logger.debug("forecast", metadata: [
            "worktree.ids": "\(due.joined(separator: ","))", "change_sets.written": "\(report.changeSetsWritten)",
            "pairs.merged": "\(report.pairsMerged)",
        ])
    }

    private func shutDown() {
        status.notify(["STOPPING=1"])
        let remaining = dirty.takeAll()
        if !remaining.isEmpty { probe(remaining) }
        session.flush(at: clock.now())
        session.stop()
        watcher?.stop()
        publishStatus(nextWake: nil)
        if session.ledger.pending.isEmpty {
            logger.notice("stopped; every state read was written")
        } else {
            logger.warning(
                "stopped with states the registry did not receive (database unreachable)",
                metadata: ["pending.count": "\(session.ledger.pending.count)"])
        }
    }

    // MARK: Status

    private func publishStatus(nextWake: Duration?) {
        let counters = session.counters
        var statistics = Statistics()
        statistics.probes = probes
        statistics.pathProbes = pathProbes
        statistics.forecastPasses = forecastPasses
        statistics.pairsMerged = pairsMerged
        statistics.rememberedEntries = remembered.values.reduce(0) { $0 + $1.memory.entryCount }
        statistics.flushes = counters.flushes
        statistics.rowsWritten = counters.rowsWritten
        statistics.lastWrite = counters.lastWrite
        statistics.polledWorktrees = tracker.polled.count
        statistics.missingWorktrees = tracker.count { $0 == .missing }
        statistics.unreadableWorktrees = tracker.count { $0 == .unreadable }
        statistics.watchedWorktrees = tracker.count - statistics.polledWorktrees - statistics.missingWorktrees
            - statistics.unreadableWorktrees
        statistics.watches = watcher?.watchCount ?? 0
        statistics.dirtyWorktrees = dirty.count
        statistics.pendingStates = session.ledger.pending.count
        statistics.refusedStates = session.refusedIDs.count
        statistics.refusedFlushes = counters.refusedFlushes
        statistics.databaseUp = session.isConnected
        statistics.hostProblem = session.hostProblem
        statistics.connectAttempts = counters.connectAttempts
        statistics.overflows = overflows
        statistics.heartbeats = counters.heartbeats
        statistics.reconciles = reconciles
        statistics.membershipPasses = membership.passes
        statistics.membershipChanges = membership.changedRows
        statistics.legacyImports = legacy?.imports ?? 0
        statistics.legacyRowsImported = legacy?.importedRows ?? 0
        statistics.nextWake = nextWake
        statistics.ready = ready
        status.publish(statistics, watchLimit: watcher?.watchLimit)
    }
}

/// A one-time event that any number of tasks await: the loop's thread ending.
private final class Completion: Sendable {
    private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func finish() {
        let waiters = state.withLock { state in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}

/// The reconnect backoff, shared by the loop (which reloads it) and the session (which reads
/// it); both run on the loop's thread.
private final class BackoffBox: @unchecked Sendable {
    var value: Backoff
    init(_ value: Backoff) { self.value = value }
}
