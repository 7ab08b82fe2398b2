import ArgumentParser
import Foundation
import GitProbe
import Hummingbird
import Logging
import McpServer
import PostgresClient
import RegistryClient
import RegistryEvents
import RegistryServe
import ServiceLifecycle
import SyncConfiguration
import LinuxPlatform

/// `imi-sync serve`: every host's in-flight work, live, in a browser.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a live dashboard of every host's in-flight work (HTTP, read-only).",
        discussion: """
            The page / shows the in-flight worktrees of every host grouped by project, merged ones \
            folded away, and each project's overlap matrix; it follows the registry live \
            (server-sent events fed by LISTEN/NOTIFY) and works at phone width, in light and dark. \
            JSON: /api/inflight, /api/overlaps, /api/worktrees/ID (the documents of status --json, \
            conflicts --json and get_worktree_state); /events is the event stream. One database \
            connection serves every client, plus one that listens (behind a transaction pooler: \
            [database] listen_url, else a poll of the registry version). Give it a read-only role \
            (imi_sync_serve in deploy/roles.sql). It listens on 127.0.0.1:7341; any other address \
            needs --token-file (mode 600), and every request for data then carries \
            Authorization: Bearer TOKEN (the page asks for it once per browser session).
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Where to listen: HOST:PORT (IPv6 as [ADDR]:PORT).")
    var listen = "127.0.0.1:7341"

    @Option(name: .long, help: "A file (mode 600) holding the token clients must send; required off loopback.")
    var tokenFile: String?

    @Option(name: .long, help: "Event streams open at once; one more is answered 503.")
    var maxStreams = 64

    func run() async throws {
        let logger = global.makeLogger()
        let config = try global.resolvedConfig()
        GitLibrary.initialize()
        let (host, port) = try Self.address(listen)
        let token = try tokenFile.map(Self.readToken)
        guard token != nil || ServeSettings.isLoopback(host) else {
            throw ConfigError("serve: listening on \(host) needs --token-file (a file of mode 600 holding the token); on loopback it is optional")
        }
        let settings = config.backgroundConnectionSettings
        let feed = try RegistryFeed(
            settings: try Self.feedSettings(config, settings: settings), poll: try Self.poll(config, settings: settings),
            maximumStreams: maxStreams, logger: logger)
        let serve = ServeApplication(
            settings: ServeSettings(host: host, port: port, token: token, maximumStreams: maxStreams, hostName: config.hostName.value),
            worker: RegistryWorker(settings: settings), feed: feed, logger: logger)
        let application = serve.application { bound in
            printLineNow("imi-sync serve: http://\(host.contains(":") ? "[\(host)]" : host):\(bound)/")
        }
        feed.start()
        defer { feed.stop() }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: application)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (loopback).
    static func address(_ text: String) throws -> (String, Int) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(after: close)...].dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            throw ValidationError("--listen \(text): give HOST:PORT")
        }
        guard let number = Int(port), (0...65_535).contains(number) else {
            throw ValidationError("--listen \(text): the port must be a number from 0 to 65535")
        }
        return (host.isEmpty ? "127.0.0.1" : String(host), number)
    }

    /// The token, trimmed; refused unless the file is a regular file of this user closed to others.
    static func readToken(_ path: String) throws -> String {
        guard FileKind.of(path) == .regularFile else { throw ConfigError("serve: --token-file \(path) is not a regular file") }
        if let mode = FileKind.permissions(path), mode & 0o077 != 0 {
            throw ConfigError("serve: --token-file \(path) is readable by group or others (mode \(String(mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: \.isNewline) else {
            throw ConfigError("serve: --token-file \(path) must hold one non-empty line")
        }
        return token
    }

    /// Where the feed listens: listen_url behind a pooler, else the registry's own settings.
    static func feedSettings(_ config: ResolvedConfig, settings: ConnectionSettings) throws -> ConnectionSettings {
        try pooled(config, settings: settings) ? (config.listenConnectionSettings ?? settings) : settings
    }

    /// The poll interval when the feed cannot LISTEN (a pooler and no listen_url).
    static func poll(_ config: ResolvedConfig, settings: ConnectionSettings) throws -> Duration? {
        guard try pooled(config, settings: settings), config.listenConnectionSettings == nil else { return nil }
        return .milliseconds(config.sync.versionPollMs ?? 1000)
    }

    static func pooled(_ config: ResolvedConfig, settings: ConnectionSettings) throws -> Bool {
        switch config.pooling.value {
        case .direct: return false
        case .transaction: return true
        case .auto:
            let connection = try Registry.open(settings, applicationName: "imi-sync serve", checkingSchema: true).connection
            return try connection.detectPooling().mode == .transaction
        }
    }
}
