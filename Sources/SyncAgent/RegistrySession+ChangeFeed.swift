import Foundation
import Logging
import PostgresClient
import RegistryClient
import RegistryEvents

/// How the agent learns of changes others make to the registry (a worktree registered for
/// this host, moved, deactivated).
package enum ChangeFeed: String, Sendable, Equatable {
    /// Not connected.
    case none
    /// LISTEN on the agent's own connection (straight to PostgreSQL).
    case listen
    /// LISTEN on a direct connection of its own (`listen_url`), the main one pooled.
    case listenDirect = "listen-direct"
    /// A poll of the registry version (a transaction pooler and no `listen_url`).
    case poll

    /// For logs, `doctor` and the status line.
    package var phrase: String {
        switch self {
        case .none: "not connected"
        case .listen: "LISTEN on the agent's connection"
        case .listenDirect: "LISTEN on the direct listen_url connection"
        case .poll: "polling the registry version"
        }
    }
}

/// The poll of ``Registry/Versions`` when the agent cannot LISTEN. The version moves before
/// its change commits, so after it moved the registry is read once more a poll later.
struct VersionPoll {
    var interval: Duration = .seconds(1)
    var active = false
    var last: Int64?
    var lastState: Int64?
    var recheck = false
    var recheckState = false
    var nextDeadline: Duration?
}

extension RegistrySession {
    /// Picks how changes are learnt, on the raw connection before it is shared: LISTEN on it
    /// when it goes straight to the server, else on `listen_url`, else a version poll.
    func startChangeFeed(on connection: PostgresConnection, registry: Registry, at now: Duration) throws {
        let detection: PoolingDetection =
            switch poolingSetting {
            case .auto: try connection.detectPooling()
            case .direct: PoolingDetection(mode: .direct, reason: "configured: pooling = \"direct\"")
            case .transaction: PoolingDetection(mode: .transaction, reason: "configured: pooling = \"transaction\"")
            }
        pooling = detection
        poll.active = false
        if detection.mode == .direct {
            try connection.listen(Registry.registryChannel)
            // Git states too: pushed to the sessions that watch through the hub.
            try connection.listen(Registry.stateChannel)
            try connection.listen(Registry.overlapChannel)
            changeFeed = .listen
        } else if let listenSettings {
            listener = try RegistryListener(
                direct: listenSettings.boundedForBackground, inbox: inbox, logger: logger, pushes: pushes)
            changeFeed = .listenDirect
        } else {
            poll.active = true
            let versions = try registry.versions()
            poll.last = versions.registry
            poll.lastState = versions.state
            poll.recheck = false
            poll.nextDeadline = now + poll.interval
            changeFeed = .poll
        }
        logger.info(
            "registry connection ready", metadata: ["pooling": "\(detection.mode.rawValue)", "pooling.reason": "\(detection.reason)",
                                                    "changes": "\(changeFeed.phrase)"])
    }

    /// Reads the registry version when its poll is due; true when the registry should be
    /// read again (it moved now, or moved a poll ago).
    package func pollVersionIfDue(at now: Duration) -> Bool {
        guard connected, poll.active, let due = poll.nextDeadline, now >= due else { return false }
        poll.nextDeadline = now + poll.interval
        let versions: Registry.Versions
        do {
            versions = try shared.withRegistry { try $0.versions() }
        } catch {
            lost(error, at: now)
            return false
        }
        let stateMoved = versions.state != poll.lastState
        if stateMoved || poll.recheckState { pushes.forward(RegistryEvent(kind: .state, ids: [])) }
        poll.recheckState = stateMoved
        poll.lastState = versions.state
        let version = versions.registry
        let moved = version != poll.last
        let changed = moved || poll.recheck
        poll.recheck = moved
        poll.last = version
        if changed { pushes.forward(RegistryEvent(kind: .registry, ids: [])) }
        return changed
    }
}
