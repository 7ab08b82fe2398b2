import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient

/// `imi-sync run`'s engine: watches every active worktree, probes the ones that changed once
/// their burst settles, writes only rows whose state changed, and survives database outages.
///
/// One loop owns all state; other threads (inotify reader, LISTEN connection, signal
/// handlers) only post to ``inbox``. The loop sleeps until the next deadline it knows of
/// (a settling worktree, a heartbeat, a reconnect) or until input arrives, so an idle agent
/// does not wake up except for the heartbeat and the systemd watchdog.
final class BackgroundAgent: @unchecked Sendable {
    /// Counters shown in STATUS= and read by tests and the benchmark.
    struct Statistics: Sendable, Equatable {
        var probes = 0
        var flushes = 0
        var rowsWritten = 0
        var lastWrite: Date?
        var watchedWorktrees = 0
        var watches = 0
        var polledWorktrees = 0
        var missingWorktrees = 0
        /// Registered paths that exist but are not readable git worktrees.
        var unreadableWorktrees = 0
        /// Worktrees with changes not yet probed.
        var dirtyWorktrees = 0
        /// Probed states not yet written (kept while the database is away or refuses them).
        var pendingStates = 0
        /// Pending states the server refused to store; retried with backoff.
        var refusedStates = 0
        /// Flushes in which the server refused at least one state.
        var refusedFlushes = 0
        var databaseUp = false
        /// Connection attempts so far (the first one included).
        var connectAttempts = 0
        /// Kernel queue overflows handled by rescanning everything.
        var overflows = 0
        /// Heartbeats that refreshed `last_sync_at`.
        var heartbeats = 0
        var ready = false
    }

    let inbox = Inbox()
    private var settings: ConnectionSettings
    private var configuration: AgentConfiguration
    private let loadConfiguration: @Sendable () throws -> AgentConfiguration
    private let loadConnectionSettings: (@Sendable () throws -> ConnectionSettings)?
    private let logger: Logger
    private let clock: AgentClock
    private let notifier: SystemdNotifier?
    private let watchdogInterval: Duration?
    private let watchLimit: Int?
    private let prober = WorktreeProber()
    private let statisticsLock = NSLock()
    private var sharedStatistics = Statistics()

    private var watcher: WorktreeWatcher?
    private var connection: PostgresConnection?
    private var listener: RegistryListener?
    private var worktrees: [String: RegisteredWorktree] = [:]
    private var dirty: DirtySet
    private var ledger = StateLedger()
    private var polled: Set<String> = []
    private var missing: Set<String> = []
    private var unreadable: Set<String> = []
    private var failing: Set<String> = []
    /// Worktrees whose latest state the server refused to store.
    private var refusedIDs: Set<String> = []
    /// When refused states are tried again, and whether a new session is needed first.
    private struct Refusal {
        var attempt: Int
        var retryAt: Duration
        var reconnect: Bool
    }
    private var refusal: Refusal?
    private var reconnectAt: Duration? = .zero
    private var reconnectAttempt = 0
    private var loadedRegistry = false
    private var ready = false
    private var stopping = false
    private var nextHeartbeat: Duration = .zero
    private var nextReconcile: Duration = .zero
    private var nextPoll: Duration = .zero
    private var nextMissingCheck: Duration = .zero
    private var nextWatchdog: Duration = .zero
    private var lastStatus = ""
    private var statistics = Statistics()
    /// The legacy SQLite registry to import on the first connection when the registry is
    /// empty (`nil`: never). Cleared once it has been looked at.
    private var legacyPath: String?

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
        legacyPath: String? = nil
    ) {
        self.legacyPath = legacyPath
        self.settings = settings
        self.configuration = configuration
        self.loadConfiguration = loadConfiguration
        self.loadConnectionSettings = loadConnectionSettings
        self.clock = AgentClock(clock)
        self.logger = logger
        self.notifier = notifier
        self.watchdogInterval = watchdogInterval
        self.watchLimit = watchLimit
        self.dirty = DirtySet(settle: configuration.settle, maxDelay: configuration.maxDelay)
    }

    /// The watcher, for tests that hold its reader back to overflow the kernel queue.
    var watcherForTesting: WorktreeWatcher? { watcher }

    /// A snapshot of the counters; safe from any thread.
    var currentStatistics: Statistics { statisticsLock.withLock { sharedStatistics } }

    // MARK: The loop

    /// Runs until `.shutdown` is posted or the task is cancelled; flushes before returning.
    func run() async {
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
            let interval = configuration.pollInterval
            logger.error(
                """
                cannot create an inotify instance (\(reason)); every worktree is polled every \
                \(interval) instead. Raise fs.inotify.max_user_instances (now \(instances)) with \
                `sudo sysctl fs.inotify.max_user_instances=512` and restart imi-sync
                """)
        }
        let start = clock.now()
        nextHeartbeat = start + configuration.heartbeat
        nextReconcile = start + configuration.reconcile
        nextWatchdog = start
        while !stopping, !Task.isCancelled {
            step(at: clock.now())
            if stopping { break }
            let timeout = nextDeadline().map { $0 - clock.now() }
            await inbox.wait(timeout: timeout, clock: clock)
            for input in inbox.drain() { handle(input, at: clock.now()) }
        }
        shutDown()
    }

    /// Does everything that is due at `now`.
    private func step(at now: Duration) {
        if let refusal, refusal.reconnect, now >= refusal.retryAt, connection != nil {
            self.refusal?.reconnect = false
            dropConnection()
            reconnectAt = now
        }
        if let at = reconnectAt, now >= at { connect(at: now) }
        if !missing.isEmpty, now >= nextMissingCheck {
            recheckMissing(at: now)
            nextMissingCheck = now + configuration.missingRecheck
        }
        if !polled.isEmpty, now >= nextPoll {
            for id in polled { dirty.mark(id, at: now, immediate: true) }
            nextPoll = now + configuration.pollInterval
        }
        if now >= nextReconcile {
            logger.debug("periodic reconcile", metadata: ["worktrees.count": "\(worktrees.count)"])
            for id in worktrees.keys where !missing.contains(id) && !unreadable.contains(id) {
                dirty.mark(id, at: now, immediate: true)
            }
            let retry = unreadable.compactMap { worktrees[$0] }.sorted { $0.id < $1.id }
            if !retry.isEmpty { watchAll(retry, at: now) }
            nextReconcile = now + configuration.reconcile
        }
        let due = dirty.takeDue(at: now)
        if !due.isEmpty { probe(due) }
        if connection != nil, !ledger.pending.isEmpty { flush(at: now) }
        if connection != nil, loadedRegistry, !ready, dirty.isEmpty, ledger.pending.isEmpty {
            ready = true
            heartbeat(at: now)
            nextHeartbeat = now + configuration.heartbeat
            logger.notice(
                "first full sync done; watching for changes",
                metadata: [
                    "worktrees.count": "\(worktrees.count)",
                    "inotify.watches": "\(watcher?.watchCount ?? 0)",
                    "inotify.limit": "\(watcher?.watchLimit.map(String.init) ?? "unknown")",
                ])
            notify(["READY=1"])
            // The first sync probed everything on many threads; give their freed malloc
            // arenas back to the system so the resident size reflects the steady state.
            releaseFreedMemory()
        }
        if connection != nil, ready, now >= nextHeartbeat {
            heartbeat(at: now)
            nextHeartbeat = now + configuration.heartbeat
        }
        if let watchdogInterval, now >= nextWatchdog {
            notify(["WATCHDOG=1"])
            nextWatchdog = now + watchdogInterval
        }
        publishStatus()
    }

    private func nextDeadline() -> Duration? {
        var candidates: [Duration] = [nextReconcile]
        if let deadline = dirty.nextDeadline { candidates.append(deadline) }
        if let reconnectAt { candidates.append(reconnectAt) }
        if let refusal { candidates.append(refusal.retryAt) }
        if connection != nil, ready { candidates.append(nextHeartbeat) }
        if !polled.isEmpty { candidates.append(nextPoll) }
        if !missing.isEmpty { candidates.append(nextMissingCheck) }
        if watchdogInterval != nil { candidates.append(nextWatchdog) }
        return candidates.min()
    }

    private func handle(_ input: AgentInput, at now: Duration) {
        switch input {
        case .watch(.changed(let ids)):
            for id in ids where worktrees[id] != nil && !missing.contains(id) && !unreadable.contains(id) {
                dirty.mark(id, at: now)
            }
        case .watch(.overflow):
            statistics.overflows += 1
            logger.warning(
                "the inotify queue overflowed (fs.inotify.max_queued_events); rescanning every worktree")
            let all = worktrees.values.sorted { $0.id < $1.id }
            watchAll(all, at: now)
        case .watch(.rootGone(let id)):
            guard let worktree = worktrees[id], !missing.contains(id) else { return }
            missing.insert(id)
            dirty.remove(id)
            nextMissingCheck = now + configuration.missingRecheck
            logger.notice(
                "worktree directory is gone; its stored state is kept and it is watched again if it comes back",
                metadata: ["worktree.id": "\(id)", "worktree.path": "\(worktree.path)"])
        case .registryChanged:
            guard let connection else { return }
            do {
                apply(try Registry(connection: connection).activeWorktrees(), at: now)
            } catch {
                databaseLost(error, at: now)
            }
        case .listenerLost(let reason):
            if connection != nil { databaseLost(PostgresError(.connection, reason), at: now) }
        case .reload:
            reload(at: now)
        case .shutdown:
            stopping = true
        }
    }

    // MARK: Registry

    private func connect(at now: Duration) {
        statistics.connectAttempts += 1
        do {
            let connection = try PostgresConnection(settings: settings)
            if let legacyPath {
                // First run on a machine that still has the SQLite registry: import it first.
                try LegacyBootstrap(connection: connection, logger: logger, legacyPath: legacyPath).runIfNeeded()
                self.legacyPath = nil
            }
            try SchemaMigrator(connection: connection).requireSchema()
            // Listen before reading, so a change made in between is not missed.
            let listener = try RegistryListener(settings: settings, inbox: inbox, logger: logger)
            let registry = Registry(connection: connection)
            let listed = try registry.activeWorktrees()
            let stored = try registry.storedStates()
            self.connection = connection
            self.listener = listener
            ledger.seed(stored)
            if reconnectAttempt > 0 {
                logger.notice(
                    "database is back; writing the states kept meanwhile",
                    metadata: ["pending.count": "\(ledger.pending.count)"])
            }
            reconnectAt = nil
            reconnectAttempt = 0
            loadedRegistry = true
            apply(listed, at: now)
        } catch {
            listener?.stop()
            listener = nil
            connection = nil
            let delay = configuration.reconnect.delay(forAttempt: reconnectAttempt)
            let level: Logger.Level = reconnectAttempt == 0 ? .warning : .debug
            logger.log(
                level: level, "cannot reach the registry; retrying",
                metadata: ["error": "\(error)", "retry.in": "\(delay)"])
            reconnectAttempt += 1
            reconnectAt = now + delay
        }
    }

    private func databaseLost(_ error: any Error, at now: Duration) {
        guard connection != nil else { return }
        logger.warning(
            "lost the registry connection; keeping the latest state of every worktree and reconnecting",
            metadata: ["error": "\(error)", "pending.count": "\(ledger.pending.count)"])
        dropConnection()
        reconnectAttempt = 1
        reconnectAt = now + configuration.reconnect.delay(forAttempt: 0)
    }

    private func dropConnection() {
        listener?.stop()
        listener = nil
        connection = nil
    }

    /// Starts watching new worktrees, stops watching removed ones, re-watches moved ones.
    private func apply(_ listed: [RegisteredWorktree], at now: Duration) {
        let incoming = Dictionary(listed.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for (id, worktree) in worktrees where incoming[id] == nil {
            watcher?.unwatch(id: id)
            dirty.remove(id)
            ledger.forget(id)
            polled.remove(id)
            missing.remove(id)
            unreadable.remove(id)
            failing.remove(id)
            logger.info("stopped watching a worktree removed from the registry",
                        metadata: ["worktree.id": "\(id)", "worktree.path": "\(worktree.path)"])
        }
        let changed = listed.filter { worktrees[$0.id] != $0 }
        worktrees = incoming
        watchAll(changed, at: now)
    }

    /// Heartbeat: `last_sync_at` for every worktree whose stored state is current.
    private func heartbeat(at now: Duration) {
        guard let connection else { return }
        let current = worktrees.keys.filter {
            !failing.contains($0) && !missing.contains($0) && !unreadable.contains($0)
                && ledger.pending[$0] == nil
                && ledger.stored[$0] != nil
        }.sorted()
        do {
            try Registry(connection: connection).stampSynced(current, at: Date())
            statistics.heartbeats += 1
        } catch {
            databaseLost(error, at: now)
        }
    }

    private func flush(at now: Duration) {
        guard let connection else { return }
        // States the server refused wait for their retry; everything else goes now.
        refusedIDs = refusedIDs.filter { ledger.pending[$0] != nil }
        let retrying = refusal.map { now >= $0.retryAt } ?? true
        let updates = ledger.pendingUpdates.filter { retrying || !refusedIDs.contains($0.worktreeID) }
        guard !updates.isEmpty else { return }
        let outcome: Registry.WriteOutcome
        do {
            outcome = try Registry(connection: connection).writeChanged(updates)
        } catch {
            databaseLost(error, at: now)
            return
        }
        // Only a committed state counts as written; a refused one stays pending.
        let written = updates.filter { outcome.refused[$0.worktreeID] == nil }
        ledger.committed(written)
        statistics.flushes += 1
        statistics.rowsWritten += outcome.changed.count
        if !outcome.changed.isEmpty { statistics.lastWrite = Date() }
        logger.debug("wrote", metadata: ["worktree.ids": "\(outcome.changed.joined(separator: ","))"])
        noteRefusals(outcome.refused, written: written, at: now)
    }

    /// Keeps refused states pending and schedules their retry with backoff; one loud line
    /// when refusals start, one when the registry accepts them again.
    private func noteRefusals(_ refused: [String: PostgresError], written: [GitStateUpdate], at now: Duration) {
        refusedIDs.subtract(written.map(\.worktreeID))
        refusedIDs.formUnion(refused.keys)
        guard !refused.isEmpty else {
            if refusal != nil, refusedIDs.isEmpty {
                logger.notice("the registry accepts state updates again; the states kept meanwhile are written")
                refusal = nil
            }
            return
        }
        statistics.refusedFlushes += 1
        let attempt = (refusal?.attempt ?? -1) + 1
        let delay = configuration.reconnect.delay(forAttempt: attempt)
        let first = refused.sorted { $0.key < $1.key }.first!.value
        if refusal == nil {
            logger.error(
                """
                the registry refuses state updates; they are kept, not counted as written, and \
                retried with backoff until it accepts them (see `imi-sync doctor`)
                """,
                metadata: ["error": "\(first)", "rows.count": "\(refused.count)", "retry.in": "\(delay)"])
        }
        // A read-only session (default_transaction_read_only, a standby) stays read-only:
        // the retry opens a new one.
        let readOnly = refused.values.contains { $0.sqlState == "25006" }
        refusal = Refusal(attempt: attempt, retryAt: now + delay, reconnect: readOnly)
    }

    // MARK: Watching and probing

    private func watchAll(_ list: [RegisteredWorktree], at now: Duration) {
        var limited: [(String, Int)] = []
        for worktree in list {
            polled.remove(worktree.id)
            let wasMissing = missing.remove(worktree.id) != nil
            let wasUnreadable = unreadable.remove(worktree.id) != nil
            let outcome = watcher?.watch(WatchedWorktree(id: worktree.id, path: worktree.path)) ?? .unavailable
            switch outcome {
            case .watching:
                dirty.mark(worktree.id, at: now, immediate: true)
            case .missing(let reason):
                missing.insert(worktree.id)
                nextMissingCheck = now + configuration.missingRecheck
                if !wasMissing {
                    logger.notice(
                        "worktree directory not found; its stored state is kept and it is looked for again",
                        metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)",
                                   "error": "\(reason)"])
                }
            case .notAWorktree(let reason):
                unreadable.insert(worktree.id)
                if !wasUnreadable {
                    logger.notice(
                        """
                        registered path is not a readable git worktree; its stored state is kept \
                        and it is tried again at each reconcile
                        """,
                        metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)",
                                   "error": "\(reason)"])
                }
            case .incomplete(let reason):
                polled.insert(worktree.id)
                nextPoll = now + configuration.pollInterval
                dirty.mark(worktree.id, at: now, immediate: true)
                logger.error(
                    "not every directory of a worktree can be watched; it is polled every \(configuration.pollInterval) instead",
                    metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)",
                               "error": "\(reason)"])
            case .limitReached(let needed):
                polled.insert(worktree.id)
                limited.append((worktree.id, needed))
                dirty.mark(worktree.id, at: now, immediate: true)
            case .unavailable:
                polled.insert(worktree.id)
                dirty.mark(worktree.id, at: now, immediate: true)
            }
        }
        if !limited.isEmpty {
            nextPoll = now + configuration.pollInterval
            let inUse = watcher?.watchCount ?? 0
            let limit = watcher?.watchLimit ?? 0
            let needed = limited.map(\.1).reduce(0, +)
            let suggestion = max(524_288, (inUse + needed) * 2)
            let interval = configuration.pollInterval
            let count = limited.count
            logger.error(
                """
                inotify watch limit reached (fs.inotify.max_user_watches = \(limit), \(inUse) in use): \
                \(count) worktrees need about \(needed) more watches and are polled every \(interval) \
                instead; raise it with `sudo sysctl fs.inotify.max_user_watches=\(suggestion)` \
                (persist it in /etc/sysctl.d/) and run `systemctl --user reload imi-sync`
                """)
        }
    }

    private func recheckMissing(at now: Duration) {
        let back = missing.compactMap { worktrees[$0] }.filter { FileManager.default.fileExists(atPath: $0.path) }
        guard !back.isEmpty else { return }
        for worktree in back {
            logger.notice("worktree directory is back; watching it again",
                          metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)"])
        }
        watchAll(back, at: now)
    }

    private func probe(_ ids: [String]) {
        let targets = ids.compactMap { worktrees[$0] }
        let outcomes = prober.probeAll(targets)
        statistics.probes += outcomes.count
        logger.debug("probed", metadata: ["worktree.ids": "\(ids.joined(separator: ","))"])
        for outcome in outcomes {
            let id = outcome.worktree.id
            if let update = outcome.update {
                failing.remove(id)
                ledger.record(update)
            } else if let failure = outcome.failure, !failing.contains(id) {
                failing.insert(id)
                logger.info(
                    "cannot read worktree; its stored state is kept",
                    metadata: ["worktree.id": "\(id)", "error": "\(failure)"])
            }
        }
    }

    private func reload(at now: Duration) {
        if refusal != nil { refusal?.retryAt = now }
        do {
            configuration = try loadConfiguration()
            dirty.settle = configuration.settle
            dirty.maxDelay = configuration.maxDelay
            nextReconcile = now + configuration.reconcile
            logger.notice("configuration reloaded")
        } catch {
            logger.error("cannot reload the configuration; keeping the current one",
                         metadata: ["error": "\(error)"])
        }
        if let loadConnectionSettings {
            do {
                let reloaded = try loadConnectionSettings()
                if reloaded != settings {
                    logger.notice(
                        "database settings changed; reconnecting",
                        metadata: ["pg.target": "\(reloaded.redactedDescription)"])
                    settings = reloaded
                    dropConnection()
                    reconnectAttempt = 0
                    reconnectAt = now
                    connect(at: now)
                    return
                }
            } catch {
                logger.error("cannot reload the database settings; keeping the current ones",
                             metadata: ["error": "\(error)"])
            }
        }
        // A reload also retries worktrees that could not be watched (e.g. after raising the limit).
        let retry = worktrees.values.filter {
            polled.contains($0.id) || missing.contains($0.id) || unreadable.contains($0.id)
        }
        watchAll(retry.sorted { $0.id < $1.id }, at: now)
        if let connection {
            do {
                apply(try Registry(connection: connection).activeWorktrees(), at: now)
            } catch {
                databaseLost(error, at: now)
            }
        }
    }

    private func shutDown() {
        notify(["STOPPING=1"])
        let remaining = dirty.takeAll()
        if !remaining.isEmpty { probe(remaining) }
        if connection != nil, !ledger.pending.isEmpty { flush(at: clock.now()) }
        listener?.stop()
        listener = nil
        watcher?.stop()
        publishStatus()
        if ledger.pending.isEmpty {
            logger.notice("stopped; every state read was written")
        } else {
            logger.warning(
                "stopped with states the registry did not receive (database unreachable)",
                metadata: ["pending.count": "\(ledger.pending.count)"])
        }
    }

    // MARK: Status

    private func publishStatus() {
        statistics.watchedWorktrees = worktrees.count - polled.count - missing.count - unreadable.count
        statistics.unreadableWorktrees = unreadable.count
        statistics.watches = watcher?.watchCount ?? 0
        statistics.polledWorktrees = polled.count
        statistics.missingWorktrees = missing.count
        statistics.dirtyWorktrees = dirty.count
        statistics.pendingStates = ledger.pending.count
        statistics.refusedStates = refusedIDs.count
        statistics.databaseUp = connection != nil
        statistics.ready = ready
        let snapshot = statistics
        statisticsLock.withLock { sharedStatistics = snapshot }
        guard notifier != nil else { return }
        let status = Self.statusLine(snapshot, watchLimit: watcher?.watchLimit)
        if status != lastStatus {
            lastStatus = status
            notify(["STATUS=" + status])
        }
    }

    /// The one line systemd shows in `systemctl --user status imi-sync`.
    static func statusLine(_ statistics: Statistics, watchLimit: Int?) -> String {
        var parts = [
            "\(statistics.watchedWorktrees) worktrees watched",
            "\(statistics.watches)/\(watchLimit.map(String.init) ?? "?") inotify watches",
        ]
        if statistics.polledWorktrees > 0 { parts.append("\(statistics.polledWorktrees) polled") }
        if statistics.missingWorktrees > 0 { parts.append("\(statistics.missingWorktrees) missing") }
        if statistics.unreadableWorktrees > 0 {
            parts.append("\(statistics.unreadableWorktrees) not git worktrees")
        }
        if let lastWrite = statistics.lastWrite {
            parts.append("last write \(lastWrite.formatted(.iso8601.time(includingFractionalSeconds: false)))Z")
        } else {
            parts.append("no write yet")
        }
        if statistics.refusedStates > 0 {
            parts.append("\(statistics.refusedStates) states refused by the registry, retrying")
        }
        parts.append(statistics.databaseUp ? "database up" : "database unreachable, retrying")
        return parts.joined(separator: "; ")
    }

    private func notify(_ assignments: [String]) {
        guard let notifier else { return }
        do {
            try notifier.send(assignments)
        } catch {
            logger.debug("sd_notify failed", metadata: ["error": "\(error)"])
        }
    }
}
