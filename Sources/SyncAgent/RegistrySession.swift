import Foundation
import Logging
import PostgresClient
import RegistryClient
import WorktreeMembership

/// The agent's hold on the registry: one connection (``SharedConnection``) for reads, writes,
/// LISTEN and the local mcp sessions' calls; how changes made elsewhere are learnt (LISTEN on
/// it, LISTEN on a direct `listen_url` behind a transaction pooler, or a poll of the registry
/// version); the reconnect backoff, the first-run legacy import, and the ledger of what the
/// registry holds and what is still to be written.
///
/// Every call blocks on libpq and runs on the agent loop's thread, so every connection it
/// opens has the background bounds (``ConnectionTimeouts/background``): a silent server or
/// proxy costs one reply deadline and a reconnect, and a table locked by `VACUUM FULL` or
/// `ALTER TABLE` makes writes fail fast (`lock_timeout`) and wait with backoff ("busy"), the
/// connection kept. Either way the loop goes on feeding the systemd watchdog.
///
/// What phase the session is in, and what each event does, is ``RegistrySessionState``; this
/// class performs its actions (connect, drop, log) and owns the connection and the ledger.
package final class RegistrySession {
    /// The writes the agent makes, as its log lines name them when the registry refuses one.
    package enum Write: String, Sendable, CaseIterable {
        case gitState = "git-state update"
        case heartbeat = "heartbeat"
        case membership = "membership change"
        case legacyImport = "legacy-registry import"
        case forecast = "change-set or verdict write (overlap forecast)"
    }

    /// Counters for the status line, tests and the benchmark.
    package struct Counters: Sendable, Equatable {
        package var connectAttempts = 0
        package var flushes = 0
        package var rowsWritten = 0
        package var lastWrite: Date?
        package var heartbeats = 0
        /// Flushes in which the server refused at least one state.
        package var refusedFlushes = 0
    }

    package private(set) var settings: ConnectionSettings
    package private(set) var ledger = StateLedger()
    package internal(set) var counters = Counters()
    package internal(set) var state: RegistrySessionState
    /// The one connection, shared with the hub's calls and the listening thread.
    package let shared: SharedConnection
    /// The changes heard, for the sessions that watch through the hub.
    package let pushes: EventForwarding
    var connected = false
    var listener: RegistryListener?
    /// How this session reaches the server, and how it learns of changes (set on connect).
    package internal(set) var pooling: PoolingDetection?
    package internal(set) var changeFeed: ChangeFeed = .none
    let poolingSetting: PoolingMode
    let listenSettings: ConnectionSettings?
    var poll = VersionPoll()
    /// The legacy registry to import on the first connection when the registry is empty;
    /// cleared once looked at.
    private var legacyPath: String?
    /// Worktrees whose latest state the server refused to store (or a busy registry held back).
    package internal(set) var refusedIDs: Set<String> = []
    let backoff: @Sendable () -> Backoff
    let inbox: Inbox
    let logger: Logger
    let host: HostScope
    /// This host's row, once registered.
    package private(set) var hostID: String?
    /// Why this role may not act for the host it names (``HostAuthority/problem``), `nil` when it may.
    package private(set) var hostProblem: String?
    /// How often heartbeats run, recorded on the host row (staleness is three missed beats).
    private let heartbeatInterval: @Sendable () -> Duration

    package init(settings: ConnectionSettings, host: HostScope, heartbeat: @escaping @Sendable () -> Duration,
         backoff: @escaping @Sendable () -> Backoff, inbox: Inbox, logger: Logger, legacyPath: String?,
         pooling: PoolingMode = .auto, listenSettings: ConnectionSettings? = nil, versionPoll: Duration = .seconds(1)) {
        self.settings = settings
        let pushes = EventForwarding()
        self.pushes = pushes
        let posting = RegistryListener.posting(to: inbox, logger: logger)
        self.shared = SharedConnection(onNotifications: { received in
            posting(received)
            pushes.forward(received)
        })
        self.poolingSetting = pooling
        self.listenSettings = listenSettings
        self.poll.interval = versionPoll
        self.host = host
        self.heartbeatInterval = heartbeat
        self.backoff = backoff
        self.inbox = inbox
        self.logger = logger
        self.legacyPath = legacyPath
        self.state = RegistrySessionState(backoff: backoff())
    }

    package var isConnected: Bool { connected }

    /// The earliest moment the session needs the loop: a reconnect, a refused write's retry,
    /// or the next poll of the registry version.
    package var nextDeadline: Duration? {
        [state.nextDeadline, connected ? poll.nextDeadline : nil].compactMap { $0 }.min()
    }

    /// Performs what the state machine asks; `error` is the one that led to it.
    func perform(_ action: RegistrySessionState.Action, error: (any Error)? = nil) {
        let detail: Logger.Metadata = error.map { ["error": "\($0)"] } ?? [:]
        switch action {
        case .none, .connect:
            break
        case .drop:
            dropConnection()
        case .reportUnreachable(let first, let delay):
            logger.log(level: first ? .warning : .debug, "cannot reach the registry; retrying",
                       metadata: detail.merging(["retry.in": "\(delay)"]) { $1 })
        case .reportBack:
            logger.notice("database is back; writing the states kept meanwhile",
                          metadata: ["pending.count": "\(ledger.pending.count)"])
        case .reportLost:
            logger.warning(
                "lost the registry connection; keeping the latest state of every worktree and reconnecting",
                metadata: detail.merging(["pending.count": "\(ledger.pending.count)"]) { $1 })
            dropConnection()
        case .reportRefused(let first, let delay):
            guard first else { break }
            logger.error(
                """
                the registry refuses git-state updates; they are kept, not counted as written, and \
                retried with backoff until it accepts them (see `imi-sync doctor`)
                """,
                metadata: detail.merging(["rows.count": "\(refusedIDs.count)", "retry.in": "\(delay)"]) { $1 })
        case .reportAccepted:
            logger.notice("the registry accepts git-state updates again; the states kept meanwhile are written")
        case .reportBusy(let first, let delay):
            guard first else { break }
            logger.warning(
                "the registry is busy (a lock or a long statement holds its tables); states are kept and retried",
                metadata: detail.merging([
                    "pg.sqlstate": "\((error as? PostgresError)?.sqlState ?? "")", "retry.in": "\(delay)",
                ]) { $1 })
        case .reportNotBusy:
            logger.notice("the registry is no longer busy; the states kept meanwhile are written")
        }
    }

    // MARK: Connecting

    /// Connects when a connection attempt is due (or a read-only refusal wants a new
    /// session); returns the active worktrees read right after, `nil` when nothing happened
    /// or the attempt failed (the next one is scheduled).
    package func connectIfDue(at now: Duration) -> [RegisteredWorktree]? {
        state.backoff = backoff()
        var action = state.tick(at: now)
        if action == .drop {
            // A read-only session stays read-only: a new one is opened at once.
            perform(action)
            action = state.tick(at: now)
        }
        guard action == .connect else { return nil }
        return connect(at: now)
    }

    private func connect(at now: Duration) -> [RegisteredWorktree]? {
        counters.connectAttempts += 1
        do {
            // Opened the one way, the schema checked below, after the first-run import.
            let connection = try Registry.open(settings.boundedForBackground, checkingSchema: false).connection
            if let legacyPath {
                // First run on a machine that still has the SQLite registry: import it first,
                // unbounded (it may take minutes, once).
                try connection.withTimeouts(ConnectionTimeouts()) {
                    try LegacyBootstrap(connection: connection, logger: logger, legacyPath: legacyPath, host: host)
                        .runIfNeeded()
                }
                self.legacyPath = nil
            }
            try SchemaMigrator(connection: connection).requireSchema()
            let registry = Registry(connection: connection)
            checkAuthority(registry)
            let hostID = try host.register(on: registry, heartbeat: heartbeatInterval(), starting: self.hostID == nil)
            // Listen (or read the version) before reading, so a change made in between is not missed.
            try startChangeFeed(on: connection, registry: registry, at: now)
            let listed = try worktrees(registry, hostID: hostID)
            self.hostID = hostID
            ledger.seed(try registry.storedStates())
            // From here on the connection is shared: the hub's calls and the listener take turns.
            shared.install(connection)
            if changeFeed == .listen {
                listener = try RegistryListener(sharing: shared, check: settings.timeouts.listenerCheck, inbox: inbox, logger: logger)
            }
            connected = true
            listener?.start()
            perform(state.connectSucceeded())
            return listed
        } catch {
            dropConnection()
            perform(state.connectFailed(at: now), error: error)
            return nil
        }
    }

    /// Says once, as an error, that this role may not act for the host it names: its writes
    /// would match no row and look accepted.
    private func checkAuthority(_ registry: Registry) {
        let problem: String?
        do {
            problem = try registry.hostAuthority(named: host.name).problem
        } catch {
            logger.debug("cannot check the role against the host", metadata: ["error": "\(error)"])
            return
        }
        if let problem, problem != hostProblem { logger.error("\(problem)") }
        hostProblem = problem
    }

    /// The connection broke (a statement failed on it, or the listener lost its own).
    package func lost(_ error: any Error, at now: Duration) {
        state.backoff = backoff()
        perform(state.lost(at: now), error: error)
    }

    /// Moves to other database settings (SIGHUP); reconnects at once when they changed.
    /// Refused states are retried at once either way.
    package func reload(_ reloaded: ConnectionSettings, at now: Duration) {
        let changed = reloaded != settings
        if changed {
            logger.notice("database settings changed; reconnecting", metadata: ["pg.target": "\(reloaded.redactedDescription)"])
            settings = reloaded
        }
        perform(state.reload(settingsChanged: changed, at: now))
    }

    /// Runs `body`, the agent's `write`, with the registry and this host's id while connected,
    /// and says which of done / not connected / refused / busy / lost happened. A lost
    /// connection is handled as everywhere else; a statement the server refuses (a missing
    /// grant, a policy) is logged, once per write and distinct message.
    package func withRegistry<T>(_ write: Write, at now: Duration, _ body: (Registry, String) throws -> T) -> RegistryAccess<T> {
        guard connected, let hostID else { return .notConnected }
        do {
            return .done(try shared.withRegistry { try body($0, hostID) })
        } catch let timeout as PostgresError where timeout.isServerTimeout {
            noteBusy(timeout, ids: [], at: now)
            return .busy
        } catch let refusal as PostgresError where refusal.code != .connection {
            noteRefused(write, refusal.description, sqlState: refusal.sqlState)
            return .refused
        } catch {
            lost(error, at: now)
            return .lost
        }
    }

    private var reportedRefusals: Set<String> = []

    /// One warning per write and distinct reason: which write, that its rows stay as they are, why.
    func noteRefused(_ write: Write, _ reason: String, sqlState: String?) {
        guard reportedRefusals.insert(write.rawValue + "\u{0}" + reason).inserted else { return }
        logger.warning(
            "the registry refused a \(write.rawValue); rows stay as they are",
            metadata: ["error": "\(reason)", "pg.sqlstate": "\(sqlState ?? "")", "write": "\(write.rawValue)"])
    }

    /// This host's active worktrees now (after a LISTEN notification or a reload).
    package func activeWorktrees(at now: Duration) -> [RegisteredWorktree]? {
        guard connected, let hostID else { return nil }
        do {
            return try shared.withRegistry { try worktrees($0, hostID: hostID) }
        } catch {
            lost(error, at: now)
            return nil
        }
    }

    private func worktrees(_ registry: Registry, hostID: String) throws -> [RegisteredWorktree] {
        let listing = try host.worktrees(on: registry, hostID: hostID)
        if listing.adopted > 0 {
            logger.notice(
                "adopted worktrees registered before hosts existed",
                metadata: ["host": "\(host.name)", "adopted.count": "\(listing.adopted)"])
        }
        return listing.worktrees
    }

    package func stop() {
        perform(state.stop())
        dropConnection()
    }

    private func dropConnection() {
        listener?.stop()
        listener = nil
        shared.drop()
        connected = false
        changeFeed = .none
    }

    // MARK: States

    package func record(_ update: GitStateUpdate) {
        ledger.record(update)
    }

    package func forget(_ id: String) {
        ledger.forget(id)
        refusedIDs.remove(id)
        edits[id] = nil
    }

    /// Where each edit → row latency is observed (`/metrics`), when metrics are served.
    package var metrics: AgentMetrics?
    /// When the bursts behind pending states began, until the states are committed.
    private var edits: [String: Duration] = [:]

    /// The state just recorded for `id` came from a burst of edits that began at `time`.
    package func noteEdit(_ id: String, at time: Duration) {
        guard metrics != nil, ledger.pending[id] != nil else { return }
        edits[id] = min(edits[id] ?? time, time)
    }

    /// Writes the pending states in one transaction. Only a committed state counts as
    /// written; states the server refuses stay pending and are retried with backoff.
    package func flush(at now: Duration) {
        guard connected, !ledger.pending.isEmpty, !state.writesHeldBack(at: now) else { return }
        refusedIDs = refusedIDs.filter { ledger.pending[$0] != nil }
        let retrying = state.refusedRowsDue(at: now)
        let updates = ledger.pendingUpdates.filter { retrying || !refusedIDs.contains($0.worktreeID) }
        guard !updates.isEmpty else { return }
        let outcome: Registry.WriteOutcome
        do {
            outcome = try shared.withRegistry { try $0.writeChanged(updates) }
        } catch let timeout as PostgresError where timeout.isServerTimeout {
            noteBusy(timeout, ids: updates.map(\.worktreeID), at: now)
            return
        } catch {
            lost(error, at: now)
            return
        }
        noteNotBusy()
        let written = updates.filter { outcome.refused[$0.worktreeID] == nil }
        ledger.committed(written)
        if let metrics {
            for update in written {
                if let edited = edits.removeValue(forKey: update.worktreeID) { metrics.observeEditToRow(now - edited) }
            }
        }
        counters.flushes += 1
        counters.rowsWritten += outcome.changed.count
        if !outcome.changed.isEmpty { counters.lastWrite = Date() }
        logger.debug("wrote", metadata: ["worktree.ids": "\(outcome.changed.joined(separator: ","))"])
        noteRefusals(outcome.refused, written: written, at: now)
    }

    /// One loud line when refusals start, one notice when the registry accepts them again.
    private func noteRefusals(_ refused: [String: WriteRefusal], written: [GitStateUpdate], at now: Duration) {
        refusedIDs.subtract(written.map(\.worktreeID))
        refusedIDs.formUnion(refused.keys)
        state.backoff = backoff()
        guard let first = refused.sorted(by: { $0.key < $1.key }).first?.value else {
            if refusedIDs.isEmpty { perform(state.accepted()) }
            return
        }
        counters.refusedFlushes += 1
        let readOnly = refused.values.contains { $0.sqlState == "25006" }
        perform(state.refused(readOnly: readOnly, at: now), error: first)
    }
}
