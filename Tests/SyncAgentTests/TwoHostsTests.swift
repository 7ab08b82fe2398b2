#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// Two machines sharing one PostgreSQL: two `imi-sync run` processes with their own host
/// names, roles and roots, logging in over TCP with scram-sha-256 passwords from ~/.pgpass.
@Suite("Two hosts, one registry: over TCP, passwords from ~/.pgpass", .serialized, .ownThreads)
struct TwoHostsTests {
    /// One machine: its root with a clone of the shared origin and a linked worktree, its
    /// HOME with a ~/.pgpass, its role.
    struct Machine {
        let name: String
        let role: String
        let secret: String
        let root: URL
        let home: URL
        let trunk: URL
        let feature: URL
        let log: URL

        init(_ name: String, role: String, secret: String, origin: URL, git: GitFixture) throws {
            self.name = name
            self.role = role
            self.secret = secret
            root = try git.directory("\(name)/code")
            home = try git.directory("\(name)/home")
            trunk = root.appendingPathComponent("api/trunk-main")
            feature = root.appendingPathComponent("api/feat-\(name)")
            log = git.root.appendingPathComponent("\(name).log")
            try git.git(["clone", "--quiet", origin.path, trunk.path], in: root)
            try git.git(["worktree", "add", "--quiet", "-b", "feat/\(name)", feature.path], in: trunk)
        }

        func writePassFile(port: Int, database: String) throws {
            let file = home.appendingPathComponent(".pgpass")
            try "127.0.0.1:\(port):\(database):\(role):\(secret)\n".write(to: file, atomically: false, encoding: .utf8)
            chmod(file.path, 0o600)
        }

        /// `imi-sync run` as this machine: no password anywhere but ~/.pgpass.
        func start(port: Int, database: String) throws -> ChildProcess {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            return try ChildProcess(
                try imiSyncBinary(),
                [
                    "run", "--database-url", "host=127.0.0.1 port=\(port) dbname=\(database) user=\(role)",
                    "--host", name, "--config", "/dev/null", "--heartbeat-seconds", "1", "--log-level", "info",
                ],
                environment: ["HOME": home.path, "PATH": "/usr/bin:/bin", "IMI_SYSTEM_PATHS": root.path],
                standardError: log.path)
        }
    }

    @Test("each agent converges its own worktrees, never touches the other's, and a stopped host turns stale")
    func twoAgents() async throws {
        let git = try GitFixture()
        let origin = try git.makeProject("api").origin
        let registry = try RegistrySeeder.freshRegistry(prefix: "hosts")
        let database = try registry.databaseName()
        let port = try PostgresCluster.shared().port
        try registry.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        let laptop = try Machine("laptop", role: "imi_host_laptop", secret: "laptop-secret-1", origin: origin, git: git)
        let desk = try Machine("desk", role: "imi_host_desk", secret: "desk-secret-2", origin: origin, git: git)
        for machine in [laptop, desk] {
            try registry.connection.execute("CALL imi_grant_host($1, $2)", [machine.name, machine.role])
            try machine.writePassFile(port: port, database: database)
        }
        // Test constants, not data: ALTER ROLE takes no parameters.
        try registry.connection.executeScript(StaticScript("""
            ALTER ROLE imi_host_laptop PASSWORD 'laptop-secret-1';
            ALTER ROLE imi_host_desk PASSWORD 'desk-secret-2';
            """))

        let agents = try [laptop, desk].map { try $0.start(port: port, database: database) }
        defer {
            if ProcessInfo.processInfo.environment["IMI_TEST_LOG"] != nil {
                for machine in [laptop, desk] { print((try? String(contentsOf: machine.log, encoding: .utf8)) ?? "") }
            }
        }
        func row(_ path: URL) throws -> (host: String?, files: Int?)? {
            let result = try registry.connection.execute(
                """
                SELECT h.name, w.uncommitted_files_count FROM worktrees w LEFT JOIN hosts h ON h.id = w.host_id
                WHERE w.active AND w.path = $1
                """, [path.path])
            return result.count == 1 ? (try result.decode(0, 0, as: String?.self), try result.decode(0, 1, as: Int?.self)) : nil
        }
        for machine in [laptop, desk] {
            for path in [machine.trunk, machine.feature] {
                #expect(try await eventually("\(machine.name) registered and synced \(path.lastPathComponent)") {
                    let found = try row(path)
                    return found?.host == machine.name && found?.files == 0
                })
            }
        }
        #expect(try registry.connection.execute("SELECT count(*) FROM projects").int(0, 0) == 1, "one project: one origin")

        try git.write("laptop edit\n", to: "README.md", in: laptop.feature)
        try git.write("desk 1\n", to: "a.txt", in: desk.feature)
        try git.write("desk 2\n", to: "b.txt", in: desk.feature)
        #expect(try await eventually("laptop's edit") { try row(laptop.feature)?.files == 1 })
        #expect(try await eventually("desk's edits") { try row(desk.feature)?.files == 2 })

        // One connection per agent (writes, heartbeats and LISTEN share it), each as its own role over TCP.
        let sessions = try registry.connection.execute(
            """
            SELECT usename, count(*), bool_and(client_addr IS NOT NULL)
            FROM pg_stat_activity
            WHERE datname = $1 AND usename LIKE 'imi_host_%' GROUP BY usename ORDER BY usename
            """, [database])
        #expect(sessions.rows == [["imi_host_desk", "1", "t"], ["imi_host_laptop", "1", "t"]])

        agents[1].signal(SIGTERM)
        #expect(try await agents[1].exit(within: 20) != nil)
        #expect(try await eventually("desk is stale after three missed heartbeats", seconds: 30) {
            let hosts = try Registry(connection: registry.connection).hosts()
            return hosts.first { $0.name == "desk" }?.stale == true && hosts.first { $0.name == "laptop" }?.stale == false
        })
        let stale = try registry.connection.execute(
            "SELECT host, bool_and(stale) FROM v_inflight_work GROUP BY host ORDER BY host")
        #expect(stale.rows == [["desk", "t"], ["laptop", "f"]])

        agents[0].signal(SIGTERM)
        #expect(try await agents[0].exit(within: 20) != nil)
        // Neither agent read the other's worktrees: no path of one appears in the other's log.
        let laptopLog = try String(contentsOf: laptop.log, encoding: .utf8)
        let deskLog = try String(contentsOf: desk.log, encoding: .utf8)
        #expect(!laptopLog.contains(desk.root.path) && !deskLog.contains(laptop.root.path))
        #expect(!laptopLog.contains("password") && !deskLog.contains("secret"))
    }
}

