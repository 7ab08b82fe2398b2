import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// Host A's role against host B's rows, with the tricks a session has: its own temporary
/// tables (searched before the schema's when a function names a table without its schema).
@Suite("row-level security holds against a host role's own temporary tables", .ownThreads)
struct HostFenceTests {
    static let rolesSQL = DeployFiles.rolesSQL

    /// Two hosts with roles of their own; B has a project whose trunk is its own, two
    /// worktrees, a change set and a pair verdict. `a` is logged in as A's role.
    struct Fixture {
        var owner: RegistrySeeder
        var a: PostgresConnection
        var database: String
        var hostA: String
        var hostB: String
        var rowA: String
        var rowB: String
        var projectB: String

        /// Every registry row as text, read by the owner: equal before and after means untouched.
        func fingerprint() throws -> String {
            try owner.connection.execute("""
                SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
                    SELECT x::text FROM projects x UNION ALL SELECT x::text FROM worktrees x
                    UNION ALL SELECT x::text FROM hosts x UNION ALL SELECT x::text FROM worktree_change_sets x
                    UNION ALL SELECT x::text FROM worktree_changes x UNION ALL SELECT x::text FROM worktree_pair_verdicts x
                    UNION ALL SELECT x::text FROM worktree_pair_conflicts x) AS r(t)
                """).decode(0, 0)
        }
    }

    static func fixture() throws -> Fixture {
        let owner = try RegistrySeeder.freshRegistry()
        // Twice: roles.sql is applied again on every deploy.
        try owner.connection.executeScript(StaticScript(rolesSQL))
        try owner.connection.executeScript(StaticScript(rolesSQL))
        try owner.connection.execute("CALL imi_grant_host($1, $2)", ["host-a", "imi_host_a"])
        try owner.connection.execute("CALL imi_grant_host($1, $2)", ["host-b", "imi_host_b"])
        let hostA: String = try owner.connection.execute("SELECT id FROM hosts WHERE name = 'host-a'").decode(0, 0)
        let hostB: String = try owner.connection.execute("SELECT id FROM hosts WHERE name = 'host-b'").decode(0, 0)
        let projectA = try owner.addProject("pa", trunkPath: "/srv/a/trunk-main")
        let projectB = try owner.addProject("pb", trunkPath: "/srv/b/trunk-main")
        let rowA = try owner.addWorktree(project: projectA, name: "trunk-main", path: "/srv/a/trunk-main", type: "trunk")
        let rowB = try owner.addWorktree(project: projectB, name: "trunk-main", path: "/srv/b/trunk-main", type: "trunk")
        let rowB2 = try owner.addWorktree(project: projectB, name: "feat-x", path: "/srv/b/feat-x")
        try owner.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = $2", [hostA, rowA])
        try owner.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = ANY($2::uuid[])", [hostB, [rowB, rowB2]])
        try owner.connection.execute(
            "INSERT INTO worktree_change_sets (worktree_id, working_tree, path_count) VALUES ($1, 't', 1)", [rowB])
        try owner.connection.execute(
            "INSERT INTO worktree_changes (worktree_id, path, kind) VALUES ($1, 'README.md', 'modified')", [rowB])
        let (first, second) = rowB < rowB2 ? (rowB, rowB2) : (rowB2, rowB)
        try owner.connection.execute(
            "INSERT INTO worktree_pair_verdicts (worktree_id_a, worktree_id_b, tree_a, tree_b) VALUES ($1, $2, 'x', 'y')",
            [first, second])
        let database = try owner.databaseName()
        let a = try PostgresConnection(settings: try PostgresCluster.shared().settings(database: database, user: "imi_host_a"))
        return Fixture(owner: owner, a: a, database: database, hostA: hostA, hostB: hostB, rowA: rowA, rowB: rowB, projectB: projectB)
    }

    /// What A's statement names: one of B's things, bound as `$1`.
    enum Target: Sendable { case worktree, project, host, nothing }

    static let attempts: [(String, Target)] = [
        ("UPDATE worktrees SET uncommitted_files_count = 7, has_uncommitted_changes = true WHERE id = $1", .worktree),
        ("UPDATE worktrees SET active = false, gone_at = now() WHERE id = $1", .worktree),
        ("UPDATE worktrees SET path = '/etc' WHERE id = $1", .worktree),
        ("INSERT INTO worktrees (project_id, type_id, name, branch_name, path, host_id) "
            + "SELECT project_id, type_id, 'intruder', 'x', '/srv/x', host_id FROM worktrees WHERE id = $1", .worktree),
        ("DELETE FROM worktree_changes WHERE worktree_id = $1", .worktree),
        ("DELETE FROM worktree_change_sets WHERE worktree_id = $1", .worktree),
        ("UPDATE worktree_change_sets SET path_count = 99 WHERE worktree_id = $1", .worktree),
        ("INSERT INTO worktree_changes (worktree_id, path, kind) VALUES ($1, 'evil', 'added')", .worktree),
        ("DELETE FROM worktree_pair_verdicts", .nothing),
        ("INSERT INTO worktree_pair_conflicts SELECT worktree_id_a, worktree_id_b, 'evil' FROM worktree_pair_verdicts", .nothing),
        ("UPDATE projects SET trunk_path = '/etc' WHERE id = $1", .project),
        ("UPDATE projects SET default_branch = 'evil' WHERE id = $1", .project),
        ("UPDATE projects SET remote_origin = 'git@evil:x.git' WHERE id = $1", .project),
        ("UPDATE public.hosts SET last_seen_at = now() WHERE id = $1", .host),
    ]

    @Test("host A's role with a temporary `hosts` naming it B's agent changes none of B's rows", arguments: attempts)
    func temporaryHostsTableChangesNothing(statement: String, target: Target) throws {
        let fixture = try Self.fixture()
        // A role that may create temporary tables (roles.sql takes that away; here it is given back).
        try fixture.owner.connection.executeScript(StaticScript(
            "GRANT TEMPORARY ON DATABASE \(fixture.database) TO imi_host_a"))
        try fixture.a.execute("CREATE TEMP TABLE hosts (id uuid, role_name text)")
        try fixture.a.execute(
            "INSERT INTO hosts SELECT id, current_user FROM public.hosts WHERE name = 'host-b'")
        let before = try fixture.fingerprint()
        let parameters: [String] = switch target {
        case .worktree: [fixture.rowB]
        case .project: [fixture.projectB]
        case .host: [fixture.hostB]
        case .nothing: []
        }
        do {
            let result = try fixture.a.execute(statement, parameters)
            #expect(result.affectedRows == 0, "\(statement) changed \(result.affectedRows) of B's rows")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42501", "\(statement): \(error)")
        }
        #expect(try fixture.fingerprint() == before, "B's rows are as they were")
        // A's own row is still A's to write, temporary table or not.
        let own = try Registry(connection: fixture.a).write([
            GitStateUpdate(worktreeID: fixture.rowA, uncommittedFilesCount: 3, aheadOfTrunk: 0, behindTrunk: 0,
                           lastCommitHash: "c", lastCommitMessage: "m", readAt: Date())
        ])
        #expect(own == 1)
    }

    @Test("agent roles may not create temporary tables or objects in public", arguments: ["imi_host_a", "imi_sync_agent", "imi_sync_mcp"])
    func noTemporaryTables(role: String) throws {
        let fixture = try Self.fixture()
        let connection = try PostgresConnection(
            settings: try PostgresCluster.shared().settings(database: fixture.database, user: role))
        for statement in ["CREATE TEMP TABLE hosts (id uuid, role_name text)", "CREATE TABLE public.intruder (id int)",
                          "CREATE FUNCTION public.now(x int) RETURNS int LANGUAGE sql AS 'SELECT 1'"] {
            let error = #expect(throws: PostgresError.self) { try connection.execute(statement) }
            #expect(error?.sqlState == "42501", "\(role): \(statement)")
        }
    }

    @Test("every function and procedure of the registry runs with search_path pinned to pg_catalog, pg_temp")
    func functionsPinTheirSearchPath() throws {
        let fixture = try Self.fixture()
        let unpinned = try fixture.owner.connection.execute("""
            SELECT p.oid::regprocedure::text FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public'
              AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                              AND d.deptype = 'e')
              AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY(p.proconfig), false)
            ORDER BY 1
            """)
        #expect(unpinned.rows.map { $0[0] } == [])
        // SECURITY DEFINER only where a counter moves or is read (migration 012): no argument,
        // no table, so no role needs a grant on the sequences and none gains anything else.
        let security = try fixture.owner.connection.execute("""
            SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.prosecdef ORDER BY 1
            """)
        #expect(security.rows.map { $0[0] } == ["imi_note_state_change()", "imi_notify_registry_changed()", "imi_registry_versions()"])
    }

    @Test("a host's role updates the git facts of projects whose trunk is its own or nobody's, and inserts projects")
    func projectsOfItsOwnTrunk() throws {
        let fixture = try Self.fixture()
        let b = try PostgresConnection(settings: try PostgresCluster.shared().settings(database: fixture.database, user: "imi_host_b"))
        let registry = Registry(connection: b)
        var changes = MembershipChanges()
        changes.projectUpdates = [.init(id: fixture.projectB, remoteOrigin: "git@example.com:pb.git", defaultBranch: "trunk",
                                        trunkPath: "/srv/b/trunk-main")]
        changes.newProjects = [.init(name: "pn", remoteOrigin: "", defaultBranch: "main", trunkPath: "/srv/b/pn")]
        try registry.withMembershipLock { _ = try registry.apply(changes, host: fixture.hostB) }
        #expect(try fixture.owner.connection.execute("SELECT default_branch FROM projects WHERE id = $1", [fixture.projectB])
            .string(0, 0) == "trunk")
        #expect(try fixture.owner.connection.execute("SELECT count(*) FROM projects WHERE name = 'pn'").int(0, 0) == 1)
        // B's trunk is gone: its project is nobody's, and A may take it over.
        try fixture.owner.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [fixture.rowB])
        #expect(try fixture.a.execute(
            "UPDATE projects SET trunk_path = '/srv/a/pb' WHERE id = $1", [fixture.projectB]).affectedRows == 1)
    }

    @Test(
        "which role may act for which host: a host's role only for its own, the single agent and the owner for any",
        arguments: [
            ("imi_host_a", "host-a", nil), ("imi_sync_agent", "host-b", nil), ("postgres", "host-b", nil),
            ("imi_host_a", "host-b", "its agent role is imi_host_b, and imi_host_a is the agent of host 'host-a'"),
            ("imi_host_a", "host-new", "it has no agent role, and imi_host_a is the agent of host 'host-a'"),
            ("imi_host_orphan", "host-b", "CALL imi_grant_host('host-b', 'imi_host_orphan')"),
        ] as [(String, String, String?)])
    func hostAuthority(role: String, host: String, problem: String?) throws {
        let fixture = try Self.fixture()
        try fixture.owner.connection.executeScript(StaticScript("""
            DO $$ BEGIN
                CREATE ROLE imi_host_orphan LOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$;
            GRANT imi_sync_host TO imi_host_orphan;
            """))
        let connection = try PostgresConnection(
            settings: try PostgresCluster.shared().settings(database: fixture.database, user: role))
        let found = try Registry(connection: connection).hostAuthority(named: host).problem
        if let problem {
            #expect(found?.hasPrefix("role \(role) may not act for host '\(host)': ") == true && found?.contains(problem) == true,
                    "\(found ?? "nil")")
        } else {
            #expect(found == nil)
        }
    }
}
