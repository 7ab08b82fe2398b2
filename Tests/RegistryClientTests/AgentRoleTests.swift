import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@Suite("deploy/roles.sql: the agent's least-privilege role", .ownThreads)
struct AgentRoleTests {
    static let rolesSQL = DeployFiles.rolesSQL

    /// A migrated registry with one worktree, roles.sql applied, and a connection as the agent.
    func agentConnection() throws -> (owner: RegistrySeeder, agent: PostgresConnection, worktree: String) {
        let owner = try RegistrySeeder.freshRegistry()
        let project = try owner.addProject("p")
        let worktree = try owner.addWorktree(project: project, name: "w", path: "/tmp/p/w")
        #expect(!Self.rolesSQL.isEmpty)
        try owner.connection.executeScript(StaticScript(Self.rolesSQL))
        let database = try owner.connection.execute("SELECT current_database()").string(0, 0)!
        let agent = try PostgresConnection(
            settings: try PostgresCluster.shared().settings(database: database, user: "imi_sync_agent"))
        return (owner, agent, worktree)
    }

    @Test("the agent reads the registry and writes git state")
    func canSync() throws {
        let (owner, agent, worktree) = try agentConnection()
        let registry = Registry(connection: agent)
        #expect(try registry.activeWorktrees().map(\.id) == [worktree])
        let written = try registry.write([
            GitStateUpdate(
                worktreeID: worktree, uncommittedFilesCount: 4, aheadOfTrunk: 1, behindTrunk: 2,
                lastCommitHash: "abc", lastCommitMessage: "msg", readAt: Date())
        ])
        #expect(written == 1)
        #expect(try owner.gitColumns(of: worktree).uncommittedFilesCount == 4)
    }

    @Test(
        "every other change is refused with SQLSTATE 42501",
        arguments: [
            "UPDATE worktrees SET name = 'renamed'",
            "UPDATE worktrees SET type_id = 1",
            "UPDATE worktrees SET metadata = '{\"x\":1}'",
            "UPDATE projects SET name = 'renamed'",
            "UPDATE projects SET active = false",
            "UPDATE hosts SET role_name = 'imi_sync_agent'",
            "DELETE FROM worktrees",
            "DELETE FROM projects",
            "INSERT INTO worktree_types (name) VALUES ('x')",
            "SELECT * FROM agent_activities",
            "TRUNCATE worktrees",
            "CREATE TABLE intruder (id int)",
            "DROP TABLE worktrees",
        ])
    func cannotChangeAnythingElse(statement: String) throws {
        let (owner, agent, worktree) = try agentConnection()
        let error = #expect(throws: PostgresError.self) { try agent.execute(statement) }
        #expect(error?.sqlState == "42501")
        let row = try owner.connection.execute(
            "SELECT name, path, active FROM worktrees WHERE id = $1", [worktree])
        #expect(row.rows.first == ["w", "/tmp/p/w", "t"])
    }

    @Test("the agent claims and releases for its host's mcp sessions (its hub), and logs the claim")
    func claimsForItsSessions() throws {
        let (owner, agent, worktree) = try agentConnection()
        let registry = Registry(connection: agent)
        let claimed = try #require(try registry.claim(worktree, agent: "session-a", leaseSeconds: 60))
        #expect(claimed.claimed && claimed.holder == "session-a")
        #expect(try registry.claim(worktree, agent: "session-b", leaseSeconds: nil)?.claimed == false)
        #expect(try registry.release(worktree, agent: "session-a") == true)
        let logged: Int = try owner.connection.execute("SELECT count(*)::int FROM agent_activities WHERE worktree_id = $1", [worktree]).decode(0, 0)
        #expect(logged >= 1)
    }

    @Test("the single agent also keeps membership: registers, moves and deactivates worktrees")
    func canKeepMembership() throws {
        let (owner, agent, worktree) = try agentConnection()
        let registry = Registry(connection: agent)
        let host = try registry.registerHost(named: "desk", agentVersion: "0.2.0")
        var changes = MembershipChanges()
        changes.newProjects = [.init(name: "q", remoteOrigin: "", defaultBranch: "main", trunkPath: "/tmp/q/trunk-main")]
        changes.newWorktrees = [.init(
            project: .new(index: 0), typeID: 1, name: "trunk-main", branchName: "main", path: "/tmp/q/trunk-main",
            gitDirectory: "/tmp/q/trunk-main/.git")]
        changes.worktreeUpdates = [.init(id: worktree, path: "/tmp/p/moved", gitDirectory: "/tmp/p/.git", branchName: "b")]
        let ids = try registry.withMembershipLock { try registry.apply(changes, host: host) }
        #expect(ids.count == 1)
        var gone = MembershipChanges()
        gone.deactivations = [worktree]
        try registry.withMembershipLock { try registry.apply(gone, host: host) }
        let row = try owner.connection.execute("SELECT path, active, host_id FROM worktrees WHERE id = $1", [worktree])
        #expect(row.rows.first == ["/tmp/p/moved", "f", host])
    }

    /// Two hosts, each with its own login role made by `imi_grant_host`, and one row each.
    func twoHosts() throws -> (owner: RegistrySeeder, a: PostgresConnection, rowA: String, rowB: String, hostB: String) {
        let (owner, _, legacyRow) = try agentConnection()
        try owner.connection.execute("CALL imi_grant_host($1, $2)", ["host-a", "imi_host_a"])
        try owner.connection.execute("CALL imi_grant_host($1, $2)", ["host-b", "imi_host_b"])
        let hostA: String = try owner.connection.execute("SELECT id FROM hosts WHERE name = 'host-a'").decode(0, 0)
        let hostB: String = try owner.connection.execute("SELECT id FROM hosts WHERE name = 'host-b'").decode(0, 0)
        let project: String = try owner.connection.execute("SELECT project_id FROM worktrees WHERE id = $1", [legacyRow]).decode(0, 0)
        let rowA = try owner.addWorktree(project: project, name: "wa", path: "/srv/a")
        let rowB = try owner.addWorktree(project: project, name: "wb", path: "/srv/b")
        try owner.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = $2", [hostA, rowA])
        try owner.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = $2", [hostB, rowB])
        let database = try owner.databaseName()
        let a = try PostgresConnection(settings: try PostgresCluster.shared().settings(database: database, user: "imi_host_a"))
        return (owner, a, rowA, rowB, hostB)
    }

    @Test("row-level security: host A's role writes its own rows and cannot change host B's")
    func hostRolesAreFenced() throws {
        let (owner, a, rowA, rowB, hostB) = try twoHosts()
        let registry = Registry(connection: a)
        func state(_ id: String) -> GitStateUpdate {
            GitStateUpdate(
                worktreeID: id, uncommittedFilesCount: 9, aheadOfTrunk: 0, behindTrunk: 0, lastCommitHash: "c",
                lastCommitMessage: "m", readAt: Date())
        }
        #expect(try registry.write([state(rowA)]) == 1)
        #expect(try registry.write([state(rowB)]) == 0, "B's row is invisible to A's updates")
        #expect(try owner.gitColumns(of: rowA).uncommittedFilesCount == 9)
        #expect(try owner.gitColumns(of: rowB).uncommittedFilesCount == nil)
        #expect(try a.execute("UPDATE worktrees SET active = false WHERE id = $1", [rowB]).affectedRows == 0)
        #expect(try a.execute("UPDATE hosts SET last_seen_at = now() WHERE id = $1", [hostB]).affectedRows == 0)
        // Giving its row away, writing a row for B, or registering as B breaks the policy.
        for (statement, parameters) in [
            ("UPDATE worktrees SET host_id = $2 WHERE id = $1", [rowA, hostB]),
            ("INSERT INTO worktrees (project_id, type_id, name, branch_name, path, host_id) "
                + "SELECT project_id, type_id, 'new', 'main', '/srv/new', $2 FROM worktrees WHERE id = $1", [rowA, hostB]),
        ] as [(String, [String])] {
            let error = #expect(throws: PostgresError.self) { try a.execute(statement, parameters) }
            #expect(error?.sqlState == "42501", "\(statement)")
        }
        let impostor = #expect(throws: PostgresError.self) { try registry.registerHost(named: "host-b", agentVersion: "x") }
        #expect(impostor?.sqlState == "42501")
        #expect(try owner.connection.execute("SELECT host_id FROM worktrees WHERE id = $1", [rowB]).string(0, 0) == hostB)
        #expect(try owner.connection.execute("SELECT agent_version FROM hosts WHERE id = $1", [hostB]).string(0, 0) == nil)

        // Its own host row, and the rows no host has adopted yet, are its to take.
        let hostA = try registry.registerHost(named: "host-a", agentVersion: "0.2.0", heartbeatSeconds: 30, starting: true)
        try registry.touchHost(hostA)
        let legacy: String = try owner.connection.execute("SELECT id FROM worktrees WHERE host_id IS NULL").decode(0, 0)
        #expect(try registry.adopt([legacy], host: hostA) == 1)
    }

    @Test("a git-state write that row-level security filters out is refused, naming the row's host, not counted as written")
    func filteredWriteIsRefused() throws {
        let (owner, a, rowA, rowB, _) = try twoHosts()
        func state(_ id: String) -> GitStateUpdate {
            GitStateUpdate(
                worktreeID: id, uncommittedFilesCount: 5, aheadOfTrunk: 0, behindTrunk: 0, lastCommitHash: "c",
                lastCommitMessage: "m", readAt: Date())
        }
        let outcome = try Registry(connection: a).writeChanged([state(rowA), state(rowB)])
        #expect(outcome.changed == [rowA])
        #expect(outcome.refused == [rowB: .notWritable(role: "imi_host_a", host: "host-b")])
        #expect(try owner.gitColumns(of: rowB).uncommittedFilesCount == nil)
        // Written already (same state again), or a row no longer active: nothing to refuse.
        try owner.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [rowB])
        let again = try Registry(connection: a).writeChanged([state(rowA), state(rowB)])
        #expect(again.changed.isEmpty && again.refused.isEmpty)
    }

    @Test("row-level security: host A's role writes the change sets and verdicts of its own worktrees only")
    func forecastRowsAreFenced() throws {
        let (owner, a, rowA, rowB, _) = try twoHosts()
        let registry = Registry(connection: a)
        func changeSet(_ id: String) -> ChangeSetUpdate {
            ChangeSetUpdate(
                worktreeID: id, headCommit: "h", baseCommit: "b", workingTree: "t",
                changes: [.init(path: "README.md", kind: "modified")])
        }
        try registry.writeChangeSets([changeSet(rowA)])
        #expect(try owner.connection.execute("SELECT count(*) FROM worktree_changes WHERE worktree_id = $1", [rowA]).int(0, 0) == 1)
        let foreign = #expect(throws: PostgresError.self) { try registry.writeChangeSets([changeSet(rowB)]) }
        #expect(foreign?.sqlState == "42501")
        let (first, second) = rowA < rowB ? (rowA, rowB) : (rowB, rowA)
        let pair = #expect(throws: PostgresError.self) {
            try registry.writeVerdicts([PairVerdict(worktreeA: first, worktreeB: second, treeA: "x", treeB: "y", conflictPaths: [])])
        }
        #expect(pair?.sqlState == "42501", "a pair with another host's worktree is not A's to judge")
        #expect(try owner.connection.execute("SELECT count(*) FROM worktree_change_sets WHERE worktree_id = $1", [rowB]).int(0, 0) == 0)
        // Everyone reads them: A sees its own change set through the view's tables.
        #expect(try a.execute("SELECT count(*) FROM worktree_changes").int(0, 0) == 1)
    }
}
