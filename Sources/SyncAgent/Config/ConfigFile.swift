import Foundation
import TOMLKit

/// `$XDG_CONFIG_HOME/imi/config.toml`, as the plan writes it. Every key is optional.
///
/// ```toml
/// [database]
/// type = "postgresql"
/// url = "postgresql://imi_app@localhost/imi_registry"
/// pool_size = 10
/// connection_timeout = 30
/// reply_timeout_seconds = 10  # run and mcp: an unanswered statement drops the connection
/// lock_timeout_ms = 5000      # run and mcp: per write transaction (SET LOCAL)
/// statement_timeout_ms = 8000
///
/// [database.fallback]
/// enabled = true
/// type = "sqlite"
/// path = "~/.local/share/imi/database.db"
///
/// [maintenance]
/// activity_retention_days = 90
/// inactive_worktree_days = 30
///
/// [sync]                     # imi-sync run; re-read on SIGHUP
/// settle_ms = 60
/// max_delay_ms = 1000
///
/// [agent]
/// host = "laptop"            # this machine's name in a shared registry
///
/// [registry]
/// roots = ["~/code"]         # where scan and run find repositories
/// scan_depth = 6
/// ```
struct ConfigFile: Decodable, Equatable, Sendable {
    init() {}

    struct Database: Decodable, Equatable, Sendable {
        struct Fallback: Decodable, Equatable, Sendable {
            var enabled: Bool?
            var type: String?
            var path: String?
        }

        var type: String?
        var url: String?
        var poolSize: Int?
        var connectionTimeout: Int?
        var replyTimeoutSeconds: Int?
        var lockTimeoutMs: Int?
        var statementTimeoutMs: Int?
        var fallback: Fallback?

        enum CodingKeys: String, CodingKey {
            case type, url, fallback
            case poolSize = "pool_size"
            case connectionTimeout = "connection_timeout"
            case replyTimeoutSeconds = "reply_timeout_seconds"
            case lockTimeoutMs = "lock_timeout_ms"
            case statementTimeoutMs = "statement_timeout_ms"
        }
    }

    struct Maintenance: Decodable, Equatable, Sendable {
        var activityRetentionDays: Int?
        var inactiveWorktreeDays: Int?

        enum CodingKeys: String, CodingKey {
            case activityRetentionDays = "activity_retention_days"
            case inactiveWorktreeDays = "inactive_worktree_days"
        }
    }

    /// The background agent's timings; every value a positive integer.
    struct Sync: Decodable, Equatable, Sendable {
        var settleMs: Int64?
        var maxDelayMs: Int64?
        var heartbeatSeconds: Int64?
        var reconcileSeconds: Int64?
        var pollSeconds: Int64?
        var reconnectCapSeconds: Int64?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case settleMs = "settle_ms"
            case maxDelayMs = "max_delay_ms"
            case heartbeatSeconds = "heartbeat_seconds"
            case reconcileSeconds = "reconcile_seconds"
            case pollSeconds = "poll_seconds"
            case reconnectCapSeconds = "reconnect_cap_seconds"
        }
    }

    /// This machine in a registry several hosts share.
    struct Agent: Decodable, Equatable, Sendable {
        var host: String?
    }

    /// Where `scan` and `run` look for repositories.
    struct Registry: Decodable, Equatable, Sendable {
        var roots: [String]?
        /// How deep below a root repositories are looked for.
        var scanDepth: Int?

        enum CodingKeys: String, CodingKey {
            case roots
            case scanDepth = "scan_depth"
        }
    }

    var database: Database?
    var maintenance: Maintenance?
    var sync: Sync?
    var agent: Agent?
    var registry: Registry?

    /// Parses TOML text; `path` only names the file in errors.
    static func parse(_ text: String, path: String) throws -> ConfigFile {
        do {
            let table = try TOMLTable(string: text)
            // A misspelt key would otherwise be ignored silently.
            let known: [String: Set<String>] = [
                "sync": Set(Sync.CodingKeys.allCases.map(\.rawValue)),
                "agent": ["host"],
                "registry": ["roots", "scan_depth"],
            ]
            for (section, keys) in known.sorted(by: { $0.key < $1.key }) {
                if let unknown = table[section]?.table?.keys.sorted().first(where: { !keys.contains($0) }) {
                    throw ConfigError(
                        "\(path): unknown key \(section).\(unknown) (known: \(keys.sorted().joined(separator: ", ")))")
                }
            }
            return try TOMLDecoder().decode(ConfigFile.self, from: table)
        } catch let error as ConfigError {
            throw error
        } catch let error as TOMLParseError {
            throw ConfigError(
                "\(path):\(error.source.begin.line):\(error.source.begin.column): invalid TOML: \(error.description)")
        } catch {
            throw ConfigError("\(path): unexpected value: \(error)")
        }
    }
}

/// A configuration problem: says which file or variable and what to do.
struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
