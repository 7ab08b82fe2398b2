import ArgumentParser
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import ImiSyncCLI
@testable import SyncAgent
@testable import RegistryDocuments

@Suite("stats, status, maintain and doctor", .ownThreads)
struct DiagnosticsTests {
    init() { GitLibrary.initialize() }

    /// A registry with worktrees in each status: (name, uncommitted, ahead, behind).
    func seededRegistry() throws -> (RegistrySeeder, [String: String]) {
        let registry = try RegistrySeeder.freshRegistry()
        let api = try registry.addProject("api", remote: "git@example.com:api.git")
        let web = try registry.addProject("web", remote: "https://example.com/web.git")
        let states: [(String, String, Int?, Int?, Int?)] = [
            (api, "dirty", 3, 0, 0), (api, "ahead", 0, 2, 0), (api, "clean", 0, 0, 0),
            (web, "behind", 0, 0, 5), (web, "diverged", 0, 1, 1), (web, "unsynced", nil, nil, nil),
        ]
        var ids: [String: String] = [:]
        for (project, name, files, ahead, behind) in states {
            let id = try registry.addWorktree(project: project, name: name, path: "/nonexistent/\(name)")
            ids[name] = id
            guard let files else { continue }
            try registry.connection.execute(
                """
                UPDATE worktrees SET uncommitted_files_count = $2::int, has_uncommitted_changes = $2::int > 0,
                    ahead_of_trunk = $3::int, behind_trunk = $4::int, last_sync_at = now()
                WHERE id = $1
                """,
                [id, String(files), ahead.map(String.init), behind.map(String.init)])
        }
        return (registry, ids)
    }

    @Test("stats counts projects, worktrees and each in-flight state")
    func stats() throws {
        let (registry, _) = try seededRegistry()
        let stats = try Registry(connection: registry.connection).stats()
        #expect(stats.activeProjects == 2)
        #expect(stats.activeWorktrees == 6)
        #expect(stats.worktreeTypes == 6)
        #expect(stats.uncommittedWorktrees == 1)
        #expect(stats.aheadWorktrees == 2)
        #expect(stats.behindWorktrees == 2)
        #expect(stats.divergedWorktrees == 1)
        #expect(stats.neverSyncedWorktrees == 1)
        #expect(stats.lastSyncAt != nil)
    }

    @Test("status lists only in-flight work, filtered by project")
    func inflight() throws {
        let (registry, _) = try seededRegistry()
        let all = try Registry(connection: registry.connection).inflightWork()
        #expect(all.map(\.worktreeName) == ["ahead", "dirty", "behind", "diverged"])
        #expect(all.map(\.status) == ["ahead", "uncommitted", "behind", "diverged"])
        let web = try Registry(connection: registry.connection).inflightWork(projectName: "web")
        #expect(web.map(\.worktreeName) == ["behind", "diverged"])
        let json = JSONOutput.render(["inflight": web.map(InflightDocument.Row.init)], keysAreSnakeCase: true)
        #expect(json.contains("\"agent_id\" : null"))
    }

    @Test(
        "maintain refuses day counts outside 1...36500 before connecting (64)",
        arguments: [["--inactive-days", "99999999999999"], ["--inactive-days", "36501"], ["--activity-days", "0"]])
    func maintainRanges(arguments: [String]) throws {
        // The URL names no server at all: a refusal here cannot have come from one.
        let error = #expect(throws: (any Error).self) {
            var command = try Maintain.parseAsRoot(arguments + ["--database-url", "host=/nonexistent"])
            try command.run()
        }
        #expect(Maintain.exitCode(for: error!) == .validationFailure)
        #expect(Maintain.message(for: error!).contains("between 1 and 36500 days"))
    }

    @Test("maintain removes old activities and long-inactive worktrees only")
    func maintain() throws {
        let (registry, ids) = try seededRegistry()
        let connection = registry.connection
        for (age, count) in [("100 days", 3), ("10 days", 2)] {
            try connection.execute(
                """
                INSERT INTO agent_activities (agent_id, worktree_id, activity_type, description, created_at)
                SELECT 'agent', $1, 'modified', 'edit', now() - $2::interval FROM generate_series(1, $3::int)
                """,
                [ids["clean"]!, age, String(count)])
        }
        try connection.execute(
            "UPDATE worktrees SET active = false, updated_at = now() - interval '40 days' WHERE id = $1",
            [ids["behind"]!])
        try connection.execute(
            "UPDATE worktrees SET active = false, updated_at = now() - interval '5 days' WHERE id = $1",
            [ids["ahead"]!])

        let report = try Registry(connection: connection).maintain(
            activityRetentionDays: 90, inactiveWorktreeDays: 30)

        #expect(report.activitiesRemoved == 3)
        #expect(report.worktreesPruned == 1)
        #expect(try connection.execute("SELECT count(*) FROM agent_activities").int(0, 0) == 2)
        let left = try connection.execute("SELECT name FROM worktrees ORDER BY name").rows.map { $0[0] }
        #expect(left == ["ahead", "clean", "dirty", "diverged", "unsynced"])
    }

    @Test("integrity problems are found and named")
    func integrity() throws {
        let (registry, _) = try seededRegistry()
        let connection = registry.connection
        #expect(try Registry(connection: connection).integrityProblems().isEmpty)
        try connection.execute("DROP INDEX worktrees_host_path_active_key")
        try connection.execute("UPDATE worktrees SET path = '/same' WHERE name IN ('dirty', 'ahead')")
        try connection.execute(
            "ALTER TABLE worktrees ADD CONSTRAINT short_names CHECK (length(name) < 3) NOT VALID")
        let problems = try Registry(connection: connection).integrityProblems()
        #expect(problems.map(\.check) == ["active worktrees of one host sharing a path", "constraints not validated"])
        #expect(problems.map(\.rows) == [1, 1])
    }

    @Test("doctor passes a sound registry, warns on missing paths and low inotify limits")
    func doctor() throws {
        let (registry, ids) = try seededRegistry()
        // One worktree is real: its watch plan (8 directories: the tree, .git, info, five refs) is over the limit of 5.
        let fixture = try GitFixture()
        let trunk = try fixture.makeProject("real").trunk
        try registry.connection.execute("UPDATE worktrees SET path = $2 WHERE id = $1", [ids["clean"]!, trunk.path])
        let conninfo = registry.connection.settings.conninfo
        let proc = FileManager.default.temporaryDirectory.appendingPathComponent("imi-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: proc, withIntermediateDirectories: true)
        try "5\n".write(to: proc.appendingPathComponent("max_user_watches"), atomically: true, encoding: .utf8)
        try "128\n".write(to: proc.appendingPathComponent("max_user_instances"), atomically: true, encoding: .utf8)
        let global = try GlobalOptions.parse(["--database-url", conninfo, "--config", "/dev/null"])

        let checks = DoctorChecks(global: global, procRoot: proc.path).run()
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0) })

        #expect(byName["database"]?.outcome == .ok)
        #expect(byName["schema"]?.outcome == .ok)
        #expect(byName["integrity"]?.outcome == .ok)
        #expect(byName["worktree paths"]?.outcome == .warning)
        #expect(byName["worktree paths"]?.detail.hasPrefix("5 of 6") == true)
        #expect(byName["inotify"]?.detail.hasPrefix("about 8 watches needed for 6 worktrees") == true)
        #expect(byName["inotify"]?.outcome == .warning)
        #expect(byName["inotify"]?.detail.contains("sysctl fs.inotify.max_user_watches=") == true)
        #expect(!checks.contains { $0.outcome == .failure })
    }

    /// doctor and stats run with the agent's connection settings, so as the agent's role.
    @Test("doctor and stats as an agent role: integrity and last sync are checked, activities are counted, not read",
          arguments: ["imi_sync_agent", "imi_host_a"])
    func doctorAsAgentRole(role: String) throws {
        let (registry, ids) = try seededRegistry()
        try registry.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        try registry.connection.execute("CALL imi_grant_host($1, $2)", ["host-a", "imi_host_a"])
        try registry.connection.execute(
            "INSERT INTO agent_activities (agent_id, worktree_id, activity_type, description) VALUES ('a', $1, 'other', 'private')",
            [ids["dirty"]!])
        let settings = try PostgresCluster.shared().settings(database: try registry.databaseName(), user: role)
        let global = try GlobalOptions.parse(["--database-url", settings.conninfo, "--config", "/dev/null", "--host", "host-a"])
        let byName = Dictionary(uniqueKeysWithValues: DoctorChecks(global: global).run().map { ($0.name, $0) })
        for name in ["schema", "pooling", "registry writes", "host", "integrity", "last sync"] {
            #expect(byName[name]?.outcome == .ok, "\(name): \(byName[name]?.detail ?? "missing")")
        }
        #expect(byName["pooling"]?.detail.hasPrefix("direct: the agent listens on its one connection") == true)
        let connection = try PostgresConnection(settings: settings)
        let stats = try Registry(connection: connection).stats()
        #expect(stats.totalActivities == 1 && stats.activeWorktrees == 6 && stats.lastSyncAt != nil)
        let denied = #expect(throws: PostgresError.self) { try connection.execute("SELECT description FROM agent_activities") }
        #expect(denied?.sqlState == "42501", "what an activity says stays unreadable")
    }

    @Test("doctor fails on an unreachable database and a missing schema")
    func doctorFailures() throws {
        let unreachable = try GlobalOptions.parse([
            "--database-url", "host=/nonexistent-socket dbname=x", "--config", "/dev/null",
        ])
        let first = DoctorChecks(global: unreachable).run()
        #expect(first.first { $0.name == "database" }?.outcome == .failure)
        #expect(Doctor.exitCode(for: first) == 69, "unreachable is 69, as README documents")

        let empty = try PostgresCluster.shared().createDatabase()
        let noSchema = try GlobalOptions.parse(["--database-url", empty.conninfo, "--config", "/dev/null"])
        let second = DoctorChecks(global: noSchema).run()
        #expect(second.first { $0.name == "schema" }?.outcome == .failure)
        #expect(second.first { $0.name == "schema" }?.detail.contains("imi-sync migrate --schema-only") == true)
        #expect(Doctor.exitCode(for: second) == 78)
    }

    /// doctor once walked `/` for 55 s through such a path and estimated 200,718 watches.
    @Test("a registered path that is a symbolic link to / is reported, never walked")
    func symlinkToRoot() throws {
        let (registry, ids) = try seededRegistry()
        let link = FileManager.default.temporaryDirectory.appendingPathComponent("to-root-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/")
        defer { try? FileManager.default.removeItem(at: link) }
        try registry.connection.execute("UPDATE worktrees SET path = $2 WHERE id = $1", [ids["clean"]!, link.path])
        let global = try GlobalOptions.parse(["--database-url", registry.connection.settings.conninfo, "--config", "/dev/null"])
        let byName = Dictionary(uniqueKeysWithValues: DoctorChecks(global: global).run().map { ($0.name, $0) })
        #expect(byName["inotify"]?.detail.hasPrefix("about 0 watches needed") == true)
        #expect(byName["worktree paths"]?.outcome == .failure)
        #expect(byName["worktree paths"]?.detail.contains("not a git worktree at \(link.path)") == true)
    }

    @Test("doctor names a column imi-sync writes that was dropped, instead of trusting the version row")
    func droppedColumn() throws {
        let (registry, _) = try seededRegistry()
        let global = try GlobalOptions.parse(["--database-url", registry.connection.settings.conninfo, "--config", "/dev/null"])
        #expect(DoctorChecks(global: global).run().first { $0.name == "schema" }?.outcome == .ok)
        try registry.connection.execute("DROP VIEW v_inflight_work")
        try registry.connection.execute("ALTER TABLE worktrees DROP COLUMN last_commit_message CASCADE")
        let checks = DoctorChecks(global: global).run()
        let schema = checks.first { $0.name == "schema" }
        #expect(schema?.outcome == .failure)
        #expect(schema?.detail.contains("worktrees.last_commit_message") == true)
        #expect(schema?.detail.contains("v_inflight_work.status") == true)
        #expect(Doctor.exitCode(for: checks) == 78)
    }
}
