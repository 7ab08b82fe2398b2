import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@Suite("worktree types: list, add, remove and their refusals", .ownThreads)
struct WorktreeTypeTests {
    @Test("the built-ins are listed first, marked built in, with how many active worktrees use each")
    func listsBuiltIns() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let project = try registry.addProject("p")
        try registry.addWorktree(project: project, name: "feat-a", path: "/srv/p/feat-a")
        let inactive = try registry.addWorktree(project: project, name: "feat-b", path: "/srv/p/feat-b")
        try registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [inactive])
        let types = try Registry(connection: registry.connection).worktreeTypes()
        #expect(types.map(\.name) == ["aiops", "devops", "feat", "fix", "review", "trunk"])
        #expect(types.allSatisfy { $0.builtIn })
        let feat = try #require(types.first { $0.name == "feat" })
        #expect(feat.worktreePrefix == "feat-" && feat.branchPrefix == "feat/" && feat.description == "Feature development")
        #expect(feat.activeWorktrees == 1, "the inactive row is not counted")
        #expect(types.first { $0.name == "review" }?.worktreePrefix == "pr-")
    }

    @Test("a custom type is added, listed after the built-ins, and removed while nothing uses it")
    func addAndRemove() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let types = Registry(connection: registry.connection)
        let added = try types.addWorktreeType(name: "spike", worktreePrefix: "spike-", branchPrefix: "spike/", description: "Try it")
        #expect(added.name == "spike" && !added.builtIn && added.activeWorktrees == 0)
        let listed = try types.worktreeTypes()
        #expect(listed.last == added)
        try types.removeWorktreeType(named: "spike")
        #expect(try types.worktreeTypes().map(\.name).contains("spike") == false)
    }

    @Test(
        "add refuses, in one line naming the type and the registry",
        arguments: [
            ("spike", "spike2-", RegistryError.Code.duplicate, "worktree type 'spike' already exists in "),
            ("feature", "feat-", .duplicate, "type 'feat' already has worktree prefix 'feat-'"),
            ("", "x-", .invalid, "a name is one word"),
            ("two words", "x-", .invalid, "a name is one word"),
            ("bare", "", .invalid, "its worktree prefix is empty"),
        ] as [(String, String, RegistryError.Code, String)])
    func addRefusals(name: String, prefix: String, code: RegistryError.Code, message: String) throws {
        let registry = try RegistrySeeder.freshRegistry()
        let types = Registry(connection: registry.connection)
        try types.addWorktreeType(name: "spike", worktreePrefix: "spike-", branchPrefix: "spike/")
        let error = #expect(throws: RegistryError.self) {
            try types.addWorktreeType(name: name, worktreePrefix: prefix, branchPrefix: "b/")
        }
        #expect(error?.code == code)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
        #expect(try types.worktreeTypes().count == 7, "nothing added")
    }

    @Test("remove refuses a built-in, a type any worktree row uses (saying how many) and an unknown name")
    func removeRefusals() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let types = Registry(connection: registry.connection)
        try types.addWorktreeType(name: "spike", worktreePrefix: "spike-", branchPrefix: "spike/")
        let project = try registry.addProject("p")
        try registry.addWorktree(project: project, name: "spike-a", path: "/srv/p/spike-a", type: "spike")
        let old = try registry.addWorktree(project: project, name: "spike-b", path: "/srv/p/spike-b", type: "spike")
        try registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [old])
        let cases: [(String, RegistryError.Code, String)] = [
            ("feat", .builtIn, "worktree type 'feat' is built in and cannot be removed"),
            ("spike", .inUse, "worktree type 'spike' is used by 2 worktree rows (1 active, 1 inactive) in "),
            ("nope", .notFound, "no worktree type 'nope' in "),
        ]
        for (name, code, message) in cases {
            let error = #expect(throws: RegistryError.self) { try types.removeWorktreeType(named: name) }
            #expect(error?.code == code, "\(name)")
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        }
        #expect(try types.worktreeTypes().count == 7)
        // Once its rows are gone, it can go.
        try registry.connection.execute("DELETE FROM worktrees WHERE type_id = (SELECT id FROM worktree_types WHERE name = 'spike')")
        try types.removeWorktreeType(named: "spike")
    }

    @Test("the agent's and the MCP server's roles read types but may not add or remove them", arguments: ["imi_sync_agent", "imi_sync_mcp"])
    func agentRolesOnlyRead(role: String) throws {
        let owner = try RegistrySeeder.freshRegistry()
        try owner.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        try Registry(connection: owner.connection).addWorktreeType(name: "spike", worktreePrefix: "spike-", branchPrefix: "spike/")
        let connection = try PostgresConnection(
            settings: try PostgresCluster.shared().settings(database: try owner.databaseName(), user: role))
        let types = Registry(connection: connection)
        #expect(try types.worktreeTypes().count == 7)
        let add = #expect(throws: RegistryError.self) {
            try types.addWorktreeType(name: "other", worktreePrefix: "other-", branchPrefix: "other/")
        }
        #expect(add?.code == .permission)
        #expect(add?.message.contains("cannot add worktree type 'other' in \(role)@") == true, "\(add?.message ?? "")")
        let remove = #expect(throws: RegistryError.self) { try types.removeWorktreeType(named: "spike") }
        #expect(remove?.code == .permission)
        #expect(try types.worktreeTypes().map(\.name).contains("spike"))
    }
}
