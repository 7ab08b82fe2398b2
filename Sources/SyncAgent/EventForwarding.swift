import Foundation
import PostgresClient
import RegistryClient
import RegistryEvents
import Synchronization

/// Where the agent hands the registry's changes it hears of (its LISTEN, or its version poll)
/// for the local sessions that watch through the hub. Set once the hub runs; until then, and
/// without a hub, changes go nowhere.
package final class EventForwarding: Sendable {
    private let target = Mutex<(@Sendable (RegistryEvent) -> Void)?>(nil)

    package init() {}

    package func send(to target: @escaping @Sendable (RegistryEvent) -> Void) {
        self.target.withLock { $0 = target }
    }

    package func forward(_ event: RegistryEvent) {
        target.withLock { $0 }?(event)
    }

    /// The notifications of either channel, as events (a payload's ids, `table:` prefixes dropped).
    package func forward(_ received: [PostgresNotification]) {
        guard let target = target.withLock({ $0 }) else { return }
        for notification in received {
            guard [Registry.stateChannel, Registry.registryChannel, Registry.overlapChannel].contains(notification.channel)
            else { continue }
            let kind = RegistryEvent.Kind(channel: notification.channel)
            let ids = notification.payload.split(separator: ",").map { String($0.split(separator: ":").last ?? "") }
            target(RegistryEvent(kind: kind, ids: ids))
        }
    }
}
