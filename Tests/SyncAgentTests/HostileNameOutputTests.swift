import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// File and worktree names from a hostile checkout reach `conflicts`, `check`, `once` and
/// `status` output quoted: no forged rows, no escape sequences, `--json` exact.
@Suite("Hostile names in command output", .ownThreads)
struct HostileNameOutputTests {
    static let forgedFile = "x\nfake yes"
    static let escapeFile = "\u{1B}]8;;https:evil.example\u{07}click\u{1B}]8;;\u{07}"

    /// Two worktrees changing both hostile files differently: two conflicting overlaps.
    static func setUp() throws -> OverlapTests.Setup {
        let setup = try OverlapTests.Setup()
        for (name, content) in [("a", "from a\n"), ("b", "from b\n")] {
            try setup.git.write(content, to: forgedFile, in: setup.paths[name]!)
            try setup.git.write(content, to: escapeFile, in: setup.paths[name]!)
        }
        #expect(try setup.imiSync(["once"]).status == 0)
        return setup
    }

    static func lines(_ output: String) -> [Substring] {
        output.split(separator: "\n", omittingEmptySubsequences: false)
    }

    @Test("conflicts: one row per overlap, the newline name quoted, no forged row, no ESC")
    func conflictsTable() throws {
        let setup = try Self.setUp()
        let result = try setup.imiSync(["conflicts"])
        #expect(result.status == 2, "\(result.output)")
        let lines = Self.lines(result.output)
        #expect(!lines.contains { $0.hasPrefix("fake yes") }, "forged row:\n\(result.output)")
        #expect(!result.output.contains("\u{1B}") && !result.output.contains("\u{07}"), "\(result.output.debugDescription)")
        #expect(result.output.contains(#""x\nfake yes""#), "\(result.output)")
        #expect(result.output.contains(#""\033]8;;https:evil.example\aclick\033]8;;\a""#), "\(result.output)")
        let rows = lines.filter { $0.hasPrefix("app ") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.hasSuffix("yes") }, "\(result.output)")

        let json = try setup.imiSync(["conflicts", "--json"])
        let document = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let paths = ((document?["pairs"] as? [[String: Any]])?.first?["paths"] as? [[String: Any]])?.compactMap { $0["path"] as? String }
        #expect(Set(paths ?? []) == [Self.forgedFile, Self.escapeFile], "--json keeps the exact names")
    }

    @Test("check: one line per finding, the file quoted, no forged verdict")
    func checkLines() throws {
        let setup = try Self.setUp()
        let file = setup.paths["a"]!.appendingPathComponent(Self.forgedFile).path
        let result = try setup.imiSync(["check", "--worktree", setup.paths["a"]!.path, file])
        #expect(result.status == 2, "\(result.output)")
        let lines = Self.lines(result.output).filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(result.output)")
        #expect(lines.first?.hasPrefix(#""x\nfake yes": also changed in app/feat-b"#) == true, "\(result.output)")
        #expect(!lines.contains { $0.hasPrefix("fake yes") })
    }

    @Test("once and status: a worktree name with ESC and a newline is quoted")
    func onceAndStatus() throws {
        let setup = try Self.setUp()
        let hostile = "feat-a\u{1B}[2J\nfake clean"
        try setup.registry.connection.execute("UPDATE worktrees SET name = $1 WHERE id = $2", [hostile, setup.ids["a"]!])
        for command in [["once"], ["status"], ["conflicts"]] {
            let result = try setup.imiSync(command)
            #expect(!result.output.contains("\u{1B}"), "\(command): \(result.output.debugDescription)")
            #expect(!Self.lines(result.output).contains { $0.hasPrefix("fake clean") }, "\(command): \(result.output)")
            #expect(result.output.contains(#""feat-a\033[2J\nfake clean""#), "\(command): \(result.output)")
        }
    }

    @Test("an error naming a hostile path is one line without ESC")
    func errorLine() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try ChildProcess(
            try imiSyncBinary(), ["status", "--config", "/nowhere/\u{1B}[31mx\nfake row"],
            environment: ["PATH": "/usr/bin:/bin"], standardOutput: output, standardError: output)
        #expect(process.waitForExit(timeout: 30) == 78)
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(!text.contains("\u{1B}") && Self.lines(text).filter { !$0.isEmpty }.count == 1, "\(text.debugDescription)")
        #expect(text.contains(#"/nowhere/\033[31mx\nfake row"#), "\(text)")
    }
}
