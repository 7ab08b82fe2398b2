import Foundation
import PostgresClient
import RegistryClient
import SyncConfiguration

/// This machine's place in a registry several hosts share: its `hosts` row, and the worktrees
/// it looks after. Another host's rows are never probed, written or reported missing.
package struct HostScope: Sendable {
    /// The host name (`--host`, `IMI_HOST`, `[agent] host`, the hostname).
    package let name: String
    package var agentVersion: String = BuildVersion.current

    /// Registers (or refreshes) this host; returns its id. A registry that refuses the write
    /// (read-only, or a role without the grant) still yields the id of a host registered before,
    /// so the agent reads on, keeps its states and retries them.
    package func register(on registry: Registry, heartbeat: Duration? = nil, starting: Bool = false) throws -> String {
        do {
            return try registry.registerHost(
                named: name, agentVersion: agentVersion,
                heartbeatSeconds: heartbeat.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) }, starting: starting)
        } catch let refusal as PostgresError where refusal.code != .connection {
            guard let id = try registry.hostID(named: name) else { throw refusal }
            return id
        }
    }

    /// This host's active worktrees, and how many of them it adopted just now. Rows from
    /// before hosts existed are adopted by the first host on which their path exists; one that
    /// exists nowhere here stays unadopted (and is reported missing, as before hosts existed).
    package func worktrees(on registry: Registry, hostID: String) throws -> (worktrees: [RegisteredWorktree], adopted: Int) {
        let listed = try registry.activeWorktrees(host: hostID)
        let adoptable = listed.filter { $0.hostID == nil && FileManager.default.fileExists(atPath: $0.path) }
        guard !adoptable.isEmpty else { return (listed, 0) }
        let adopted: Int
        do {
            adopted = try registry.adopt(adoptable.map(\.id), host: hostID)
        } catch let refusal as PostgresError where refusal.code != .connection {
            return (listed, 0)  // adopted at the next listing the registry accepts
        }
        // Another host may have adopted some meanwhile: read again, keep only ours.
        return (try registry.activeWorktrees(host: hostID), adopted)
    }

    package init(name: String, agentVersion: String = BuildVersion.current) {
        self.name = name
        self.agentVersion = agentVersion
    }
}
