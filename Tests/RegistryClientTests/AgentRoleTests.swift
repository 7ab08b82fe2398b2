import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@Suite("deploy/roles.sql: the agent's least-privilege role")
struct AgentRoleTests {
    static let rolesSQL: String = {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("deploy/roles.sql"), encoding: .utf8)) ?? ""
    }()

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
            "UPDATE worktrees SET path = '/elsewhere'",
            "UPDATE worktrees SET active = false",
            "UPDATE worktrees SET metadata = '{\"x\":1}'",
            "UPDATE projects SET name = 'renamed'",
            "DELETE FROM worktrees",
            "INSERT INTO projects (name, trunk_path) VALUES ('x', '/x')",
            "INSERT INTO agent_activities (agent_id, worktree_id, activity_type) SELECT 'a', id, 'other' FROM worktrees",
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
}
