import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// `once` stores change sets and verdicts; v_worktree_overlaps, `conflicts` and `check`
/// answer from them: real git worktrees, a real PostgreSQL, the built binary.
@Suite("Overlap forecast: once, v_worktree_overlaps, conflicts and check", .ownThreads)
struct OverlapTests {
    struct Setup {
        let git: GitFixture
        let registry: RegistrySeeder
        let project: GitFixture.Project
        var ids: [String: String] = [:]
        var paths: [String: URL] = [:]

        init() throws {
            git = try GitFixture()
            registry = try RegistrySeeder.freshRegistry(prefix: "overlap")
            project = try git.makeProject("app", files: ["README.md": "a\nb\nc\nd\ne\nf\n", "src/app.c": "int x;\n", "docs/guide.md": "g\n"])
            let projectID = try registry.addProject("app", trunk: project.trunk)
            ids["trunk"] = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
            paths["trunk"] = project.trunk
            for name in ["a", "b", "c", "d"] {
                let path = try git.addWorktree("feat-\(name)", branch: "feat/\(name)", to: project)
                paths[name] = path
                ids[name] = try registry.addWorktree("feat-\(name)", path: path, project: projectID, branch: "feat/\(name)")
            }
        }

        func imiSync(_ arguments: [String], host: String = "here") throws -> (status: Int32?, output: String) {
            let output = git.root.appendingPathComponent("out-\(UUID().uuidString)").path
            let process = try ChildProcess(
                try imiSyncBinary(),
                arguments + ["--database-url", registry.connection.settings.conninfo, "--config", "/dev/null", "--host", host],
                environment: ["PATH": "/usr/bin:/bin", "HOME": git.home.path], standardOutput: output,
                standardError: output)
            let status = process.waitForExit(timeout: 60)
            return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        }

        /// (a, b, path) -> conflict, with names instead of ids.
        func overlaps() throws -> [String: String] {
            let names = Dictionary(uniqueKeysWithValues: ids.map { ($0.value, $0.key) })
            var rows: [String: String] = [:]
            for record in try Registry(connection: registry.connection).overlaps() {
                let pair = [names[record.worktreeA]!, names[record.worktreeB]!].sorted().joined(separator: "+")
                rows[pair + " " + record.path] = record.conflict.map { $0 ? "conflict" : "clean" } ?? "unknown"
            }
            return rows
        }
    }

    @Test("overlaps by path, conflicts from the in-memory merge, other hosts unknown, kept current by once")
    func forecastEndToEnd() throws {
        let setup = try Setup()
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["a"]!)
        try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["b"]!)
        try setup.git.write("int a;\n", to: "src/app.c", in: setup.paths["a"]!)
        try setup.git.commitAll("a's change", in: setup.paths["a"]!)
        try setup.git.write("a\nb\nc\nd\ne\nC\n", to: "README.md", in: setup.paths["c"]!)
        try setup.git.write("new\n", to: "only-d.txt", in: setup.paths["d"]!)
        // c lives on another machine: its host's agent computes its change set.
        let elsewhere = try Registry(connection: setup.registry.connection).registerHost(named: "elsewhere", agentVersion: nil)
        try setup.registry.connection.execute("UPDATE worktrees SET host_id = $1 WHERE id = $2", [elsewhere, setup.ids["c"]!])

        #expect(try setup.imiSync(["once"]).status == 0)
        #expect(try setup.imiSync(["once"], host: "elsewhere").status == 0)
        #expect(try setup.overlaps() == [
            "a+b README.md": "conflict",
            "a+c README.md": "unknown",
            "b+c README.md": "unknown",
        ])
        let changeSet = try setup.registry.connection.execute(
            "SELECT path, kind FROM worktree_changes WHERE worktree_id = $1 ORDER BY path", [setup.ids["a"]!])
        #expect(try (0..<changeSet.count).map { try changeSet.decode($0, 0) as String } == ["README.md", "src/app.c"])

        let conflicts = try setup.imiSync(["conflicts", "--json"])
        #expect(conflicts.status == 2)
        #expect(conflicts.output.contains("\"conflict\" : true") || conflicts.output.contains("\"conflict\":true"), "\(conflicts.output)")

        let aReadme = setup.paths["a"]!.appendingPathComponent("README.md").path
        let checked = try setup.imiSync(["check", "--worktree", setup.paths["a"]!.path, aReadme])
        #expect(checked.status == 2, "\(checked.output)")
        let dFile = setup.paths["d"]!.appendingPathComponent("README.md").path
        #expect(try setup.imiSync(["check", "--worktree", setup.paths["d"]!.path, dFile]).status == 2 - 1,
                "d does not change README.md itself: others do, no conflict predicted for d")
        let guide = setup.paths["a"]!.appendingPathComponent("docs/guide.md").path
        #expect(try setup.imiSync(["check", "--worktree", setup.paths["a"]!.path, guide]).status == 0)

        // b resolves its side the same way a did: still an overlap, now a clean merge.
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["b"]!)
        #expect(try setup.imiSync(["once"]).status == 0)
        #expect(try setup.overlaps()["a+b README.md"] == "clean")
        #expect(try setup.imiSync(["check", "--worktree", setup.paths["b"]!.path, setup.paths["b"]!.appendingPathComponent("README.md").path]).status == 1)
    }

    @Test("run keeps the forecast live: an edit that creates or removes an overlap reaches the view")
    func liveUnderRun() async throws {
        let setup = try Setup()
        try await withRunningAgent(RunningAgent(settings: setup.registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try await eventually("first forecast") { running.statistics.forecastPasses >= 1 })
            #expect(try setup.overlaps().isEmpty)

            try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["a"]!)
            try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["b"]!)
            #expect(try await eventually("overlap with a conflict") { try setup.overlaps() == ["a+b README.md": "conflict"] })

            try setup.git.write("a\nb\nc\nd\ne\nF\n", to: "README.md", in: setup.paths["b"]!)
            #expect(try await eventually("still overlapping, now clean") { try setup.overlaps() == ["a+b README.md": "clean"] })

            try setup.git.git(["checkout", "--quiet", "--", "README.md"], in: setup.paths["b"]!)
            #expect(try await eventually("overlap gone") { try setup.overlaps().isEmpty })
        }
    }

    @Test("a large matrix (merged on several threads) gives every pair's verdict")
    func largeMatrix() throws {
        let git = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "matrix")
        let project = try git.makeProject("big", files: ["shared.txt": (1...20).map(String.init).joined(separator: "\n") + "\n"])
        let projectID = try registry.addProject("big", trunk: project.trunk)
        var ids: [String] = []
        for index in 1...9 {
            let path = try git.addWorktree("feat-\(index)", branch: "feat/\(index)", to: project)
            ids.append(try registry.addWorktree("feat-\(index)", path: path, project: projectID, branch: "feat/\(index)"))
            // Odd ones all rewrite line 1 (they conflict with each other); even ones a line of
            // their own, never next to another's (adjacent changes conflict in git too).
            var lines = (1...20).map(String.init)
            if index % 2 == 1 { lines[0] = "by \(index)" } else { lines[2 * index + 2] = "by \(index)" }
            try git.write(lines.joined(separator: "\n") + "\n", to: "shared.txt", in: path)
        }
        let output = git.root.appendingPathComponent("once.out").path
        let once = try ChildProcess(
            try imiSyncBinary(), ["once", "--database-url", registry.connection.settings.conninfo, "--config", "/dev/null"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": git.home.path], standardOutput: output, standardError: output)
        #expect(once.waitForExit(timeout: 60) == 0)
        let verdicts = try registry.connection.execute("SELECT count(*) FROM worktree_pair_verdicts").int(0, 0)
        #expect(verdicts == 36, "every pair of 9 overlapping worktrees merged")
        let conflicting = try registry.connection.execute(
            "SELECT count(DISTINCT (worktree_id_a, worktree_id_b)) FROM worktree_pair_conflicts").int(0, 0)
        #expect(conflicting == 10, "the 5 odd worktrees conflict pairwise: 5 * 4 / 2")
        let clean = try registry.connection.execute(
            "SELECT count(*) FROM v_worktree_overlaps WHERE conflict = false").int(0, 0)
        #expect(clean == 26)

        // imi_overlaps() (migration 013) answers what the statement it replaced did: same rows,
        // same order, whichever filters are given, called often enough for a cached plan.
        let statement = """
            SELECT p.name, o.worktree_id_a, wa.name, wa.path, ha.name, o.worktree_id_b, wb.name, wb.path, hb.name,
                   o.path, o.kind_a, o.kind_b, o.conflict, sa.stale_since, sb.stale_since
            FROM v_worktree_overlaps o
            JOIN projects p ON p.id = o.project_id
            JOIN worktree_change_sets sa ON sa.worktree_id = o.worktree_id_a
            JOIN worktree_change_sets sb ON sb.worktree_id = o.worktree_id_b
            JOIN worktrees wa ON wa.id = o.worktree_id_a
            JOIN worktrees wb ON wb.id = o.worktree_id_b
            LEFT JOIN hosts ha ON ha.id = wa.host_id
            LEFT JOIN hosts hb ON hb.id = wb.host_id
            WHERE ($1::text IS NULL OR p.name = $1)
              AND ($2::uuid IS NULL OR o.worktree_id_a = $2::uuid OR o.worktree_id_b = $2::uuid)
              AND ($3::text[] IS NULL OR o.path = ANY($3::text[])
                   OR (right(o.path, 1) = '/' AND EXISTS (SELECT 1 FROM unnest($3::text[]) q WHERE starts_with(q, o.path))))
            ORDER BY p.name, wa.name, wb.name, o.path
            """
        let function = """
            SELECT project, worktree_id_a, name_a, path_a, host_a, worktree_id_b, name_b, path_b, host_b,
                   path, kind_a, kind_b, conflict, stale_since_a, stale_since_b
            FROM imi_overlaps($1::text, $2::uuid, $3::text[])
            """
        try registry.connection.execute("UPDATE worktree_change_sets SET stale_since = now() WHERE worktree_id = $1::uuid", [ids[2]])
        let cases: [(String?, String?, [String]?)] = [
            (nil, nil, nil), ("big", nil, nil), ("other", nil, nil), (nil, ids[0], nil), (nil, ids[8], ["shared.txt"]),
            (nil, nil, ["shared.txt", "x"]), (nil, nil, ["x"]), ("big", ids[3], nil),
        ]
        for _ in 0..<3 {
            for (project, worktree, paths) in cases {
                let old = try registry.connection.execute(statement, [project, worktree, paths]).rows
                let new = try registry.connection.execute(function, [project, worktree, paths]).rows
                #expect(new == old, "imi_overlaps(\(project ?? "NULL"), \(worktree ?? "NULL"), \(paths ?? []))")
            }
        }
        #expect(try registry.connection.execute(function, [String?.none, String?.none, [String]?.none]).rows.count == 36)
        #expect(try Registry(connection: registry.connection).overlaps().count == 36)
    }
}
