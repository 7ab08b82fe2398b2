import Foundation
import Logging
import PostgresClient
import RegistryClient
import Synchronization
import LinuxPlatform

/// Listens on the registry-change channel on its own connection and thread.
///
/// It never reconnects by itself: when the connection breaks it posts `.listenerLost` and ends,
/// and the agent, which owns the backoff and the clock, starts a new one with the database.
///
/// A listening connection only waits, so a server or proxy that goes silent without closing
/// would never be noticed: after ``ConnectionTimeouts/listenerCheck`` without a notification
/// it asks `SELECT 1` under the reply deadline, and a missing answer is a lost listener.
package final class RegistryListener: @unchecked Sendable {
    private let wake: WakeSignal
    private let thread = OwnedThread(name: "imi-sync listener")
    private let stopping = Mutex(false)

    private let connection: ConnectionBox
    private let check: Duration
    private let inbox: Inbox
    private let logger: Logger

    /// Connects and sends LISTEN (so no change made from here on is missed); throws when the
    /// connection or LISTEN fails. Inert until ``start()``.
    package init(settings: ConnectionSettings, inbox: Inbox, logger: Logger) throws {
        let connection = try Registry.open(settings, applicationName: "imi-sync listener", checkingSchema: false).connection
        try connection.listen(Registry.registryChannel)
        wake = try WakeSignal()
        self.connection = ConnectionBox(connection)
        self.check = settings.timeouts.listenerCheck
        self.inbox = inbox
        self.logger = logger
    }

    /// Starts the listening thread (once).
    package func start() {
        thread.start { [self] in listen() }
    }

    private func listen() {
        let box = connection
        var checkAt = ContinuousClock.now + check
        while true {
            if stopping.withLock({ $0 }) { return }
            do {
                let remaining = checkAt - .now
                if remaining <= .zero {
                    try box.connection.execute("SELECT 1")
                    checkAt = .now + check
                    continue
                }
                let wait = try box.connection.waitForNotifications(
                    timeoutMilliseconds: Self.milliseconds(remaining), wakeDescriptor: wake.descriptor)
                switch wait {
                case .notifications(let received):
                    checkAt = .now + check
                    logger.debug("registry changed", metadata: ["registry.changes": "\(received.map(\.payload))"])
                    inbox.post(.registryChanged)
                case .woken:
                    wake.drain()
                case .timedOut:
                    continue
                }
            } catch {
                if !stopping.withLock({ $0 }) { inbox.post(.listenerLost("\(error)")) }
                return
            }
        }
    }

    /// `duration` as a poll timeout, rounded up so the wait never ends just short of it.
    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// Stops the thread (if it was started) and returns once it is done; the connection is
    /// closed with the listener.
    package func stop() {
        stopping.withLock { $0 = true }
        wake.wake()
        thread.join()
    }
}

/// The listening connection, handed to the one thread that uses it.
private final class ConnectionBox: @unchecked Sendable {
    package let connection: PostgresConnection
    package init(_ connection: PostgresConnection) { self.connection = connection }
}
