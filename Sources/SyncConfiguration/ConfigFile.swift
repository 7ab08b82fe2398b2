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
/// pooling = "auto"            # or "direct", "transaction" (a PgBouncer in transaction mode)
/// listen_url = "postgresql://imi_app@db-host:5432/imi_registry"  # direct, for LISTEN behind a pooler
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
/// settle_ms = 20
/// max_delay_ms = 1000
///
/// [agent]
/// host = "laptop"            # this machine's name in a shared registry
/// metrics_listen = "127.0.0.1:9464"  # run serves Prometheus /metrics here
///
/// [registry]
/// roots = ["~/code"]         # where scan and run find repositories
/// scan_depth = 6
/// ```
package struct ConfigFile: Decodable, Equatable, Sendable {
    package init() {}

    package struct Database: Decodable, Equatable, Sendable {
        package struct Fallback: Decodable, Equatable, Sendable {
            package var enabled: Bool?
            package var type: String?
            package var path: String?
        }

        package var type: String?
        package var url: String?
        package var poolSize: Int?
        package var connectionTimeout: Int?
        package var replyTimeoutSeconds: Int?
        package var lockTimeoutMs: Int?
        package var statementTimeoutMs: Int?
        package var pooling: String?
        package var listenUrl: String?
        package var fallback: Fallback?

        package enum CodingKeys: String, CodingKey {
            case type, url, fallback, pooling
            case listenUrl = "listen_url"
            case poolSize = "pool_size"
            case connectionTimeout = "connection_timeout"
            case replyTimeoutSeconds = "reply_timeout_seconds"
            case lockTimeoutMs = "lock_timeout_ms"
            case statementTimeoutMs = "statement_timeout_ms"
        }
    }

    package struct Maintenance: Decodable, Equatable, Sendable {
        package var activityRetentionDays: Int?
        package var inactiveWorktreeDays: Int?

        package enum CodingKeys: String, CodingKey {
            case activityRetentionDays = "activity_retention_days"
            case inactiveWorktreeDays = "inactive_worktree_days"
        }
    }

    /// The background agent's timings; every value a positive integer.
    package struct Sync: Decodable, Equatable, Sendable {
        package var settleMs: Int64?
        package var maxDelayMs: Int64?
        package var heartbeatSeconds: Int64?
        package var reconcileSeconds: Int64?
        package var pollSeconds: Int64?
        package var reconnectCapSeconds: Int64?
        /// Behind a transaction pooler without listen_url: how often the registry version is read.
        package var versionPollMs: Int64?

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case settleMs = "settle_ms"
            case maxDelayMs = "max_delay_ms"
            case heartbeatSeconds = "heartbeat_seconds"
            case reconcileSeconds = "reconcile_seconds"
            case pollSeconds = "poll_seconds"
            case reconnectCapSeconds = "reconnect_cap_seconds"
            case versionPollMs = "version_poll_ms"
        }
    }

    /// This machine in a registry several hosts share.
    package struct Agent: Decodable, Equatable, Sendable {
        package var host: String?
        /// Where `run` serves `/metrics` (loopback HOST:PORT); off when absent.
        package var metricsListen: String?

        package enum CodingKeys: String, CodingKey {
            case host
            case metricsListen = "metrics_listen"
        }
    }

    /// Where `scan` and `run` look for repositories.
    package struct Registry: Decodable, Equatable, Sendable {
        package var roots: [String]?
        /// How deep below a root repositories are looked for.
        package var scanDepth: Int?

        package enum CodingKeys: String, CodingKey {
            case roots
            case scanDepth = "scan_depth"
        }
    }

    package var database: Database?
    package var maintenance: Maintenance?
    package var sync: Sync?
    package var agent: Agent?
    package var registry: Registry?

    /// Parses TOML text; `path` only names the file in errors.
    package static func parse(_ text: String, path: String) throws -> ConfigFile {
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
package struct ConfigError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
