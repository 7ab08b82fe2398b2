import ArgumentParser
import Foundation
import RegistryDocuments
import SyncConfiguration

/// `imi-sync config`: the resolved settings, where each came from, passwords masked.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the resolved configuration and where each value came from.",
        discussion: """
            Order of precedence: command-line flags, then environment (IMI_DATABASE_URL, \
            IMI_DATABASE_TYPE), then $XDG_CONFIG_HOME/imi/config.toml, then defaults. Passwords \
            are shown as ****. A config file holding a password is refused unless only its \
            owner can read it (chmod 600); ~/.pgpass or peer authentication is the better home.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func run() throws {
        let resolved: ResolvedConfig
        resolved = try global.resolvedConfig()
        let rows = Self.rows(resolved)
        if json {
            print(JSONOutput.render(Document(
                configFile: resolved.configPath, configFileFound: resolved.configFileFound,
                configFileNote: resolved.configFileNote,
                settings: rows.map { Document.Setting(key: $0.key, value: $0.value, source: $0.source) })))
            return
        }
        print("config file: \(resolved.configPath)\(resolved.configFileNote.map { " (\($0))" } ?? "")")
        var table = TextTable(headers: ["SETTING", "VALUE", "SOURCE"])
        table.rows = rows.map { [$0.key, $0.value ?? "(libpq defaults)", $0.source] }
        print(table.render())
    }

    /// `config --json`.
    struct Document: Encodable {
        struct Setting: Encodable {
            var key: String
            @NullWhenAbsent var value: String?
            var source: String
        }

        var configFile: String
        var configFileFound: Bool
        @NullWhenAbsent var configFileNote: String?
        var settings: [Setting]
    }

    /// Every setting as (key, display value with passwords masked, source).
    static func rows(_ config: ResolvedConfig) -> [(key: String, value: String?, source: String)] {
        [
            ("database.type", config.databaseType.value, config.databaseType.source),
            ("database.url", config.databaseURL.value.map { _ in config.connectionSettings.maskedConninfo },
             config.databaseURL.source),
            ("database.target", config.connectionSettings.redactedDescription, "derived"),
            ("database.pool_size", String(config.poolSize.value), config.poolSize.source + " (imi-sync uses one connection)"),
            ("database.connection_timeout", String(config.connectionTimeout.value), config.connectionTimeout.source),
            ("database.reply_timeout_seconds", String(config.replyTimeoutSeconds.value),
             config.replyTimeoutSeconds.source + " (run and mcp)"),
            ("database.lock_timeout_ms", String(config.lockTimeoutMs.value), config.lockTimeoutMs.source + " (run and mcp)"),
            ("database.statement_timeout_ms", String(config.statementTimeoutMs.value),
             config.statementTimeoutMs.source + " (run and mcp)"),
            ("database.pooling", config.pooling.value.rawValue, config.pooling.source),
            ("database.listen_url", config.listenConnectionSettings?.maskedConninfo, config.listenURL.source),
            ("database.fallback.enabled", String(config.fallbackEnabled.value),
             config.fallbackEnabled.source + " (true: `run` imports what the old CLI adds to the legacy file)"),
            ("database.fallback.path", config.legacyPath.value, config.legacyPath.source),
            ("maintenance.activity_retention_days", String(config.activityRetentionDays.value),
             config.activityRetentionDays.source),
            ("maintenance.inactive_worktree_days", String(config.inactiveWorktreeDays.value),
             config.inactiveWorktreeDays.source),
            ("agent.host", config.hostName.value, config.hostName.source),
            ("registry.roots", config.roots.value.joined(separator: ", "), config.roots.source),
            ("registry.scan_depth", String(config.scanDepth.value), config.scanDepth.source),
        ] + syncRows(config)
    }

    /// `[sync]` values the file sets; the agent's defaults apply to the rest.
    static func syncRows(_ config: ResolvedConfig) -> [(key: String, value: String?, source: String)] {
        let sync = config.sync
        let values: [(ConfigFile.Sync.CodingKeys, Int64?)] = [
            (.settleMs, sync.settleMs), (.maxDelayMs, sync.maxDelayMs),
            (.heartbeatSeconds, sync.heartbeatSeconds), (.reconcileSeconds, sync.reconcileSeconds),
            (.pollSeconds, sync.pollSeconds), (.reconnectCapSeconds, sync.reconnectCapSeconds),
            (.versionPollMs, sync.versionPollMs),
        ]
        return values.map { key, value in
            ("sync.\(key.rawValue)", value.map(String.init) ?? "(agent default)",
             value == nil ? "default" : "config file \(config.configPath)")
        }
    }
}
