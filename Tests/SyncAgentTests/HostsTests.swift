import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import ImiSyncCLI
@testable import SyncAgent
@testable import WorktreeMembership

@Suite("Hosts sharing one registry", .ownThreads)
struct HostsTests {
    init() { GitLibrary.initialize() }

    @Test("each host probes its own rows and adopts the host-less rows whose path exists on it")
    func ownRowsAndAdoption() throws {
        let git = try GitFixture()
        let project = try git.makeProject("api")
        let feature = try git.addWorktree("feat-a", branch: "feat/a", to: project)
        try git.write("edit\n", to: "README.md", in: feature)
        let registry = try RegistrySeeder.freshRegistry()
        let projectID = try registry.addProject("api", trunk: project.trunk)
        let trunkID = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        let goneID = try registry.addWorktree(project: projectID, name: "feat-gone", path: project.directory.path + "/gone")
        // The same directory name exists here, but the row is the laptop's: its state is not ours to write.
        let laptop = try Registry(connection: registry.connection).registerHost(named: "laptop-b", agentVersion: "0.2.0")
        let laptopRowID = try registry.addWorktree("feat-a", path: feature, project: projectID, branch: "feat/a")
        try registry.connection.execute(
            "UPDATE worktrees SET host_id = $1, uncommitted_files_count = 7, has_uncommitted_changes = true WHERE id = $2",
            [laptop, laptopRowID])

        let report = try OnceSync(
            connection: registry.connection, logger: Logger(label: "test"), host: HostScope(name: "desk-a")
        ).run()

        #expect(Set(report.outcomes.map(\.worktree.id)) == [trunkID, goneID])
        #expect(report.failures.map(\.worktree.id) == [goneID])
        let desk = try #require(try Registry(connection: registry.connection).hostID(named: "desk-a"))
        #expect(try hostOf(trunkID, registry) == desk, "adopted: its path exists here")
        #expect(try hostOf(goneID, registry) == nil, "a path that exists nowhere here is not adopted")
        #expect(try hostOf(laptopRowID, registry) == laptop)
        #expect(try registry.row(laptopRowID).files == 7, "another host's row is never written")

        let hosts = try Registry(connection: registry.connection).hosts()
        #expect(hosts.map(\.name) == ["desk-a", "laptop-b"])
        #expect(hosts.map(\.activeWorktrees) == [1, 1])
        #expect(hosts.map(\.inflightWorktrees) == [0, 1])
        #expect(hosts.first?.agentVersion == ImiSync.version)
    }

    @Test("a host that missed three heartbeats is stale in hosts(), v_inflight_work and v_worktrees_detail")
    func staleHosts() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let hosts = Registry(connection: registry.connection)
        let live = try hosts.registerHost(named: "live", agentVersion: "0.2.0", heartbeatSeconds: 60)
        let quiet = try hosts.registerHost(named: "quiet", agentVersion: "0.2.0", heartbeatSeconds: 60)
        let projectID = try registry.addProject("api")
        var rows: [String: String] = [:]
        for (name, host) in [("live-wt", live), ("quiet-wt", quiet)] {
            rows[name] = try registry.addWorktree(project: projectID, name: name, path: "/srv/\(name)")
            try registry.connection.execute(
                "UPDATE worktrees SET host_id = $1, has_uncommitted_changes = true, uncommitted_files_count = 1 WHERE id = $2",
                [host, rows[name]!])
        }
        // 2.5 beats late is late, not stale; 3.5 beats late is stale.
        try registry.connection.execute("UPDATE hosts SET last_seen_at = now() - interval '150 seconds' WHERE id = $1", [live])
        try registry.connection.execute("UPDATE hosts SET last_seen_at = now() - interval '210 seconds' WHERE id = $1", [quiet])

        #expect(try hosts.hosts().map { [$0.name: $0.stale] } == [["live": false], ["quiet": true]])
        let detail = try registry.connection.execute("SELECT name, host_name, stale FROM v_worktrees_detail ORDER BY name")
        #expect(detail.rows == [["live-wt", "live", "f"], ["quiet-wt", "quiet", "t"]])
        let inflight = try hosts.inflightWork()
        #expect(inflight.map(\.host) == ["live", "quiet"])
        #expect(inflight.map(\.stale) == [false, true])
    }

    @Test("a path is unique among one host's active worktrees, not across hosts")
    func pathUniquePerHost() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let hosts = Registry(connection: registry.connection)
        let a = try hosts.registerHost(named: "a", agentVersion: nil)
        let b = try hosts.registerHost(named: "b", agentVersion: nil)
        let projectID = try registry.addProject("api")
        let insert = """
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path, host_id)
            SELECT $1, id, $2, 'main', '/home/dev/code/api', $3 FROM worktree_types WHERE name = 'feat'
            """
        try registry.connection.execute(insert, [projectID, "on-a", a])
        try registry.connection.execute(insert, [projectID, "on-b", b])
        let duplicate = #expect(throws: PostgresError.self) {
            try registry.connection.execute(insert, [projectID, "again-on-a", a])
        }
        #expect(duplicate?.sqlState == "23505")
        #expect(duplicate?.message.contains("worktrees_host_path_active_key") == true)
        #expect(try hosts.registerHost(named: "a", agentVersion: "0.3.0") == a, "registering again keeps the id")
        #expect(try hosts.hosts().first { $0.name == "a" }?.agentVersion == "0.3.0")
    }

    @Test("run registers its host with its heartbeat and start, and each heartbeat refreshes last_seen_at")
    func runHeartbeats() async throws {
        let fixture = try GitFixture()
        let (registry, _, trunkID) = try RegistrySeeder.withTrunk(of: "app", in: fixture)
        var configuration = AgentConfiguration.fastForTests
        configuration.heartbeat = .milliseconds(1500)
        try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: configuration, host: HostScope(name: "runner"))) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            let host = try #require(try Registry(connection: registry.connection).hosts().first)
            #expect(host.name == "runner")
            #expect(host.heartbeatSeconds == 2, "rounded up to whole seconds")
            #expect(host.startedAt != nil)
            #expect(try hostOf(trunkID, registry) == host.id)
            let seen = try #require(host.lastSeenAt)
            let beats = running.statistics.heartbeats
            #expect(try await eventually("a heartbeat") { running.statistics.heartbeats > beats })
            let after = try #require(try Registry(connection: registry.connection).hosts().first)
            #expect(try #require(after.lastSeenAt) > seen)
            #expect(after.startedAt == host.startedAt, "a heartbeat is not a restart")
        }
    }

    @Test("imi-sync hosts --json lists the hosts and marks this one")
    func hostsCommand() throws {
        let registry = try RegistrySeeder.freshRegistry()
        _ = try Registry(connection: registry.connection).registerHost(named: "elsewhere", agentVersion: "0.1.0")
        _ = try Registry(connection: registry.connection).registerHost(named: "here", agentVersion: "0.2.0")
        let output = try capture(
            try imiSyncBinary().path,
            ["hosts", "--json", "--host", "here", "--database-url", registry.settings.conninfo, "--config", "/dev/null"])
        let document = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let hosts = try #require(document?["hosts"] as? [[String: Any]])
        #expect(hosts.map { $0["name"] as? String } == ["elsewhere", "here"])
        #expect(hosts.map { $0["current"] as? Bool } == [false, true])
        #expect(hosts.map { $0["agent_version"] as? String } == ["0.1.0", "0.2.0"])

        try registry.connection.execute("UPDATE hosts SET last_seen_at = now() - interval '1 hour' WHERE name = 'elsewhere'")
        let stats = try capture(
            try imiSyncBinary().path, ["stats", "--json", "--database-url", registry.settings.conninfo, "--config", "/dev/null"])
        let counts = try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any]
        #expect(counts?["stale_hosts"] as? Int == 1)
        let perHost = try #require(counts?["hosts"] as? [[String: Any]])
        #expect(perHost.map { $0["name"] as? String } == ["elsewhere", "here"])
        #expect(perHost.map { $0["stale"] as? Bool } == [true, false])
    }

    private func hostOf(_ worktreeID: String, _ registry: RegistrySeeder) throws -> String? {
        try registry.connection.execute("SELECT host_id FROM worktrees WHERE id = $1", [worktreeID])
            .decode(0, 0, as: String?.self)
    }
}
