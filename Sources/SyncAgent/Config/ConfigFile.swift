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
///
/// [database.fallback]
/// enabled = true
/// type = "sqlite"
/// path = "~/.local/share/imi/database.db"
///
/// [maintenance]
/// activity_retention_days = 90
/// inactive_worktree_days = 30
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
        var fallback: Fallback?

        enum CodingKeys: String, CodingKey {
            case type, url, fallback
            case poolSize = "pool_size"
            case connectionTimeout = "connection_timeout"
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

    var database: Database?
    var maintenance: Maintenance?

    /// Parses TOML text; `path` only names the file in errors.
    static func parse(_ text: String, path: String) throws -> ConfigFile {
        do {
            let table = try TOMLTable(string: text)
            return try TOMLDecoder().decode(ConfigFile.self, from: table)
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
