import Foundation
import PostgresClient
import RegistryClient

/// The agent's one connection to the registry, used in turn by the loop (writes, heartbeats,
/// reads), by the local mcp sessions' calls that come through the hub, and by the listening
/// thread (which only reads what arrived). One holder at a time; libpq is not thread-safe per
/// connection, and a turn is one statement or one transaction, so nobody waits long.
///
/// A notification can arrive while a turn runs (libpq queues it while it reads the answer):
/// each turn ends by handing what libpq queued to ``onNotifications``, so none waits for the
/// socket's next message.
package final class SharedConnection: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var connection: PostgresConnection?
    /// Why the connection broke during a turn (any thread's), until the agent drops it.
    private var broken: PostgresError?
    /// Called (under the lock, so keep it short: post to an inbox) with what arrived.
    private let onNotifications: @Sendable ([PostgresNotification]) -> Void

    package init(onNotifications: @escaping @Sendable ([PostgresNotification]) -> Void) {
        self.onNotifications = onNotifications
    }

    /// Starts using `connection` (a new session after a reconnect).
    package func install(_ connection: PostgresConnection) {
        lock.withLock {
            self.connection = connection
            broken = nil
        }
    }

    /// Stops using the connection; the next turn throws "not connected".
    package func drop() {
        lock.withLock {
            connection = nil
            broken = nil
        }
    }

    /// Why a turn found the connection lost since it was installed, once; the agent loop asks
    /// at every step, so a loss seen by a hub call reconnects the agent too.
    package func takeBroken() -> PostgresError? {
        lock.withLock {
            defer { broken = nil }
            return broken
        }
    }

    package var isConnected: Bool { lock.withLock { connection != nil } }

    /// Runs `body` with the connection, alone. Throws ``PostgresError/Code/connection`` when
    /// there is none (the agent is reconnecting).
    package func with<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try lock.withLock {
            guard let connection else {
                throw PostgresError(.connection, "the agent has no registry connection right now (it is reconnecting)")
            }
            if let broken { throw broken }
            defer { handOver(connection) }
            do {
                return try body(connection)
            } catch let lost as PostgresError where lost.code == .connection {
                broken = lost
                throw lost
            }
        }
    }

    /// Runs `body` with a ``Registry`` on the connection, alone.
    package func withRegistry<T>(_ body: (Registry) throws -> T) throws -> T {
        try with { try body(Registry(connection: $0)) }
    }

    /// The socket to wait on for notifications, while connected.
    package var socket: Int32? {
        lock.withLock { connection.flatMap { $0.socketDescriptor } }
    }

    /// Reads what the socket holds (never waits) and hands the notifications over. Throws
    /// when the connection is lost.
    package func receive() throws {
        try with { try $0.consumeInput() }
    }

    private func handOver(_ connection: PostgresConnection) {
        let queued = connection.queuedNotifications()
        if !queued.isEmpty { onNotifications(queued) }
    }
}
