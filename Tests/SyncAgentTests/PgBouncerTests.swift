import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// The registry through a real PgBouncer (Debian's 1.18) in transaction pooling mode, with
/// the commands as they are today: several hosts' `scan`, `once` and `status` share a pool of
/// two server connections.
///
/// The agent and its mcp sessions through PgBouncer, and `doctor`'s mode, are in
/// PgBouncerAgentTests.swift.
@Suite("The registry through PgBouncer in transaction mode", .serialized, .ownThreads)
struct PgBouncerTests {
    /// PgBouncer in front of the shared cluster; `nil` (the test says so and stops) when the
    /// binary is missing, except under CI=true, where that is a failure.
    static func bouncer(poolSize: Int) throws -> PgBouncer? {
        do {
            _ = try PgBouncer.locateBinary()
        } catch where !PgBouncer.isRequired {
            print("skipping: \(error)")
            return nil
        }
        return try PgBouncer.start(in: try PostgresCluster.shared(), poolSize: poolSize)
    }

    /// One machine: a root with a clone of the shared origin and two linked worktrees.
    struct Machine {
        let name: String
        let root: URL
        let worktrees: [URL]

        init(_ name: String, origin: URL, git: GitFixture) throws {
            self.name = name
            root = try git.directory("\(name)/code")
            let trunk = root.appendingPathComponent("api/trunk-main")
            try git.git(["clone", "--quiet", origin.path, trunk.path], in: root)
            var worktrees = [trunk]
            for feature in ["a", "b"] {
                let path = root.appendingPathComponent("api/feat-\(name)-\(feature)")
                try git.git(["worktree", "add", "--quiet", "-b", "feat/\(name)-\(feature)", path.path], in: trunk)
                worktrees.append(path)
            }
            self.worktrees = worktrees
        }
    }

    /// Runs one `imi-sync` per argument list at the same time; returns each exit status and output.
    static func together(_ runs: [[String]], git: GitFixture) throws -> [(status: Int32?, output: String)] {
        let started = try runs.map { arguments -> (ChildProcess, String) in
            let output = git.root.appendingPathComponent("out-\(UUID().uuidString)").path
            let process = try ChildProcess(
                try imiSyncBinary(), arguments + ["--config", "/dev/null"],
                environment: ["PATH": "/usr/bin:/bin", "HOME": git.home.path], standardOutput: output,
                standardError: output + ".err")
            return (process, output)
        }
        return started.map { process, output in
            let status = process.waitForExit(timeout: 120)
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            let errors = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
            return (status, status == 0 ? text : text + errors)
        }
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test("four hosts' scan, once and status through a pool of two: every row written, never more than two server connections")
    func hostsShareAPoolOfTwo() throws {
        guard let bouncer = try Self.bouncer(poolSize: 2) else { return }
        defer { try? bouncer.stop() }
        let cluster = try PostgresCluster.shared()
        let direct = try cluster.createDatabase(prefix: "pgb")
        let git = try GitFixture()
        // The schema and the roles go in directly, as the registry's owner.
        let migrated = try Self.together([["migrate", "--schema-only", "--database-url", direct.conninfo]], git: git)
        #expect(migrated.first?.status == 0, "\(migrated.first?.output ?? "")")
        let owner = RegistrySeeder(connection: try PostgresConnection(settings: direct))
        try owner.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        let database = try owner.databaseName()
        let pooled = bouncer.settings(database: database, user: "imi_sync_agent").conninfo

        let origin = try git.makeProject("api").origin
        let machines = try (0..<4).map { try Machine("h\($0)", origin: origin, git: git) }

        let scans = try Self.together(
            machines.map { ["scan", "--host", $0.name, "--json", "--database-url", pooled, $0.root.path] }, git: git)
        for (machine, scan) in zip(machines, scans) {
            #expect(scan.status == 0, "\(machine.name): \(scan.output)")
        }
        let perHost = try owner.connection.execute(
            """
            SELECT h.name, count(*) FROM worktrees w JOIN hosts h ON h.id = w.host_id
            WHERE w.active GROUP BY h.name ORDER BY h.name
            """)
        #expect(perHost.rows == machines.map { [$0.name, "3"] })

        // First round: every worktree's first state. Then host n gets n + 1 new files in its
        // first feature worktree and one in its second; the trunk stays clean.
        var rounds: [[(status: Int32?, output: String)]] = []
        for round in 0..<2 {
            if round == 1 {
                for (n, machine) in machines.enumerated() {
                    for file in 0...n { try git.write("edit\n", to: "new-\(file).txt", in: machine.worktrees[1]) }
                    try git.write("edit\n", to: "other.txt", in: machine.worktrees[2])
                }
            }
            rounds.append(try Self.together(
                machines.map { ["once", "--host", $0.name, "--json", "--database-url", pooled] }, git: git))
        }
        for (round, changed) in zip(rounds, [3, 2]) {
            for (machine, once) in zip(machines, round) {
                #expect(once.status == 0, "\(machine.name): \(once.output)")
                let summary = Self.json(once.output)["summary"] as? [String: Any] ?? [:]
                #expect(summary["worktrees"] as? Int == 3, "\(machine.name): \(once.output)")
                #expect(summary["changed"] as? Int == changed, "\(machine.name)")
                #expect(summary["failed"] as? Int == 0)
                #expect(summary["refused"] as? Int == 0)
            }
        }
        for (n, machine) in machines.enumerated() {
            let counts = try owner.connection.execute(
                "SELECT path, uncommitted_files_count FROM worktrees WHERE path = ANY($1::text[]) ORDER BY path",
                [machine.worktrees.map(\.path)])
            let expected = [(machine.worktrees[0], 0), (machine.worktrees[1], n + 1), (machine.worktrees[2], 1)]
                .sorted { $0.0.path < $1.0.path }.map { [$0.0.path, String($0.1)] }
            #expect(counts.rows == expected, "\(machine.name)")
        }

        // status reads v_inflight_work through the pool, as the reading role deploy/roles.sql
        // makes for mcp: the eight dirty worktrees, each on its host.
        let reader = bouncer.settings(database: database, user: "imi_sync_mcp").conninfo
        let status = try Self.together([["status", "--json", "--database-url", reader]], git: git)
        #expect(status.first?.status == 0, "\(status.first?.output ?? "")")
        let inflight = Self.json(status.first?.output ?? "")["inflight"] as? [[String: Any]] ?? []
        let seen = Set(inflight.compactMap { row -> String? in
            guard let host = row["host"] as? String, let worktree = row["worktree"] as? String,
                let count = row["uncommitted_files_count"] as? Int
            else { return nil }
            return "\(host) \(worktree) \(count)"
        })
        let wanted = Set(machines.enumerated().flatMap { n, machine in
            ["\(machine.name) feat-\(machine.name)-a \(n + 1)", "\(machine.name) feat-\(machine.name)-b 1"]
        })
        #expect(seen == wanted)

        // Every command's connection was a client of the pool; the server saw at most two.
        #expect(bouncer.clientLoginsLogged(database: database, user: "imi_sync_agent") >= 3 * machines.count)
        #expect(bouncer.clientLoginsLogged(database: database, user: "imi_sync_mcp") >= 1)
        #expect((1...2).contains(bouncer.serverLoginsLogged(database: database, user: "imi_sync_mcp")))
        let opened = bouncer.serverLoginsLogged(database: database, user: "imi_sync_agent")
        #expect((1...2).contains(opened), "\(bouncer.log())")
        let pools = try bouncer.admin("SHOW POOLS").filter { $0["database"] == database && $0["user"] == "imi_sync_agent" }
        #expect(pools.first?["pool_mode"] == "transaction")
        #expect(try bouncer.serverConnections(database: database, user: "imi_sync_agent") <= 2)
        let backends = try owner.connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = 'imi_sync_agent'")
        #expect((1...2).contains(backends.int(0, 0) ?? 0))
    }

    @Test("a startup parameter PgBouncer 1.18 does not track (options) is refused at login; plain libpq logins pass")
    func refusedStartupParameter() throws {
        guard let bouncer = try Self.bouncer(poolSize: 1) else { return }
        defer { try? bouncer.stop() }
        let name = try RegistrySeeder(
            connection: try PostgresConnection(settings: try PostgresCluster.shared().createDatabase(prefix: "pgb"))
        ).databaseName()
        let settings = ConnectionSettings(
            conninfo: bouncer.settings(database: name).conninfo + " options='-c statement_timeout=5s'", origin: "test")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(settings: settings) }
        #expect(error?.code == .connection)
        #expect(bouncer.log().contains("unsupported startup parameter: options"))
        // Without it the same login works: libpq sends nothing else PgBouncer refuses.
        let plain = try PostgresConnection(settings: bouncer.settings(database: name))
        #expect(try plain.execute("SELECT current_database()").string(0, 0) == name)
    }
}
