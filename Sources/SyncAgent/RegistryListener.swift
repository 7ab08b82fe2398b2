import Foundation
import Logging
import PostgresClient
import RegistryClient
import Synchronization
import LinuxPlatform

/// Waits for the registry-change channel's notifications on a thread of its own, on a
/// connection it shares: the agent's own (``SharedConnection``: it only waits for the socket
/// and reads in its turn), or, behind a transaction pooler, a direct one of its own
/// (`[database] listen_url`).
///
/// It never reconnects by itself: when the connection breaks it posts `.listenerLost` and ends,
/// and the agent, which owns the backoff and the clock, connects again.
///
/// A listening connection only waits, so a server or proxy that goes silent without closing
/// would never be noticed: after ``ConnectionTimeouts/listenerCheck`` without a message it
/// asks `SELECT 1` under the reply deadline, and a missing answer is a lost listener.
package final class RegistryListener: @unchecked Sendable {
    private let wake: WakeSignal
    private let thread = OwnedThread(name: "imi-sync listener")
    private let stopping = Mutex(false)

    private let connection: SharedConnection
    private let check: Duration
    private let inbox: Inbox
    private let logger: Logger

    /// Waits on `connection`, which must already LISTEN. Inert until ``start()``.
    package init(sharing connection: SharedConnection, check: Duration, inbox: Inbox, logger: Logger) throws {
        wake = try WakeSignal()
        self.connection = connection
        self.check = check
        self.inbox = inbox
        self.logger = logger
    }

    /// Opens a direct connection of its own (`[database] listen_url`) and listens there.
    package convenience init(direct settings: ConnectionSettings, inbox: Inbox, logger: Logger, pushes: EventForwarding? = nil) throws {
        let posting = Self.posting(to: inbox, logger: logger)
        let own = SharedConnection(onNotifications: { received in
            posting(received)
            pushes?.forward(received)
        })
        let connection = try Registry.open(settings, applicationName: "imi-sync listener", checkingSchema: false).connection
        try connection.listen(Registry.registryChannel)
        if pushes != nil {
            try connection.listen(Registry.stateChannel)
            try connection.listen(Registry.overlapChannel)
        }
        own.install(connection)
        try self.init(sharing: own, check: settings.timeouts.listenerCheck, inbox: inbox, logger: logger)
    }

    /// What a connection does with notifications that reached it: one `.registryChanged`.
    package static func posting(to inbox: Inbox, logger: Logger) -> @Sendable ([PostgresNotification]) -> Void {
        { received in
            let changes = received.filter { $0.channel == Registry.registryChannel }
            guard !changes.isEmpty else { return }
            logger.debug("registry changed", metadata: ["registry.changes": "\(changes.map(\.payload))"])
            inbox.post(.registryChanged)
        }
    }

    /// Starts the listening thread (once).
    package func start() {
        thread.start { [self] in listen() }
    }

    private func listen() {
        var checkAt = ContinuousClock.now + check
        while !stopping.withLock({ $0 }) {
            do {
                let remaining = checkAt - .now
                guard let socket = connection.socket else {
                    throw PostgresError(.connection, "the listening connection was closed")
                }
                if remaining <= .zero {
                    try connection.with { try $0.execute("SELECT 1") }
                    checkAt = .now + check
                    continue
                }
                let ready = try SystemCall.waitReadable(
                    socket, or: wake.descriptor, timeoutMilliseconds: remaining.pollTimeout)
                if ready.other { wake.drain() }
                if ready.descriptor {
                    // Anything the server sent proves it is there; notifications go to the inbox.
                    try connection.receive()
                    checkAt = .now + check
                }
            } catch {
                if !stopping.withLock({ $0 }) { inbox.post(.listenerLost("\(error)")) }
                return
            }
        }
    }

    /// Stops the thread (if it was started) and returns once it is done.
    package func stop() {
        stopping.withLock { $0 = true }
        wake.wake()
        thread.join()
    }
}
