import AgentHub
import Foundation
import LinuxPlatform
import PostgresClient
import RegistryClient
import SyncConfiguration

/// How this host reaches PostgreSQL (straight, or through a transaction pooler), how the
/// agent learns of changes, and whether local mcp sessions go through the agent.
extension DoctorChecks {
    func poolingCheck(_ connection: PostgresConnection, config: ResolvedConfig) -> Doctor.Check {
        let detected: PoolingDetection
        do {
            detected = try connection.detectPooling()
        } catch {
            return .init(name: "pooling", outcome: .failure, detail: "cannot tell how the connection reaches the server: \(error)")
        }
        let configured = config.pooling.value
        let mode = configured == .auto ? detected.mode : configured
        let seen = "detected: \(detected.mode.rawValue) (\(detected.reason))"
        if configured == .direct, detected.mode == .transaction {
            return .init(
                name: "pooling", outcome: .warning,
                detail: "configured as direct (\(config.pooling.source)) but \(seen); LISTEN through a transaction pooler receives nothing")
        }
        guard mode == .transaction else {
            return .init(name: "pooling", outcome: .ok, detail: "direct: the agent listens on its one connection; \(seen)")
        }
        guard let listen = config.listenConnectionSettings else {
            let every = config.sync.versionPollMs.map { "\($0) ms" } ?? "1 s"
            return .init(
                name: "pooling", outcome: .ok,
                detail: "transaction pooling (\(configured == .auto ? seen : "configured")); no listen_url: the agent polls the registry version every \(every)")
        }
        do {
            let direct = try Registry.open(listen, applicationName: "imi-sync doctor", checkingSchema: false).connection
            let found = try direct.detectPooling()
            guard found.mode == .direct else {
                return .init(
                    name: "pooling", outcome: .failure,
                    detail: "listen_url (\(listen.redactedDescription)) goes through a pooler too (\(found.reason)); point it at PostgreSQL itself")
            }
            return .init(
                name: "pooling", outcome: .ok,
                detail: "transaction pooling (\(configured == .auto ? seen : "configured")); the agent listens on listen_url \(listen.redactedDescription)")
        } catch {
            return .init(name: "pooling", outcome: .failure, detail: "listen_url: \(error)")
        }
    }

    /// Whether this host's agent serves the hub socket the mcp sessions look for.
    func hubCheck(config: ResolvedConfig) -> Doctor.Check {
        let path = HubSocket.path(
            directory: RuntimeDirectory.path(environment: ProcessInfo.processInfo.environment), host: config.hostName.value)
        guard let fd = try? UnixSocket.connect(to: path) else {
            return .init(
                name: "agent hub", outcome: .ok,
                detail: "no agent serves \(path) for this user: each mcp session opens its own connection")
        }
        SystemCall.close(fd)
        return .init(name: "agent hub", outcome: .ok, detail: "mcp sessions go through the agent at \(path) (its one connection)")
    }
}
