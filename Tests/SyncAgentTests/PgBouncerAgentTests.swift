import Foundation
import Logging
import MCP
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import AgentHub
@testable import ImiSyncCLI
@testable import McpServer
@testable import SyncAgent
@testable import WorktreeMembership

/// The agent and its mcp sessions through a real PgBouncer in transaction mode: the agent
/// finds the pooler by itself, polls the registry version instead of LISTENing, and its one
/// pooled connection carries its writes and its sessions' calls.
@Suite("The agent and its sessions through PgBouncer", .serialized, .ownThreads)
struct PgBouncerAgentTests {
    let fixture: GitFixture

    init() throws {
        fixture = try GitFixture()
    }

    @Test("an agent through PgBouncer detects it, polls, follows a new worktree, and its sessions race claims through it")
    func agentBehindPgBouncer() async throws {
        guard let bouncer = try PgBouncerTests.bouncer(poolSize: 2) else { return }
        defer { try? bouncer.stop() }
        // The schema and the first rows go in directly, as the registry's owner.
        let (owner, project, trunkID) = try RegistrySeeder.withTrunk(of: "pooled", in: fixture)
        let projectID: String = try owner.connection.execute("SELECT id FROM projects WHERE name = 'pooled'").decode(0, 0)
        let pooled = bouncer.settings(database: try owner.databaseName())
        let detected = try PostgresConnection(settings: pooled).detectPooling()
        #expect(detected.mode == .transaction, "\(detected.reason)")

        var configuration = AgentConfiguration.fastForTests
        configuration.membership.enabled = false
        let hub = HubSocket.path(directory: try AgentHubTests.runtimeDirectory(), host: HostScope.forTests.name)
        try await withRunningAgent(RunningAgent(settings: pooled, configuration: configuration, hubPath: hub)) { running async throws in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try await eventually("the trunk synced") { try owner.row(trunkID).files == 0 })

            // A worktree registered by another tool reaches the agent through the version poll.
            let linked = try fixture.addWorktree("fix-pool", branch: "fix/pool", to: project)
            try fixture.write("wip\n", to: "wip.txt", in: linked)
            let linkedID = try owner.addWorktree("fix-pool", path: linked, project: projectID, branch: "fix/pool")
            #expect(try await eventually("new worktree synced") { try owner.row(linkedID).files == 1 })
            try fixture.write("more\n", to: "more.txt", in: linked)
            #expect(try await eventually("an edit written through the pooler") { try owner.row(linkedID).files == 2 })

            // Two sessions claim one worktree through the agent at once: exactly one gets it.
            let alpha = AgentHubTests.session(hub: hub, settings: pooled)
            let beta = AgentHubTests.session(hub: hub, settings: pooled)
            async let first = alpha.router.call("claim_worktree", arguments: ["worktree_id": .string(linkedID), "agent_id": "alpha"])
            async let second = beta.router.call("claim_worktree", arguments: ["worktree_id": .string(linkedID), "agent_id": "beta"])
            let answers = [try AgentHubTests.json(await first), try AgentHubTests.json(await second)]
            #expect(answers.filter { $0["claimed"] as? Bool == true }.count == 1)
            #expect(!alpha.own.isOpen && !beta.own.isOpen, "both answered through the agent")

            // Nothing listens anywhere: a LISTEN through the pooler would hear nothing.
            let listening: Int = try owner.connection.execute(
                "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
            ).decode(0, 0)
            #expect(listening == 0)
        }
    }

    @Test("doctor through PgBouncer reports transaction pooling and the version poll; with listen_url, LISTEN there")
    func doctorBehindPgBouncer() throws {
        guard let bouncer = try PgBouncerTests.bouncer(poolSize: 2) else { return }
        defer { try? bouncer.stop() }
        let owner = try RegistrySeeder.freshRegistry(prefix: "pgbdoc")
        let pooled = bouncer.settings(database: try owner.databaseName())
        let polled = try GlobalOptions.parse(["--database-url", pooled.conninfo, "--config", "/dev/null"])
        let check = try #require(DoctorChecks(global: polled).run().first { $0.name == "pooling" })
        #expect(check.outcome == .ok)
        #expect(check.detail.hasPrefix("transaction pooling (detected: transaction"), "\(check.detail)")
        #expect(check.detail.hasSuffix("no listen_url: the agent polls the registry version every 1 s"))

        let config = fixture.root.appendingPathComponent("listen.toml")
        try "[database]\nlisten_url = \"\(owner.settings.conninfo)\"\n".write(to: config, atomically: true, encoding: .utf8)
        let listening = try GlobalOptions.parse(["--database-url", pooled.conninfo, "--config", config.path])
        let direct = try #require(DoctorChecks(global: listening).run().first { $0.name == "pooling" })
        #expect(direct.outcome == .ok, "\(direct.detail)")
        #expect(direct.detail.contains("the agent listens on listen_url"))

        try "[database]\nlisten_url = \"\(pooled.conninfo)\"\n".write(to: config, atomically: true, encoding: .utf8)
        let wrong = try GlobalOptions.parse(["--database-url", pooled.conninfo, "--config", config.path])
        let refused = try #require(DoctorChecks(global: wrong).run().first { $0.name == "pooling" })
        #expect(refused.outcome == .failure)
        #expect(refused.detail.contains("goes through a pooler too"))
    }
}
