import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent
@testable import WorktreeMembership

/// `scan` on trees of real repositories, with the registry in a real PostgreSQL.
@Suite("imi-sync scan: the registry follows the disk", .ownThreads)
struct ScanTests {
    init() { GitLibrary.initialize() }

    /// A root `code/` holding an iMi-style project `api` (origin, trunk and linked worktrees)
    /// and whatever a test adds.
    struct Tree {
        let git: GitFixture
        let code: URL
        let origin: URL
        let api: URL
        var trunk: URL { api.appendingPathComponent("trunk-main") }

        init() throws {
            git = try GitFixture()
            let project = try git.makeProject("api")
            origin = project.origin
            code = try git.directory("code")
            api = try git.directory("code/api")
            try git.git(["clone", "--quiet", origin.path, api.appendingPathComponent("trunk-main").path], in: code)
        }

        @discardableResult
        func worktree(_ name: String, branch: String? = nil) throws -> URL {
            let path = api.appendingPathComponent(name)
            if let branch {
                try git.git(["worktree", "add", "--quiet", "-b", branch, path.path], in: trunk)
            } else {
                try git.git(["worktree", "add", "--quiet", "--detach", path.path, "HEAD"], in: trunk)
            }
            return path
        }

        func scan(
            _ registry: RegistrySeeder, host: String = "desk", dryRun: Bool = false, roots: [URL]? = nil
        ) throws -> ScanReport {
            try MembershipScan(
                connection: registry.connection, logger: Logger(label: "test"), host: HostScope(name: host),
                depthLimit: 6, dryRun: dryRun
            ).run(roots: (roots ?? [code]).map(\.path))
        }
    }

    /// One worktree row as the tests compare it.
    struct Row: Equatable, CustomStringConvertible {
        var project: String
        var name: String
        var type: String
        var branch: String
        var path: String
        var gitDirectory: String?
        var active: Bool
        var host: String?
        var description: String { "\(project)/\(name) \(type) \(branch) \(path) active=\(active) host=\(host ?? "-")" }
    }

    static func rows(_ registry: RegistrySeeder) throws -> [String: Row] {
        let result = try registry.connection.execute("""
            SELECT w.id, p.name, w.name, t.name, w.branch_name, w.path, w.git_dir, w.active, h.name
            FROM worktrees w JOIN projects p ON p.id = w.project_id JOIN worktree_types t ON t.id = w.type_id
            LEFT JOIN hosts h ON h.id = w.host_id
            """)
        var rows: [String: Row] = [:]
        for index in 0..<result.count {
            rows[try result.decode(index, 0)] = Row(
                project: try result.decode(index, 1), name: try result.decode(index, 2), type: try result.decode(index, 3),
                branch: try result.decode(index, 4), path: try result.decode(index, 5),
                gitDirectory: try result.decode(index, 6, as: String?.self), active: try result.decode(index, 7),
                host: try result.decode(index, 8, as: String?.self))
        }
        return rows
    }

    @Test("registers a tree: awkward names, a detached head, nested and ignored repositories, a symlink loop, a bare repository")
    func registersTree() throws {
        let tree = try Tree()
        let git = tree.git
        let feature = try tree.worktree("feat-a", branch: "feat/a")
        let awkward = try tree.worktree("fix-it's \"q\" | pipe", branch: "fix/awkward")
        let review = try tree.worktree("pr-42")
        let scratch = try tree.worktree("scratch", branch: "scratch")
        let gone = try tree.worktree("feat-gone", branch: "feat/gone")
        try FileManager.default.removeItem(at: gone)
        // Nested repositories: one in a git-ignored directory (never reported), one not.
        try git.write("node_modules/\n", to: ".gitignore", in: tree.trunk)
        let ignored = try git.initRepository("code/api/trunk-main/node_modules/dep")
        let nested = try git.initRepository("code/api/trunk-main/vendor/lib")
        // Deeper down, each worktree's own rules decide: gen/ is ignored in feat-a only.
        try git.write("gen/\n", to: ".gitignore", in: feature)
        let ignoredDeep = try git.initRepository("code/api/feat-a/gen/out/dep")
        let nestedDeep = try git.initRepository("code/api/trunk-main/gen/out/dep")
        let ignoredBuild = try git.initRepository("code/api/trunk-main/node_modules/a/b")
        let hidden = try git.initRepository("code/.cache/repo")
        let solo = try git.initRepository("code/tools/solo", branch: "trunk")
        try git.write("x\n", to: "x.txt", in: solo)
        try git.commitAll("solo", in: solo)
        try FileManager.default.createSymbolicLink(
            at: tree.code.appendingPathComponent("loop"), withDestinationURL: tree.code)
        let bare = tree.code.appendingPathComponent("mirror.git")
        try git.git(["clone", "--quiet", "--bare", tree.origin.path, bare.path], in: tree.code)
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")

        let dry = try tree.scan(registry, dryRun: true)
        #expect(dry.count(.registered) == 6)
        #expect(try Self.rows(registry).isEmpty, "a dry run writes nothing")
        #expect(try Registry(connection: registry.connection).hosts().isEmpty)

        let report = try tree.scan(registry)
        let expected: [String: (project: String, name: String, type: String, branch: String)] = [
            tree.trunk.path: ("api", "trunk-main", "trunk", "main"),
            feature.path: ("api", "feat-a", "feat", "feat/a"),
            awkward.path: ("api", "fix-it's \"q\" | pipe", "fix", "fix/awkward"),
            review.path: ("api", "pr-42", "review", ""),
            scratch.path: ("api", "scratch", "feat", "scratch"),
            solo.path: ("solo", "solo", "trunk", "trunk"),
        ]
        #expect(Set(report.found.map(\.path)) == Set(expected.keys))
        #expect(report.found.allSatisfy { $0.outcome == .registered && $0.id != nil })
        #expect(Set(report.projectsRegistered) == ["api", "solo"])
        let rows = try Self.rows(registry)
        #expect(rows.count == expected.count)
        for row in rows.values {
            let want = try #require(expected[row.path], "\(row)")
            #expect(
                [row.project, row.name, row.type, row.branch] == [want.project, want.name, want.type, want.branch], "\(row)")
            #expect(row.active && row.host == "desk")
        }
        // Branches as git lists them; the git directory is the one git keeps for the worktree.
        let listed = try RepositoryInspectionOracle.worktrees(git, in: tree.trunk)
        for (path, branch) in listed where path != gone.path {
            #expect(rows.values.first { $0.path == path }?.branch == branch ?? "", "\(path)")
        }
        #expect(rows.values.first { $0.path == feature.path }?.gitDirectory == tree.trunk.path + "/.git/worktrees/feat-a")
        let projects = try registry.connection.execute(
            "SELECT name, remote_origin, default_branch, trunk_path FROM projects ORDER BY name")
        #expect(projects.rows == [
            ["api", tree.origin.path, "main", tree.trunk.path], ["solo", "", "trunk", solo.path],
        ])

        let skipped = Dictionary(report.skipped.map { ($0.path, $0.reason) }, uniquingKeysWith: { first, _ in first })
        #expect(skipped[nested.path] == .nested)
        #expect(skipped[nestedDeep.path] == .nested)
        #expect(skipped[ignoredDeep.path] == nil && skipped[ignoredBuild.path] == nil, "\(report.skipped)")
        #expect(skipped[tree.code.appendingPathComponent("loop").path] == .symbolicLink)
        #expect(skipped[bare.path] == .bare)
        #expect(skipped[gone.path] == .prunable)
        #expect(skipped[ignored.path] == nil && skipped[hidden.path] == nil, "ignored and hidden directories are not walked")
        #expect(skipped.count == 5, "\(report.skipped)")

        // Nothing changed on disk: a second scan writes nothing.
        let again = try tree.scan(registry)
        #expect(again.found.allSatisfy { $0.outcome == .unchanged })
        #expect(!again.changesRegistry)
        #expect(try Self.rows(registry) == rows)
    }

    @Test("moved worktrees keep their row; removed ones are deactivated; a prunable one is reported missing")
    func movesAndRemovals() throws {
        let tree = try Tree()
        let git = tree.git
        let feature = try tree.worktree("feat-a", branch: "feat/a")
        let scratch = try tree.worktree("scratch", branch: "scratch")
        let lost = try tree.worktree("feat-lost", branch: "feat/lost")
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        _ = try tree.scan(registry)
        let before = try Self.rows(registry)
        let id = { (path: URL) in before.first { $0.value.path == path.path }!.key }
        let featureID = id(feature)
        let scratchID = id(scratch)
        let lostID = id(lost)
        try registry.connection.execute(
            "UPDATE worktrees SET agent_id = 'claude-7', metadata = '{\"ticket\": 42}' WHERE id = $1", [featureID])

        let moved = tree.api.appendingPathComponent("feat-renamed")
        try git.git(["worktree", "move", feature.path, moved.path], in: tree.trunk)
        try git.git(["worktree", "remove", scratch.path], in: tree.trunk)
        try FileManager.default.removeItem(at: lost)
        try git.git(["checkout", "--quiet", "-b", "topic"], in: tree.trunk)

        let report = try tree.scan(registry)
        let after = try Self.rows(registry)
        #expect(after.count == before.count, "never a second row")
        #expect(after[featureID]?.path == moved.path)
        #expect(after[featureID]?.name == "feat-a", "the name a row was registered with stays")
        #expect(report.found.first { $0.id == featureID }?.outcome == .repaired)
        #expect(report.found.first { $0.id == featureID }?.previousPath == feature.path)
        let kept = try registry.connection.execute("SELECT agent_id, metadata->>'ticket' FROM worktrees WHERE id = $1", [featureID])
        #expect(kept.rows == [["claude-7", "42"]], "columns a person set stay")
        #expect(after[scratchID]?.active == false, "removed: deactivated, not deleted")
        #expect(report.deactivated.map(\.id) == [scratchID])
        let gone = { try registry.connection.execute("SELECT gone_at IS NOT NULL FROM worktrees WHERE id = $1", [scratchID]).bool(0, 0) }
        #expect(try gone() == true, "gone_at says imi-sync found it gone")
        #expect(after[lostID]?.active == true)
        #expect(report.missing.map(\.id) == [lostID], "git still lists it: missing, not deactivated")
        #expect(after.values.first { $0.path == tree.trunk.path }?.branch == "topic")

        // The worktree comes back at its old path: its old row is active again.
        try git.git(["worktree", "add", "--quiet", scratch.path, "scratch"], in: tree.trunk)
        let back = try tree.scan(registry)
        #expect(back.found.first { $0.path == scratch.path }?.outcome == .reactivated)
        #expect(try Self.rows(registry)[scratchID]?.active == true)
        #expect(try gone() == false)
    }

    @Test("a project directory moved and repaired with git worktree repair keeps every row")
    func projectMoved() throws {
        let tree = try Tree()
        let feature = try tree.worktree("feat-a", branch: "feat/a")
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        _ = try tree.scan(registry)
        let before = try Self.rows(registry)

        let renamed = tree.code.appendingPathComponent("api-renamed")
        try FileManager.default.moveItem(at: tree.api, to: renamed)
        let trunk = renamed.appendingPathComponent("trunk-main")
        try tree.git.git(["worktree", "repair", renamed.appendingPathComponent("feat-a").path], in: trunk)

        let report = try tree.scan(registry)
        let after = try Self.rows(registry)
        #expect(Set(after.keys) == Set(before.keys))
        #expect(Set(after.values.map(\.path)) == [trunk.path, renamed.appendingPathComponent("feat-a").path])
        #expect(report.count(.repaired) == 2)
        #expect(report.deactivated.isEmpty)
        let trunkPath = try registry.connection.execute("SELECT trunk_path FROM projects").string(0, 0)
        #expect(trunkPath == trunk.path)
        _ = feature
    }

    @Test("rows from before hosts are adopted with their ids; another host's rows are never touched")
    func hostsAndLegacyRows() throws {
        let tree = try Tree()
        let feature = try tree.worktree("feat-a", branch: "feat/a")
        let spike = try tree.worktree("spike-x", branch: "spike/x")
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        try registry.connection.execute(
            "INSERT INTO worktree_types (name, branch_prefix, worktree_prefix) VALUES ('spike', 'spike/', 'spike-')")
        // As a legacy import left them: no host, no git directory, the remote written another way.
        let projectID = try registry.addProject("api", trunkPath: "/old/place", remote: "file://" + tree.origin.path)
        let legacyID = try registry.addWorktree(project: projectID, name: "feat-a", path: feature.path, branch: "feat/a")
        let laptop = try Registry(connection: registry.connection).registerHost(named: "laptop", agentVersion: nil)
        let theirs = try registry.addWorktree(project: projectID, name: "feat-theirs", path: tree.api.path + "/feat-theirs")
        try registry.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = $2", [laptop, theirs])

        let report = try tree.scan(registry)
        let rows = try Self.rows(registry)
        #expect(rows[legacyID]?.host == "desk", "adopted")
        #expect(rows[legacyID]?.gitDirectory == tree.trunk.path + "/.git/worktrees/feat-a")
        #expect(report.found.first { $0.id == legacyID }?.outcome == .updated)
        #expect(rows[theirs] == Row(
            project: "api", name: "feat-theirs", type: "feat", branch: "feat-theirs", path: tree.api.path + "/feat-theirs",
            gitDirectory: nil, active: true, host: "laptop"), "gone here, but not this host's: untouched")
        #expect(rows.values.first { $0.path == spike.path }?.type == "spike", "custom types by their prefix")
        #expect(try registry.connection.execute("SELECT count(*) FROM projects").int(0, 0) == 1, "matched by origin")
        #expect(try registry.connection.execute("SELECT trunk_path FROM projects").string(0, 0) == tree.trunk.path)
    }

    @Test("an unreadable directory is reported as permission denied, and the scan goes on")
    func permissionDenied() throws {
        let tree = try Tree()
        let locked = try tree.git.directory("code/private")
        _ = try tree.git.initRepository("code/private/secret")
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        // root reads everything: the scan runs as the unprivileged user the cluster runs as.
        let runAs: String? = geteuid() == 0 ? "postgres" : nil
        if runAs != nil {
            try capture("/bin/chmod", ["-R", "a+rX", tree.git.root.path])
        }
        try capture("/bin/chmod", ["000", locked.path])
        defer { _ = try? capture("/bin/chmod", ["755", locked.path]) }
        let arguments = [
            "scan", "--dry-run", "--json", "--host", "desk", "--database-url", registry.settings.conninfo,
            "--config", "/dev/null", tree.code.path,
        ]
        let binary = try imiSyncBinary().path
        let output = try runAs.map { try capture("/usr/sbin/runuser", ["-u", $0, "--", binary] + arguments) }
            ?? capture(binary, arguments)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let skipped = try #require(document["skipped"] as? [[String: Any]])
        #expect(skipped.contains { $0["path"] as? String == locked.path && $0["reason"] as? String == "permission denied" })
        let found = try #require(document["worktrees"] as? [[String: Any]])
        #expect(found.count == 1 || runAs != nil, "the trunk is still found")
    }

    @Test("scan exits 1 when a root does not exist and reports it in one line")
    func missingRoot() throws {
        let tree = try Tree()
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        let report = try tree.scan(registry, roots: [tree.code, URL(fileURLWithPath: "/nonexistent/root")])
        #expect(report.skipped.map(\.reason) == [.missingRoot])
        #expect(report.count(.registered) == 1)
        let process = try ChildProcess(
            try imiSyncBinary(),
            ["scan", "--database-url", registry.settings.conninfo, "--config", "/dev/null", "/nonexistent/root"],
            environment: ProcessInfo.processInfo.environment, standardOutput: "/dev/null", standardError: "/dev/null")
        #expect(process.waitForExit(timeout: 60) == 1)
    }
}

/// `git worktree list --porcelain -z` as path → branch (`nil` when detached).
enum RepositoryInspectionOracle {
    static func worktrees(_ git: GitFixture, in directory: URL) throws -> [(String, String?)] {
        var listed: [(String, String?)] = []
        for field in try git.git(["worktree", "list", "--porcelain", "-z"], in: directory).split(separator: "\0") {
            if field.hasPrefix("worktree ") {
                listed.append((String(field.dropFirst("worktree ".count)), nil))
            } else if field.hasPrefix("branch refs/heads/") {
                listed[listed.count - 1].1 = String(field.dropFirst("branch refs/heads/".count))
            }
        }
        return listed
    }
}
