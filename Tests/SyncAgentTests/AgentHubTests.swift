import Foundation
import Logging
import MCP
import PostgresClient
import RegistryClient
import Synchronization
import TestSupport
import Testing

@testable import AgentHub
@testable import LinuxPlatform
@testable import McpServer
@testable import SyncAgent
@testable import WorktreeMembership

/// One PostgreSQL connection per host: the agent's, shared by its writes, its LISTEN and the
/// host's mcp sessions, which reach it through the hub socket and fall back to a connection
/// of their own only while no agent serves it.
@Suite("The agent's hub: mcp sessions on the agent's one connection", .serialized, .ownThreads)
struct AgentHubTests {
    let fixture: GitFixture

    init() throws {
        fixture = try GitFixture()
    }

    /// A fresh runtime directory of this user, mode 700, as systemd makes `$XDG_RUNTIME_DIR`.
    static func runtimeDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hub-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return path
    }

    /// An mcp session as `imi-sync mcp` builds it: the router, and the worker it falls back to.
    static func session(hub: String, settings: ConnectionSettings, host: String = HostScope.forTests.name)
        -> (router: McpRouter, own: RegistryWorker)
    {
        let own = RegistryWorker(settings: settings)
        let tools = McpTools(worker: own, hostName: host, logger: Logger(label: "test-mcp"), workingDirectory: nil)
        return (McpRouter(local: tools, ownWorker: own, hubPath: hub, host: host, database: settings.redactedDescription), own)
    }

    /// Client connections to the test's database other than the test's own.
    static func serverConnections(_ registry: RegistrySeeder) throws -> Int {
        try registry.connection.execute(
            """
            SELECT count(*)::int FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
            """).decode(0, 0)
    }

    static func text(_ result: CallTool.Result) -> String {
        result.content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined()
    }

    static func json(_ result: CallTool.Result) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text(result).utf8)) as? [String: Any])
    }

    @Test("three mcp sessions answer through the agent: the database sees one connection, theirs none")
    func sessionsShareTheAgentsConnection() async throws {
        let (registry, project, trunkID) = try RegistrySeeder.withTrunk(of: "hub", in: fixture)
        let hub = HubSocket.path(directory: try Self.runtimeDirectory(), host: HostScope.forTests.name)
        try await withRunningAgent(RunningAgent(settings: registry.settings, hubPath: hub)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            let sessions = (0..<3).map { _ in Self.session(hub: hub, settings: registry.settings) }
            for session in sessions {
                let answer = await session.router.call(
                    "get_worktree_state", arguments: ["worktree_id": .string(trunkID)])
                #expect(answer.isError == false, "\(Self.text(answer))")
                let worktree = try #require(try Self.json(answer)["worktree"] as? [String: Any])
                #expect(worktree["path"] as? String == project.trunk.path)
            }
            #expect(sessions.allSatisfy { !$0.own.isOpen }, "no session opened a connection of its own")
            #expect(try Self.serverConnections(registry) == 1, "the agent's one connection")
        }
    }

    @Test("a session's subscription hears of an edit through the agent: pushed over the hub, no connection of its own")
    func subscriptionThroughTheAgent() async throws {
        let (registry, project, trunkID) = try RegistrySeeder.withTrunk(of: "pushed", in: fixture)
        let hub = HubSocket.path(directory: try Self.runtimeDirectory(), host: HostScope.forTests.name)
        try await withRunningAgent(RunningAgent(settings: registry.settings, hubPath: hub)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            let session = Self.session(hub: hub, settings: registry.settings)
            let told = Recorded<String>()
            let ownFeeds = Recorded<String>()
            let subscriptions = McpSubscriptions(
                hub: session.router.watch,
                makeFeed: {
                    ownFeeds.append("opened")
                    throw McpToolError("no feed of its own in this test")
                },
                logger: Logger(label: "test-mcp"), notify: { uri in told.append(uri) })
            defer { subscriptions.stop() }
            try subscriptions.subscribe("imi://worktree/\(trunkID)")
            try subscriptions.subscribe("imi://inflight")
            #expect(subscriptions.throughAgent)
            try fixture.write("pushed\n", to: "pushed.txt", in: project.trunk)
            #expect(try await eventually("the edit pushed to the subscription") {
                Set(told.all).isSuperset(of: ["imi://worktree/\(trunkID)", "imi://inflight"])
            })
            #expect(ownFeeds.all.isEmpty, "the session opened no feed of its own")
            #expect(try Self.serverConnections(registry) == 1, "the agent's one connection")
        }
    }

    @Test("two sessions claim one worktree at once through the agent: exactly one gets it")
    func racingClaims() async throws {
        let (registry, _, trunkID) = try RegistrySeeder.withTrunk(of: "claims", in: fixture)
        let hub = HubSocket.path(directory: try Self.runtimeDirectory(), host: HostScope.forTests.name)
        try await withRunningAgent(RunningAgent(settings: registry.settings, hubPath: hub)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            let alpha = Self.session(hub: hub, settings: registry.settings)
            let beta = Self.session(hub: hub, settings: registry.settings)
            async let first = alpha.router.call(
                "claim_worktree", arguments: ["worktree_id": .string(trunkID), "agent_id": "alpha"])
            async let second = beta.router.call(
                "claim_worktree", arguments: ["worktree_id": .string(trunkID), "agent_id": "beta"])
            let answers = [try Self.json(await first), try Self.json(await second)]
            let winners = answers.filter { $0["claimed"] as? Bool == true }
            #expect(winners.count == 1)
            let holder = try #require(winners.first?["agent_id"] as? String)
            #expect(answers.allSatisfy { $0["agent_id"] as? String == holder }, "the loser is told who holds it")
            let stored: String? = try registry.connection.execute("SELECT agent_id FROM worktrees WHERE id = $1", [trunkID]).decode(0, 0)
            #expect(stored == holder)
            #expect(!alpha.own.isOpen && !beta.own.isOpen)
        }
    }

    @Test("the agent restarts while a session is open: it answers on its own meanwhile, then through the agent again")
    func agentRestart() async throws {
        let (registry, _, _) = try RegistrySeeder.withTrunk(of: "restart", in: fixture)
        let hub = HubSocket.path(directory: try Self.runtimeDirectory(), host: HostScope.forTests.name)
        let session = Self.session(hub: hub, settings: registry.settings)
        try await withRunningAgent(RunningAgent(settings: registry.settings, hubPath: hub)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(await session.router.call("registry_stats", arguments: nil).isError == false)
            #expect(!session.own.isOpen)
        }
        // No agent: the same session answers with a connection of its own.
        let alone = await session.router.call("registry_stats", arguments: nil)
        #expect(alone.isError == false, "\(Self.text(alone))")
        #expect(try Self.json(alone)["worktrees"] != nil)
        #expect(session.own.isOpen)
        try await withRunningAgent(RunningAgent(settings: registry.settings, hubPath: hub)) { running async throws in
            #expect(try await eventually("ready again") { running.statistics.ready })
            #expect(await session.router.call("registry_stats", arguments: nil).isError == false)
            #expect(try await eventually("the session's own connection closed") {
                try !session.own.isOpen && Self.serverConnections(registry) == 1
            })
        }
    }

    @Test("the agent's database goes away while sessions call: each gets one clear line, none hangs")
    func refusedWhileWaiting() async throws {
        let (relay, conninfo) = try PostgresCluster.shared().databaseBehindRelay()
        defer { relay.stop() }
        let settings = ConnectionSettings(conninfo: conninfo, origin: "test")
        let registry = try RegistrySeeder(settings: settings)
        let project = try fixture.makeProject("gone")
        let projectID = try registry.addProject("gone", trunk: project.trunk)
        try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        let hub = HubSocket.path(directory: try Self.runtimeDirectory(), host: HostScope.forTests.name)
        try await withRunningAgent(RunningAgent(settings: settings, hubPath: hub)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            relay.stop()  // every connection through it closed, new ones refused
            let sessions = (0..<2).map { _ in Self.session(hub: hub, settings: settings) }
            let answers = Recorded<CallTool.Result>()
            for router in sessions.map(\.router) {
                Task { answers.append(await router.call("registry_stats", arguments: nil)) }
            }
            #expect(try await eventually("both sessions answered", seconds: 30) { answers.all.count == 2 })
            for answer in answers.all {
                #expect(answer.isError == true)
                #expect(Self.text(answer) == "registry_stats: the registry is unreachable")
            }
            #expect(try await eventually("the agent saw it") { !running.statistics.databaseUp })
        }
    }

    @Test("behind a transaction pooler without listen_url the agent polls the registry version and follows changes")
    func pooledAgentPolls() async throws {
        let (registry, project, _) = try RegistrySeeder.withTrunk(of: "polled", in: fixture)
        let projectID: String = try registry.connection.execute("SELECT id FROM projects WHERE name = 'polled'").decode(0, 0)
        var configuration = AgentConfiguration.fastForTests
        configuration.membership.enabled = false
        try await withRunningAgent(
            RunningAgent(settings: registry.settings, configuration: configuration, pooling: .transaction)
        ) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(running.statistics.watchedWorktrees == 1)
            let linked = try fixture.addWorktree("fix-poll", branch: "fix/poll", to: project)
            try fixture.write("wip\n", to: "wip.txt", in: linked)
            let before = try Registry(connection: registry.connection).versions()
            let linkedID = try registry.addWorktree("fix-poll", path: linked, project: projectID, branch: "fix/poll")
            #expect(try Registry(connection: registry.connection).versions().registry > before.registry)
            #expect(try await eventually("new worktree synced") { try registry.row(linkedID).files == 1 })
            // The row is written before the loop publishes its counters.
            #expect(try await eventually("both watched") { running.statistics.watchedWorktrees == 2 })
            // Nothing listens: the agent's one connection never sent LISTEN.
            let listening: Int = try registry.connection.execute(
                """
                SELECT count(*)::int FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'
                """).decode(0, 0)
            #expect(listening == 0)
        }
    }

    @Test("a direct connection is detected as direct; git-state writes move the state version")
    func detection() throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "detect")
        let detected = try registry.connection.detectPooling()
        #expect(detected.mode == .direct)
        let (relay, conninfo) = try PostgresCluster.shared().databaseBehindRelay()
        defer { relay.stop() }
        let proxied = try PostgresConnection(settings: ConnectionSettings(conninfo: conninfo, origin: "test"))
        #expect(try proxied.detectPooling().mode == .direct, "a plain TCP proxy is no pooler")
    }
}

/// `run`'s `/metrics`: the edit → row histogram and the counters, read from a running agent.
@Suite("The agent's metrics", .ownThreads)
struct AgentMetricsTests {
    @Test("an edit is observed in the edit → row histogram, and the counters follow the statistics")
    func editToRow() async throws {
        let fixture = try GitFixture()
        let (registry, project, trunkID) = try RegistrySeeder.withTrunk(of: "metrics", in: fixture)
        let metrics = AgentMetrics()
        try await withRunningAgent(RunningAgent(settings: registry.settings, metrics: metrics)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(metrics.scrape(running.statistics).contains("imi_sync_edit_to_row_seconds_count 0"),
                    "the first sync is no edit")
            try fixture.write("edited\n", to: "edited.txt", in: project.trunk)
            #expect(try await eventually("the edit written") { try registry.row(trunkID).files == 1 })
            #expect(try await eventually("the edit observed") {
                metrics.scrape(running.statistics).contains("imi_sync_edit_to_row_seconds_count 1")
            })
            let text = metrics.scrape(running.statistics)
            #expect(text.contains("imi_sync_database_up 1.0") || text.contains("imi_sync_database_up 1\n"))
            #expect(text.contains(#"imi_sync_probes_total{kind="full"}"#))
            let written = text.split(separator: "\n").first { $0.hasPrefix("imi_sync_rows_written_total ") }
            #expect(written.map { Int($0.split(separator: " ")[1]) ?? 0 } == running.statistics.rowsWritten)
        }
    }
}

/// The hub's transport on its own: a watcher that stops reading is closed, not kept growing.
@Suite("The hub socket", .ownThreads)
struct HubServerTests {
    @Test("a watcher that never reads is closed once its backlog passes the bound; others are served")
    func stalledWatcher() async throws {
        let path = HubSocket.path(directory: try AgentHubTests.runtimeDirectory(), host: "stalled")
        let server = try HubServer(path: path, logger: Logger(label: "test-hub")) { line in
            HubServer.HubAnswer(line: line, watch: String(decoding: line, as: UTF8.self) == "watch")
        }
        try server.start()
        defer { server.stop() }
        let stalled = try UnixSocket.connect(to: path)
        defer { SystemCall.close(stalled) }
        try UnixSocket.sendAll(stalled, Array("watch\n".utf8))
        #expect(try await eventually("watching") { server.watcherCount == 1 })
        let line = Data(repeating: UInt8(ascii: "x"), count: 64 * 1024)
        for _ in 0..<(HubServer.maximumBacklogBytes / line.count + 64) { server.broadcast(line) }
        #expect(try await eventually("the stalled watcher closed") { server.watcherCount == 0 })
        // The hub goes on answering others.
        let client = HubClient(path: path)
        let answer = try client.call(Data("ping".utf8), patience: .seconds(10))
        #expect(String(decoding: answer, as: UTF8.self) == "ping")
    }
}
