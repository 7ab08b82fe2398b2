import Foundation
import Logging
import PostgresClient
import RegistryClient
import Synchronization
import LinuxPlatform

/// What a dashboard is told: something changed, and which rows (a hint; it reads again), or
/// what changed in its documents (a patch, formatted once by `serve` for every stream).
package struct RegistryEvent: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// Git states written (``Registry/stateChannel``): the ids of the rows.
        case state
        /// Worktrees or projects added, moved, (de)activated (``Registry/registryChannel``).
        case registry
        /// Change sets or pair verdicts written (``Registry/overlapChannel``): the worktrees' ids.
        case overlaps
        /// Nothing changed; sent after 5 s without a change, so a stream whose client left is
        /// noticed (and its slot freed) within seconds.
        case keepAlive = "keep-alive"
        /// The documents' rows that changed since the last patch (``frame`` holds the event):
        /// derived from the others, so it does not move ``RegistryFeed/generation``.
        case patch
    }

    package var kind: Kind
    package var ids: [String]
    /// The whole server-sent event when its publisher formatted it (a patch): every stream
    /// writes these bytes instead of formatting its own.
    package var frame: String?

    package init(kind: Kind, ids: [String], frame: String? = nil) {
        self.kind = kind
        self.ids = ids
        self.frame = frame
    }

    /// Changed-row hints (`state`, `registry`, `overlaps`): what a stream of patches is not
    /// sent (and a stream of hints is sent instead of patches).
    package var isHint: Bool { kind == .state || kind == .registry || kind == .overlaps }
}

extension RegistryEvent.Kind {
    /// The kind of a notification on one of the registry's channels.
    package init(channel: String) {
        switch channel {
        case Registry.stateChannel: self = .state
        case Registry.overlapChannel: self = .overlaps
        default: self = .registry
        }
    }
}

/// Every listener's copy of the registry's changes: one LISTEN connection (or, behind a
/// transaction pooler without `listen_url`, a poll of the registry version), fanned out in
/// process to every event stream. A stream is a bounded buffer: a client that stops reading
/// loses old events, never holds up the others (each event only says "read again").
package final class RegistryFeed: @unchecked Sendable {
    private let settings: ConnectionSettings
    private let poll: Duration?
    private let logger: Logger
    private let thread = OwnedThread(name: "imi-sync serve listener")
    private let wake: WakeSignal
    private let state = Mutex(State())
    /// The most streams at once; one more is refused.
    package let maximumStreams: Int

    private struct Stream {
        var continuation: AsyncStream<RegistryEvent>.Continuation
        /// Whether it is sent patches (and keep-alives) instead of the changed-row hints.
        var patches: Bool
    }

    private struct State {
        var streams: [UInt64: Stream] = [:]
        /// In-process observers (``watch()``): not client streams, not counted or limited.
        var watchers: [UInt64: AsyncStream<RegistryEvent>.Continuation] = [:]
        var next: UInt64 = 0
        var stopping = false
        var listening = false
        var delivered = 0
        var generation = 0
    }

    /// `settings` must reach PostgreSQL directly when `poll` is nil (LISTEN); with `poll`, the
    /// registry version is read that often instead.
    package init(settings: ConnectionSettings, poll: Duration?, maximumStreams: Int, logger: Logger) throws {
        self.settings = settings
        self.poll = poll
        self.maximumStreams = maximumStreams
        self.logger = logger
        wake = try WakeSignal()
    }

    package func start() {
        thread.start { [self] in run() }
    }

    package func stop() {
        let streams = state.withLock { state in
            state.stopping = true
            defer { (state.streams, state.watchers) = ([:], [:]) }
            return state.streams.values.map(\.continuation) + state.watchers.values
        }
        for stream in streams { stream.finish() }
        wake.wake()
        thread.join()
    }

    /// A new stream of events, or `nil` when ``maximumStreams`` are open: the changed-row
    /// hints, or with `patches` the patches instead (a page that patches its documents needs
    /// no hints, and a client of hints pays for no patches); keep-alives either way.
    package func subscribe(patches: Bool = false) -> AsyncStream<RegistryEvent>? {
        let (stream, continuation) = AsyncStream.makeStream(of: RegistryEvent.self, bufferingPolicy: .bufferingNewest(64))
        let id: UInt64? = state.withLock { state in
            guard !state.stopping, state.streams.count < maximumStreams else { return nil }
            state.next += 1
            state.streams[state.next] = Stream(continuation: continuation, patches: patches)
            return state.next
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Every change (no keep-alives, no patches), for an observer inside `serve` that acts on
    /// the latest: it keeps one event, so changes that come while it works make one more turn.
    package func watch() -> AsyncStream<RegistryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RegistryEvent.self, bufferingPolicy: .bufferingNewest(1))
        let id: UInt64? = state.withLock { state in
            guard !state.stopping else { return nil }
            state.next += 1
            state.watchers[state.next] = continuation
            return state.next
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Open streams of patches: while there is none, nobody needs patches worked out.
    package var patchStreams: Int { state.withLock { $0.streams.values.count(where: \.patches) } }

    /// Open streams, whether the feed is connected, and events delivered (for `/metrics`).
    package var counts: (streams: Int, listening: Bool, delivered: Int) {
        state.withLock { ($0.streams.count, $0.listening, $0.delivered) }
    }

    /// Moves with every change published (keep-alives aside): what was read before a change
    /// may be stale after it. A cache of documents keys on it.
    package var generation: Int { state.withLock { $0.generation } }

    package func publish(_ event: RegistryEvent) {
        let (streams, watchers) = state.withLock { state in
            if event.isHint { state.generation += 1 }
            let streams = state.streams.values.filter {
                event.kind == .keepAlive || $0.patches == (event.kind == .patch)
            }.map(\.continuation)
            state.delivered += streams.count
            return (streams, event.isHint ? Array(state.watchers.values) : [])
        }
        for stream in streams { stream.yield(event) }
        for watcher in watchers { watcher.yield(event) }
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    /// Connects, listens (or polls), and after a lost connection connects again with backoff.
    private func run() {
        var delay: Duration = .milliseconds(250)
        while !stopping {
            do {
                let connection = try Registry.open(settings, applicationName: "imi-sync serve listener", checkingSchema: false)
                    .connection
                state.withLock { $0.listening = true }
                delay = .milliseconds(250)
                // Whatever happened while nobody listened: every page reads again.
                publish(RegistryEvent(kind: .registry, ids: []))
                if let poll { try pollVersions(connection, every: poll) } else { try listen(connection) }
            } catch {
                state.withLock { $0.listening = false }
                if stopping { return }
                logger.warning("lost the registry feed; reconnecting", metadata: ["error": "\(error)", "retry.in": "\(delay)"])
                _ = try? SystemCall.waitReadable(wake.descriptor, or: nil, timeoutMilliseconds: delay.pollTimeout)
                wake.drain()
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    private func listen(_ connection: PostgresConnection) throws {
        try connection.listen(Registry.stateChannel)
        try connection.listen(Registry.registryChannel)
        try connection.listen(Registry.overlapChannel)
        while !stopping {
            switch try connection.waitForNotifications(timeoutMilliseconds: 5_000, wakeDescriptor: wake.descriptor) {
            case .notifications(let received):
                for notification in received {
                    let kind = RegistryEvent.Kind(channel: notification.channel)
                    let ids = notification.payload.split(separator: ",").map { String($0.split(separator: ":").last ?? "") }
                    publish(RegistryEvent(kind: kind, ids: ids))
                }
            case .woken:
                wake.drain()
            case .timedOut:
                // A silent server or proxy is noticed here, under the reply deadline.
                try connection.execute("SELECT 1")
                publish(RegistryEvent(kind: .keepAlive, ids: []))
            }
        }
    }

    private func pollVersions(_ connection: PostgresConnection, every interval: Duration) throws {
        let registry = Registry(connection: connection)
        var last = try registry.versions()
        var recheck = false
        var polls = 0
        let milliseconds = interval.pollTimeout
        while !stopping {
            if try SystemCall.waitReadable(wake.descriptor, or: nil, timeoutMilliseconds: milliseconds).descriptor {
                wake.drain()
                continue
            }
            let now = try registry.versions()
            // A counter moves before its change commits: read once more a poll later.
            if now.state != last.state || recheck { publish(RegistryEvent(kind: .state, ids: [])) }
            if now.registry != last.registry { publish(RegistryEvent(kind: .registry, ids: [])) }
            recheck = now != last
            last = now
            polls += 1
            if polls % max(1, Int(5_000 / max(1, Int(milliseconds)))) == 0 { publish(RegistryEvent(kind: .keepAlive, ids: [])) }
        }
    }
}
