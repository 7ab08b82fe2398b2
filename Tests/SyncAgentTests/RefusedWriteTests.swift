import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import ImiSyncCLI
@testable import SyncAgent
@testable import WorktreeMembership

/// A state counts as written only when its transaction committed: a refused write is kept,
/// retried with backoff and told once, and `last_sync_at` never vouches for a row whose
/// current state is not in the database.
@Suite("run: states the registry refuses are kept and retried", .serialized, .ownThreads)
struct RefusedWriteTests {
    static let rolesSQL = DeployFiles.rolesSQL

    static var configuration: AgentConfiguration {
        var configuration = AgentConfiguration.fastForTests
        configuration.heartbeat = .milliseconds(200)
        return configuration
    }

    func lastSync(_ registry: RegistrySeeder, _ id: String) throws -> String? {
        try registry.connection.execute("SELECT last_sync_at::text FROM worktrees WHERE id = $1", [id]).string(0, 0)
    }

    func refusalLines(_ running: RunningAgent) -> Int {
        running.messages.all.filter { $0.contains("the registry refuses git-state updates") }.count
    }

    @Test("UPDATE revoked: the edit is retried, heartbeats skip its row, and it lands once UPDATE is granted again")
    func revokedPrivilege() async throws {
        let fixture = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let busy = try fixture.makeProject("busy")
        let quiet = try fixture.makeProject("quiet")
        let busyID = try registry.addWorktree("trunk-main", path: busy.trunk, project: try registry.addProject("busy", trunk: busy.trunk))
        let quietID = try registry.addWorktree("trunk-main", path: quiet.trunk, project: try registry.addProject("quiet", trunk: quiet.trunk))
        #expect(!Self.rolesSQL.isEmpty)
        try registry.connection.executeScript(StaticScript(Self.rolesSQL))
        let database = try registry.connection.execute("SELECT current_database()").string(0, 0)!
        let agentSettings = try PostgresCluster.shared().settings(database: database, user: "imi_sync_agent")

        try await withRunningAgent(RunningAgent(settings: agentSettings, configuration: Self.configuration)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            try registry.connection.execute("REVOKE UPDATE (uncommitted_files_count) ON worktrees FROM imi_sync_agent")
            try fixture.write("edited\n", to: "README.md", in: busy.trunk)
            #expect(try await eventually("refused") { running.statistics.refusedStates == 1 })
            // From here on the agent knows busy's stored state is stale.
            let busySyncedAt = try lastSync(registry, busyID)
            let quietSyncedAt = try lastSync(registry, quietID)
            #expect(try await eventually("retried") { running.statistics.refusedFlushes >= 3 })
            #expect(refusalLines(running) == 1, "one loud line, not one per retry")
            let heartbeats = running.statistics.heartbeats
            #expect(try await eventually("two more heartbeats") { running.statistics.heartbeats >= heartbeats + 2 })
            #expect(try registry.row(busyID).files == 0, "the refused state is not in the database")
            #expect(try lastSync(registry, busyID) == busySyncedAt, "no heartbeat vouches for the stale row")
            #expect(try lastSync(registry, quietID) != quietSyncedAt, "heartbeats go on for current rows")
            #expect(try Registry(connection: PostgresConnection(settings: agentSettings)).stateWriteRefusal()?.sqlState == "42501")
            let doctor = try GlobalOptions.parse(["--database-url", agentSettings.conninfo, "--config", "/dev/null"])
            let checks = DoctorChecks(global: doctor).run()
            let check = checks.first { $0.name == "registry writes" }
            #expect(check?.outcome == .failure)
            #expect(check?.detail.contains("42501") == true)

            try registry.connection.execute("GRANT UPDATE (uncommitted_files_count) ON worktrees TO imi_sync_agent")
            #expect(try await eventually("written once granted") { try registry.row(busyID).files == 1 })
            #expect(try await eventually("no refusal left") { running.statistics.refusedStates == 0 })
            #expect(running.messages.all.contains { $0.contains("accepts git-state updates again") })
            #expect(try Registry(connection: PostgresConnection(settings: agentSettings)).stateWriteRefusal() == nil)
        }
    }

    @Test("a read-only database: the edit waits, and a new session writes it once writes are allowed again")
    func readOnlyDatabase() async throws {
        let fixture = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("app")
        let id = try registry.addWorktree("trunk-main", path: project.trunk, project: try registry.addProject("app", trunk: project.trunk))
        let database = try registry.connection.execute("SELECT current_database()").string(0, 0)!
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: Self.configuration)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })

            // New sessions of this database are read-only; the agent's are ended, so it reconnects.
            try registry.connection.executeScript(StaticScript("ALTER DATABASE \(database) SET default_transaction_read_only = on"))
            let attempts = running.statistics.connectAttempts
            try registry.connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                [database])
            #expect(try await eventually("reconnected read-only") {
                running.statistics.connectAttempts > attempts && running.statistics.databaseUp
            })

            try fixture.write("edited\n", to: "README.md", in: project.trunk)
            #expect(try await eventually("refused") { running.statistics.refusedStates == 1 })
            #expect(try registry.row(id).files == 0)
            #expect(refusalLines(running) == 1)

            try registry.connection.executeScript(StaticScript("ALTER DATABASE \(database) RESET default_transaction_read_only"))
            #expect(try await eventually("written from a new session") { try registry.row(id).files == 1 })
            // Statistics are published after the loop's step, which commits first.
            #expect(try await eventually("no refusal left") { running.statistics.refusedStates == 0 })
        }
    }

    /// Row-level security refuses without an error: host A's role writing for host B matches no
    /// row. The agent must neither count that as written nor look healthy.
    @Test("a run acting for a host whose row belongs to another role: states refused, row unchanged, said at start, in STATUS and by doctor")
    func actingForAnotherHost() async throws {
        let fixture = try GitFixture()
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "app", in: fixture)
        try registry.connection.executeScript(StaticScript(Self.rolesSQL))
        try registry.connection.execute("CALL imi_grant_host($1, $2)", ["host-a", "imi_host_a"])
        try registry.connection.execute("CALL imi_grant_host($1, $2)", ["host-b", "imi_host_b"])
        try registry.connection.execute("UPDATE worktrees SET host_id = (SELECT id FROM hosts WHERE name = 'host-b')")
        try fixture.write("edited\n", to: "README.md", in: project.trunk)
        let database = try registry.databaseName()
        let asA = try PostgresCluster.shared().settings(database: database, user: "imi_host_a")
        let problem = "role imi_host_a may not act for host 'host-b'"

        try await withRunningAgent(RunningAgent(settings: asA, configuration: Self.configuration, host: HostScope(name: "host-b"))) { running async throws in
            #expect(try await eventually("refused") { running.statistics.refusedStates == 1 && running.statistics.refusedFlushes >= 2 })
            let statistics = running.statistics
            #expect(statistics.rowsWritten == 0 && statistics.pendingStates == 1, "not committed, kept pending")
            #expect(try registry.row(id) == .init(files: nil, hash: nil, message: nil, synced: false), "the row is unchanged")
            #expect(running.messages.all.filter { $0.hasPrefix("error: \(problem)") }.count == 1, "one error line at start")
            let refusals = running.messages.all.filter { $0.contains("the registry refuses git-state updates") }
            #expect(refusals.count == 1)
            let status = AgentStatus.statusLine(statistics, watchLimit: nil)
            #expect(status.contains("\(problem), its writes are refused") && status.contains("1 states refused"), "\(status)")
            // Every refusal line names its write.
            for line in running.messages.all where line.contains("the registry refused a") {
                #expect(RegistrySession.Write.allCases.contains { line.contains("refused a \($0.rawValue);") }, "\(line)")
            }
        }

        func hostCheck(as role: String) throws -> Doctor.Check? {
            let settings = try PostgresCluster.shared().settings(database: database, user: role)
            let options = try GlobalOptions.parse(["--database-url", settings.conninfo, "--config", "/dev/null", "--host", "host-b"])
            return DoctorChecks(global: options).run().first { $0.name == "host" }
        }
        let doctor = try hostCheck(as: "imi_host_a")
        #expect(doctor?.outcome == .failure)
        #expect(doctor?.detail.hasPrefix(problem) == true && doctor?.detail.contains("--host host-a") == true, "\(doctor?.detail ?? "")")
        #expect(try hostCheck(as: "imi_host_b")?.outcome == .ok, "B's own role may act for B")
    }
}
