import Foundation
import Logging
import PostgresClient
import RegistryClient
import Synchronization

/// Listens on the registry-change channel on its own connection and thread.
///
/// It never reconnects by itself: when the connection breaks it posts `.listenerLost` and ends,
/// and the agent, which owns the backoff and the clock, starts a new one with the database.
final class RegistryListener: @unchecked Sendable {
    private let wake: WakeSignal
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Mutex(false)

    /// Connects and starts listening; throws when the connection or LISTEN fails.
    init(settings: ConnectionSettings, inbox: Inbox, logger: Logger) throws {
        let connection = try PostgresConnection(settings: settings, applicationName: "imi-sync listener")
        try connection.listen(Registry.registryChannel)
        wake = try WakeSignal()
        let box = ConnectionBox(connection)
        let thread = Thread { [self] in
            defer { finished.signal() }
            while true {
                if stopping.withLock({ $0 }) { return }
                do {
                    switch try box.connection.waitForNotifications(wakeDescriptor: wake.descriptor) {
                    case .notifications(let received):
                        logger.debug(
                            "registry changed", metadata: ["registry.changes": "\(received.map(\.payload))"])
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
        thread.name = "imi-sync listener"
        thread.start()
    }

    /// Stops the thread and closes the connection; returns once both are done.
    func stop() {
        stopping.withLock { $0 = true }
        wake.wake()
        finished.wait()
    }
}

/// The listening connection, handed to the one thread that uses it.
private final class ConnectionBox: @unchecked Sendable {
    let connection: PostgresConnection
    init(_ connection: PostgresConnection) { self.connection = connection }
}
