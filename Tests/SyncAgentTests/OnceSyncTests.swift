import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import ImiSyncCLI
@testable import SyncAgent

@Suite("imi-sync once", .ownThreads)
struct OnceSyncTests {
    init() { GitLibrary.initialize() }

    @Test("writes each worktree's state as the git CLI sees it and keeps a missing one's state")
    func writesWhatGitSees() throws {
        let git = try GitFixture()
        let project = try git.makeProject("api")
        try git.git(["remote", "set-head", "origin", "main"], in: project.trunk)
        let dirty = try git.addWorktree("feat-dirty", branch: "feat/dirty", to: project)
        try git.write("edit\n", to: "README.md", in: dirty)
        try git.write("new\n", to: "notes/todo.txt", in: dirty)
        let ahead = try git.addWorktree("fix-ahead", branch: "fix/ahead", to: project)
        try git.write("fix\n", to: "fix.txt", in: ahead)
        try git.commitAll("Fix O'Brien's \"bug\"; DROP TABLE worktrees; --", in: ahead)
        try git.advanceOrigin(of: project, message: "upstream moves")
        try git.git(["fetch", "--quiet", "origin"], in: project.trunk)

        let registry = try RegistrySeeder.freshRegistry()
        let projectID = try registry.addProject("api", trunkPath: project.trunk.path)
        var ids: [URL: String] = [:]
        for worktree in [project.trunk, dirty, ahead] {
            ids[worktree] = try registry.addWorktree(
                project: projectID, name: worktree.lastPathComponent, path: worktree.path)
        }
        let missingID = try registry.addWorktree(
            project: projectID, name: "feat-gone", path: project.directory.path + "/feat-gone")
        try registry.connection.execute(
            "UPDATE worktrees SET uncommitted_files_count = 3, has_uncommitted_changes = true, last_commit_hash = 'abc' WHERE id = $1",
            [missingID])
        let missingBefore = try registry.gitColumns(of: missingID)

        let report = try OnceSync(connection: registry.connection, logger: Logger(label: "test"), host: .forTests).run()

        #expect(report.outcomes.count == 4)
        #expect(report.rowsWritten == 3)
        #expect(report.failures.map(\.worktree.id) == [missingID])
        #expect(report.failures.first?.failure?.code == .missingPath)
        for (worktree, id) in ids {
            let oracle = try git.cliState(of: worktree, defaultBranch: "main")
            let stored = try registry.gitColumns(of: id)
            #expect(stored.uncommittedFilesCount == oracle.uncommittedFilesCount, "\(worktree.lastPathComponent)")
            #expect(stored.hasUncommittedChanges == (oracle.uncommittedFilesCount > 0))
            #expect(stored.aheadOfTrunk == oracle.aheadOfTrunk, "\(worktree.lastPathComponent)")
            #expect(stored.behindTrunk == oracle.behindTrunk, "\(worktree.lastPathComponent)")
            #expect(stored.lastCommitHash == oracle.lastCommitHash)
            #expect(stored.lastCommitMessage == oracle.lastCommitMessage)
            #expect(stored.lastSyncAt != nil)
        }
        #expect(try registry.gitColumns(of: ids[dirty]!).uncommittedFilesCount == 2)
        #expect(try registry.gitColumns(of: ids[ahead]!).aheadOfTrunk == 1)
        #expect(try registry.gitColumns(of: ids[ahead]!).behindTrunk == 1)
        #expect(
            try registry.gitColumns(of: ids[ahead]!).lastCommitMessage
                == "Fix O'Brien's \"bug\"; DROP TABLE worktrees; --")
        #expect(try registry.gitColumns(of: missingID) == missingBefore)
        let tables = try registry.connection.execute("SELECT count(*) FROM worktrees")
        #expect(tables.int(0, 0) == 4)
    }

    @Test("inactive worktrees are neither read nor written")
    func skipsInactive() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let projectID = try registry.addProject("p")
        let id = try registry.addWorktree(project: projectID, name: "old", path: "/nonexistent/old")
        try registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [id])
        let report = try OnceSync(connection: registry.connection, logger: Logger(label: "test"), host: .forTests).run()
        #expect(report.outcomes.isEmpty)
        #expect(try registry.gitColumns(of: id).lastSyncAt == nil)
    }

    @Test("a database without the schema is one clear error naming the fix")
    func missingSchema() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let error = #expect(throws: RegistryError.self) {
            try OnceSync(connection: connection, logger: Logger(label: "test"), host: .forTests).run()
        }
        #expect(error?.code == .schema)
        #expect(error?.message.contains("imi-sync migrate --schema-only") == true)
        #expect(ExitStatus.report(error!) == ExitStatus.configuration)
    }

    @Test(
        "an unreachable database is one line that never shows the password",
        arguments: [
            "postgresql://imi_app:s3cret-pw@127.0.0.1:1/imi_registry",
            "host=/nonexistent-socket-dir user=imi_app password=s3cret-pw dbname=imi_registry",
            "postgresql://imi_app:s3cret-pw@/imi?host=/nonexistent-socket-dir",
        ])
    func unreachableDatabase(conninfo: String) throws {
        let settings = ConnectionSettings(conninfo: conninfo, origin: "test")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(settings: settings) }
        #expect(error?.code == .connection)
        #expect(error?.description.contains("s3cret-pw") == false)
        #expect(error?.description.contains("imi_app@") == true)
        #expect(error?.description.contains("\n") == false)
        #expect(ExitStatus.report(error!) == ExitStatus.unavailable)
    }

    @Test("a malformed connection string is refused naming its source, without echoing it")
    func malformedConninfo() throws {
        let settings = ConnectionSettings(
            conninfo: "postgresql://u:s3cret-pw@host/db?no_such_option=1", origin: "IMI_DATABASE_URL")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(settings: settings) }
        #expect(error?.code == .invalidInput)
        #expect(error?.description.contains("s3cret-pw") == false)
        #expect(error?.description.contains("IMI_DATABASE_URL") == true)
    }

    @Test("a bad port is a connection error without the password")
    func badPort() throws {
        let settings = ConnectionSettings(conninfo: "postgresql://u:s3cret-pw@host:notaport/db", origin: "test")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(settings: settings) }
        #expect(error?.description.contains("s3cret-pw") == false)
        #expect(error?.description.contains("notaport") == true)
    }

    @Test("--json prints one document with every worktree and nulls for unknowns")
    func jsonDocument() throws {
        let git = try GitFixture()
        let repository = try git.initRepository("unborn/trunk-main")
        let registry = try RegistrySeeder.freshRegistry()
        let projectID = try registry.addProject("unborn", trunkPath: repository.path)
        try registry.addWorktree(project: projectID, name: "trunk-main", path: repository.path)
        try registry.addWorktree(project: projectID, name: "gone", path: "/nonexistent/gone")
        let report = try OnceSync(connection: registry.connection, logger: Logger(label: "test"), host: .forTests).run()

        let text = OnceOutput.json(report)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let worktrees = try #require(document["worktrees"] as? [[String: Any]])
        #expect(worktrees.count == 2)
        let unborn = try #require(worktrees.first { $0["worktree"] as? String == "trunk-main" })
        #expect(unborn["status"] as? String == "clean")
        #expect(unborn["uncommitted_files_count"] as? Int == 0)
        #expect(unborn["ahead_of_trunk"] is NSNull)
        #expect(unborn["last_commit_hash"] is NSNull)
        let gone = try #require(worktrees.first { $0["worktree"] as? String == "gone" })
        #expect(gone["status"] as? String == "error")
        #expect((gone["error"] as? String)?.contains("/nonexistent/gone") == true)
        let summary = try #require(document["summary"] as? [String: Any])
        #expect(summary["worktrees"] as? Int == 2)
        #expect(summary["written"] as? Int == 1)
        #expect(summary["failed"] as? Int == 1)
    }
}

@Suite("Passwords never leak from a failed login", .ownThreads)
struct WrongPasswordTests {
    @Test("a wrong password is one connection error naming the user, not the password")
    func wrongPassword() throws {
        let cluster = try PostgresCluster.shared()
        let wrong = try cluster.passwordSettings(password: "wrong-pw-7f3a")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(settings: wrong) }
        #expect(error?.code == .connection)
        #expect(error?.description.contains("password authentication failed") == true)
        #expect(error?.description.contains("wrong-pw-7f3a") == false)
        #expect(error?.description.contains(PostgresCluster.passwordUser) == true)
        #expect(ExitStatus.report(error!) == ExitStatus.unavailable)

        let right = try cluster.passwordSettings(password: PostgresCluster.passwordUserSecret)
        let connection = try PostgresConnection(settings: right)
        #expect(try connection.execute("SELECT current_user").string(0, 0) == PostgresCluster.passwordUser)
    }
}

@Suite("imi-sync once: exit codes as README documents them", .ownThreads)
struct OnceExitCodeTests {
    /// The server ends the session in the middle of `once` (a trigger terminates its own
    /// backend while the batch UPDATE runs): that is an unreachable database, 69, not 1.
    @Test("the server going away mid-once exits 69 with one line")
    func serverGoesAway() throws {
        let git = try GitFixture()
        let project = try git.makeProject("api")
        let registry = try RegistrySeeder.freshRegistry()
        let projectID = try registry.addProject("api", trunkPath: project.trunk.path)
        _ = try registry.addWorktree(project: projectID, name: "trunk-main", path: project.trunk.path)
        try registry.connection.executeScript(StaticScript("""
            CREATE FUNCTION end_my_session() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
            CREATE TRIGGER end_my_session BEFORE UPDATE OF uncommitted_files_count ON worktrees
                FOR EACH ROW EXECUTE FUNCTION end_my_session();
            """))
        let errors = git.root.appendingPathComponent("once.err").path
        let process = try ChildProcess(
            try imiSyncBinary(), ["once", "--database-url", registry.connection.settings.conninfo, "--config", "/dev/null"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": git.home.path], standardError: errors)
        #expect(process.waitForExit(timeout: 60) == 69)
        let message = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(message.split(separator: "\n").count == 1, "\(message)")
        #expect(message.contains("UPDATE worktrees AS failed on") && message.contains("server closed the connection"))
    }
}
