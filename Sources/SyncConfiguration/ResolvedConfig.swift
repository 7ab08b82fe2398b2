import Foundation
import PostgresClient
import LegacyMigration
import RegistryClient
import LinuxPlatform

/// Settings after layering: command-line flags over environment over the config file over
/// built-in defaults. Each value remembers where it came from, for `imi-sync config`.
package struct ResolvedConfig: Sendable {
    package struct Setting<Value: Sendable>: Sendable {
        package var value: Value
        package var source: String

        package init(value: Value, source: String) {
            self.value = value
            self.source = source
        }
    }

    package var configPath: String
    package var configFileFound: Bool
    /// Why no settings came from the file, when none did ("not found", "/dev/null").
    package var configFileNote: String?
    package var databaseType: Setting<String>
    /// `nil` means libpq's defaults (PG* variables, local socket, ~/.pgpass).
    package var databaseURL: Setting<String?>
    package var poolSize: Setting<Int>
    package var connectionTimeout: Setting<Int>
    /// The bounds of the agent's and mcp's connections (``ConnectionTimeouts``): seconds for
    /// a statement's answer, milliseconds for `lock_timeout` and `statement_timeout`.
    package var replyTimeoutSeconds: Setting<Int>
    package var lockTimeoutMs: Setting<Int>
    package var statementTimeoutMs: Setting<Int>
    package var fallbackEnabled: Setting<Bool>
    /// Whether the database is reached through a transaction pooler (``PoolingMode``):
    /// `IMI_DATABASE_POOLING`, `[database] pooling`, default `auto` (detected).
    package var pooling: Setting<PoolingMode>
    /// A direct connection for LISTEN when the main one goes through a transaction pooler:
    /// `IMI_DATABASE_LISTEN_URL`, `[database] listen_url`; without it a pooled agent polls.
    package var listenURL: Setting<String?>
    /// The legacy SQLite registry (`[database.fallback] path`, else the XDG data path).
    package var legacyPath: Setting<String>
    package var activityRetentionDays: Setting<Int>
    package var inactiveWorktreeDays: Setting<Int>
    /// `[sync]` as the file gives it (the agent applies its own defaults and flags).
    package var sync: ConfigFile.Sync
    /// This machine's name in the registry: `--host`, `IMI_HOST`, `[agent] host`, the hostname.
    package var hostName: Setting<String>
    /// Where repositories are looked for: arguments (given to `scan`), `[registry] roots`,
    /// `IMI_SYSTEM_PATHS` (`:` or `;` separated, as iMi used it), `~/code`.
    package var roots: Setting<[String]>
    /// How deep below a root `scan` looks (`[registry] scan_depth`, default 6).
    package var scanDepth: Setting<Int>
    /// Where `run` serves `/metrics`: `IMI_METRICS_LISTEN`, `[agent] metrics_listen`; off when `nil`.
    package var metricsListen: Setting<String?>

    package var connectionSettings: ConnectionSettings {
        ConnectionSettings(
            conninfo: databaseURL.value ?? "", origin: databaseURL.source,
            connectTimeout: connectionTimeout.value)
    }

    /// The settings for long-running connections (`run`, `mcp`), with the configured bounds;
    /// one-shot commands use ``connectionSettings`` and wait as long as a statement takes.
    package var backgroundConnectionSettings: ConnectionSettings {
        var settings = connectionSettings
        settings.timeouts.reply = .seconds(replyTimeoutSeconds.value)
        settings.timeouts.lock = .milliseconds(lockTimeoutMs.value)
        settings.timeouts.statement = .milliseconds(statementTimeoutMs.value)
        return settings
    }

    /// The direct connection for LISTEN, with the background bounds, when one is configured.
    package var listenConnectionSettings: ConnectionSettings? {
        guard let url = listenURL.value else { return nil }
        var settings = backgroundConnectionSettings
        settings.conninfo = url
        settings.origin = listenURL.source
        return settings
    }

    /// Layers the sources. Throws ``ConfigError`` for an unreadable or invalid file, a
    /// password in a file others can read, or a database type imi-sync cannot serve.
    package static func resolve(
        databaseURLFlag: String?,
        environment: [String: String],
        configPathOverride: String? = nil,
        hostFlag: String? = nil
    ) throws -> ResolvedConfig {
        let paths = XDGPaths(environment: environment)
        let environmentPath = environment["IMI_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let explicitSource = configPathOverride != nil ? "--config" : environmentPath != nil ? "IMI_CONFIG" : nil
        let configPath = configPathOverride ?? environmentPath ?? paths.configFile
        let fileSource = "config file \(configPath)"
        var file = ConfigFile()
        var found = false
        var note: String?
        switch FileKind.of(configPath) {
        case .missing, .danglingLink:
            // The default file is optional; one named explicitly must be there.
            if let explicitSource {
                throw ConfigError("config file \(configPath) (from \(explicitSource)) does not exist")
            }
            note = "not found"
        case .regularFile:
            guard FileKind.isReadable(configPath) else {
                throw ConfigError("cannot read config file \(configPath): permission denied")
            }
            let text: String
            do {
                text = try String(contentsOfFile: configPath, encoding: .utf8)
            } catch {
                throw ConfigError("cannot read config file \(configPath): \(error.localizedDescription)")
            }
            file = try ConfigFile.parse(text, path: configPath)
            try refuseReadablePassword(in: file, at: configPath)
            found = true
        case .characterDevice where configPath == "/dev/null":
            note = "a character device, read as empty"
        case let kind:
            throw ConfigError("config file \(configPath) is \(kind.phrase), not a file; pass a TOML file or /dev/null for none")
        }
        let database = file.database

        func layered<Value>(
            flag: (Value?, String)? = nil, env: (Value?, String)? = nil, file fileValue: Value?,
            default defaultValue: Value
        ) -> Setting<Value> {
            if let flag, let value = flag.0 { return Setting(value: value, source: flag.1) }
            if let env, let value = env.0 { return Setting(value: value, source: env.1) }
            if let fileValue { return Setting(value: fileValue, source: fileSource) }
            return Setting(value: defaultValue, source: "default")
        }
        let nonEmpty: (String?) -> String? = { $0.flatMap { $0.isEmpty ? nil : $0 } }

        let type = layered(
            env: (nonEmpty(environment["IMI_DATABASE_TYPE"]), "IMI_DATABASE_TYPE"),
            file: database?.type, default: "postgresql")
        guard ["postgresql", "postgres"].contains(type.value.lowercased()) else {
            throw ConfigError(
                "database type is \"\(type.value)\" (from \(type.source)): imi-sync keeps a PostgreSQL "
                    + "registry; set type = \"postgresql\" (the SQLite file belongs in [database.fallback])")
        }
        let url: Setting<String?> = {
            if let flag = nonEmpty(databaseURLFlag) { return Setting(value: flag, source: "--database-url") }
            if let env = nonEmpty(environment["IMI_DATABASE_URL"]) {
                return Setting(value: env, source: "IMI_DATABASE_URL")
            }
            if let url = nonEmpty(database?.url) { return Setting(value: url, source: fileSource) }
            return Setting(value: nil, source: "libpq defaults (PG* variables, local socket, ~/.pgpass)")
        }()
        let pooling = layered(
            env: (nonEmpty(environment["IMI_DATABASE_POOLING"]), "IMI_DATABASE_POOLING"),
            file: database?.pooling, default: PoolingMode.auto.rawValue)
        guard let poolingMode = PoolingMode(rawValue: pooling.value.lowercased()) else {
            throw ConfigError(
                "database pooling is \"\(pooling.value)\" (from \(pooling.source)); use "
                    + PoolingMode.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        }
        let listenURL: Setting<String?> = {
            if let env = nonEmpty(environment["IMI_DATABASE_LISTEN_URL"]) {
                return Setting(value: env, source: "IMI_DATABASE_LISTEN_URL")
            }
            if let url = nonEmpty(database?.listenUrl) { return Setting(value: url, source: fileSource + " listen_url") }
            return Setting(value: nil, source: "not set")
        }()
        let legacy: Setting<String> =
            if let path = database?.fallback?.path.map(paths.expandingTilde) {
                Setting(value: path, source: fileSource + " [database.fallback] path")
            } else {
                Self.defaultLegacyRegistry(environment: environment)
            }
        return ResolvedConfig(
            configPath: configPath,
            configFileFound: found,
            configFileNote: note,
            databaseType: type,
            databaseURL: url,
            poolSize: layered(file: database?.poolSize, default: 10),
            connectionTimeout: layered(file: database?.connectionTimeout, default: 10),
            replyTimeoutSeconds: try positive(
                "database.reply_timeout_seconds", database?.replyTimeoutSeconds, fileSource: fileSource,
                default: Int(ConnectionTimeouts.background.reply!.components.seconds)),
            lockTimeoutMs: try positive(
                "database.lock_timeout_ms", database?.lockTimeoutMs, fileSource: fileSource,
                default: Int(ConnectionTimeouts.background.lock!.components.seconds * 1000)),
            statementTimeoutMs: try positive(
                "database.statement_timeout_ms", database?.statementTimeoutMs, fileSource: fileSource,
                default: Int(ConnectionTimeouts.background.statement!.components.seconds * 1000)),
            fallbackEnabled: layered(file: database?.fallback?.enabled, default: false),
            pooling: Setting(value: poolingMode, source: pooling.source),
            listenURL: listenURL,
            legacyPath: legacy,
            activityRetentionDays: layered(file: file.maintenance?.activityRetentionDays, default: 90),
            inactiveWorktreeDays: layered(file: file.maintenance?.inactiveWorktreeDays, default: 30),
            sync: file.sync ?? ConfigFile.Sync(),
            hostName: try hostName(flag: hostFlag, environment: environment, file: file.agent?.host, fileSource: fileSource),
            roots: roots(environment: environment, file: file.registry?.roots, fileSource: fileSource, paths: paths),
            scanDepth: try scanDepth(file: file.registry?.scanDepth, fileSource: fileSource),
            metricsListen: {
                if let env = nonEmpty(environment["IMI_METRICS_LISTEN"]) { return Setting(value: env, source: "IMI_METRICS_LISTEN") }
                if let listen = nonEmpty(file.agent?.metricsListen) { return Setting(value: listen, source: fileSource + " [agent] metrics_listen") }
                return Setting(value: nil, source: "off")
            }())
    }

    package static func hostName(
        flag: String?, environment: [String: String], file: String?, fileSource: String
    ) throws -> Setting<String> {
        let candidates: [(String?, String)] = [
            (flag, "--host"), (environment["IMI_HOST"], "IMI_HOST"), (file, fileSource + " [agent] host"),
            (machineHostName(), "the machine's hostname"),
        ]
        for (value, source) in candidates {
            guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { continue }
            guard value.count <= 253, !value.contains(where: { $0.isNewline || $0 == "\u{0}" }) else {
                throw ConfigError("host name from \(source) is not usable: give 1 to 253 characters on one line")
            }
            return Setting(value: value, source: source)
        }
        throw ConfigError("this machine has no host name; set one with --host, IMI_HOST or [agent] host in config.toml")
    }

    package static func roots(
        environment: [String: String], file: [String]?, fileSource: String, paths: XDGPaths
    ) -> Setting<[String]> {
        if let file, !file.isEmpty {
            return Setting(value: file.map(paths.expandingTilde), source: fileSource + " [registry] roots")
        }
        if let value = environment["IMI_SYSTEM_PATHS"], !value.isEmpty {
            let roots = value.split(whereSeparator: { $0 == ":" || $0 == ";" }).map { paths.expandingTilde(String($0)) }
            if !roots.isEmpty { return Setting(value: roots, source: "IMI_SYSTEM_PATHS") }
        }
        return Setting(value: [paths.home + "/code"], source: "default")
    }

    /// A bound from the file, which must be a positive integer, or its default.
    package static func positive(_ key: String, _ file: Int?, fileSource: String, default value: Int) throws -> Setting<Int> {
        guard let file else { return Setting(value: value, source: "default") }
        guard file > 0 else { throw ConfigError("\(fileSource): \(key) must be a positive integer, got \(file)") }
        return Setting(value: file, source: fileSource)
    }

    package static func scanDepth(file: Int?, fileSource: String) throws -> Setting<Int> {
        guard let file else { return Setting(value: 6, source: "default") }
        guard (1...32).contains(file) else {
            throw ConfigError("\(fileSource): registry.scan_depth must be between 1 and 32, got \(file)")
        }
        return Setting(value: file, source: fileSource)
    }

    /// The first default legacy location that exists (the plan's path, then iMi's own
    /// `~/.config/iMi/iMi.db`); the plan's path when neither does.
    package static func defaultLegacyRegistry(environment: [String: String]) -> Setting<String> {
        let candidates = LegacyRegistry.defaultCandidates(environment: environment)
        if let found = candidates.first(where: { FileKind.of($0) != .missing }) {
            return Setting(value: found, source: "default (found; looked at \(candidates.joined(separator: ", ")))")
        }
        return Setting(value: candidates[0], source: "default (not found; looked at \(candidates.joined(separator: ", ")))")
    }

    /// A password in a file that group or others can read is refused, with the fix.
    private static func refuseReadablePassword(in file: ConfigFile, at path: String) throws {
        let urls = [file.database?.url, file.database?.listenUrl].compactMap { $0 }
        guard urls.contains(where: { ConnectionSettings(conninfo: $0, origin: "config file").containsPassword })
        else { return }
        guard let mode = FileKind.permissions(path) else { return }
        if mode & 0o077 != 0 {
            throw ConfigError(
                "refusing \(path): it holds a database password and is readable by group or others "
                    + "(mode \(String(mode & 0o777, radix: 8))); run: chmod 600 \(path)  "
                    + "(better: move the password to ~/.pgpass)")
        }
    }
}

/// The XDG base directories imi uses.
package struct XDGPaths: Sendable {
    package var home: String
    package var configHome: String
    package var dataHome: String

    package init(environment: [String: String]) {
        home = environment["HOME"] ?? NSHomeDirectory()
        configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
        dataHome = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.local/share"
    }

    package var configFile: String { configHome + "/imi/config.toml" }

    package func expandingTilde(_ path: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }
}
