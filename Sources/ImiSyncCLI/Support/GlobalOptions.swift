import ArgumentParser
import Foundation
import Logging
import PostgresClient
import RegistryClient
import SyncConfiguration

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL connection (postgresql://… URL or key=value string).",
            discussion: "Overrides IMI_DATABASE_URL. Prefer ~/.pgpass over a password in the URL.",
            valueName: "conninfo"))
    var databaseURL: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Configuration file.", discussion: "Default: $IMI_CONFIG, else $XDG_CONFIG_HOME/imi/config.toml.",
            valueName: "path"),
        completion: .file(extensions: ["toml"]))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "This machine's name in a registry several hosts share.",
            discussion: "Default: $IMI_HOST, else [agent] host in config.toml, else the hostname.",
            valueName: "name"))
    var host: String?

    /// Flags over environment over the config file over defaults.
    func resolvedConfig() throws -> ResolvedConfig {
        try ResolvedConfig.resolve(
            databaseURLFlag: databaseURL, environment: ProcessInfo.processInfo.environment,
            configPathOverride: config, hostFlag: host)
    }

    /// The one logger of this process, writing to standard error.
    func makeLogger() -> Logger {
        LogSetup.bootstrapOnce()
        var logger = Logger(label: "imi-sync")
        logger.logLevel = logLevel
        return logger
    }

    /// The registry, opened the one way (``Registry/open(_:applicationName:checkingSchema:)``)
    /// with the resolved settings.
    func openRegistry(checkingSchema: Bool = true) throws -> Registry {
        try Registry.open(try resolvedConfig().connectionSettings, checkingSchema: checkingSchema)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
