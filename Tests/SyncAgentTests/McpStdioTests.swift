import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// `imi-sync mcp` fed raw bytes on standard input by Tests/mcp/raw_stdio.py (no MCP library:
/// what a broken or hostile peer may send). Each case ends by checking that a normal call is
/// still answered.
@Suite("imi-sync mcp on raw stdio: NUL, long lines, calls before initialize, oversized ids", .ownThreads)
struct McpStdioTests {
    /// Runs the named cases of raw_stdio.py against a fresh registry; its report, and the setup.
    static func run(_ cases: [String], extra: [String: Any] = [:]) throws -> ([String: Any], OverlapTests.Setup) {
        let setup = try OverlapTests.Setup()
        let errors = setup.git.root.appendingPathComponent("mcp-server.err").path
        var scenario: [String: Any] = [
            "binary": try imiSyncBinary().path,
            "arguments": [
                "mcp", "--database-url", setup.registry.connection.settings.conninfo, "--config", "/dev/null",
                "--host", "here",
            ],
            "environment": ["PATH": "/usr/bin:/bin", "HOME": setup.git.home.path],
            "stderr": errors, "path": setup.paths["a"]!.path, "cases": cases,
        ]
        scenario.merge(extra) { _, new in new }
        let output = setup.git.root.appendingPathComponent("raw-report.json").path
        let clientErrors = setup.git.root.appendingPathComponent("raw-client.err").path
        let script = McpTests.repository.appendingPathComponent("Tests/mcp/raw_stdio.py").path
        let client = try ChildProcess(
            URL(fileURLWithPath: "/usr/bin/python3"),
            [script, String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)],
            environment: ["PATH": "/usr/bin:/bin", "HOME": setup.git.home.path], standardOutput: output,
            standardError: clientErrors)
        let status = client.waitForExit(timeout: 240)
        let problems = (try? String(contentsOfFile: clientErrors, encoding: .utf8)) ?? ""
        try #require(status == 0, "raw_stdio.py failed: \(problems.suffix(2000))")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        return (report, setup)
    }

    static func stillServing(_ report: [String: Any]?, _ label: String) {
        let after = report?["after"] as? [String: Any]
        #expect(after?["kind"] as? String == "result" && after?["is_error"] as? Bool == false, "\(label): \(after ?? [:])")
    }

    @Test("tools/call and tools/list before initialize get a JSON-RPC error; ping is answered; after initialize all work")
    func callsBeforeInitialize() throws {
        let (report, _) = try Self.run(["pre_initialize"])
        let pre = try #require(report["pre_initialize"] as? [String: Any])
        let before = try #require(pre["before"] as? [String: Any])
        let call = before["call"] as? [String: Any]
        #expect(call?["kind"] as? String == "error", "\(before)")
        #expect((before["list"] as? [String: Any])?["kind"] as? String == "error", "\(before)")
        #expect((call?["text"] as? String)?.contains("initialize") == true, "\(before)")
        #expect(before["ping"] as? Bool == true)
        #expect(pre["initialized"] as? Bool == true)
        #expect(pre["listed_after"] as? Int == 7)
        Self.stillServing(pre, "pre_initialize")
    }

    @Test("a NUL in any string argument is refused, nothing is claimed under a cut name")
    func nulRefused() throws {
        let (report, setup) = try Self.run(["nul"])
        let nul = try #require(report["nul"] as? [String: Any])
        for label in ["agent_inside", "agent_leading", "path", "project"] {
            let outcome = try #require(nul[label] as? [String: Any], "\(label)")
            #expect(outcome["kind"] as? String == "result" && outcome["is_error"] as? Bool == true, "\(label): \(outcome)")
            #expect((outcome["text"] as? String)?.contains("NUL") == true, "\(label): \(outcome)")
        }
        let holder = try setup.registry.connection.execute("SELECT agent_id FROM worktrees WHERE id = $1", [setup.ids["a"]!])
        #expect(try holder.decode(0, 0, as: String?.self) == nil, "no claim stored under a cut name")
        Self.stillServing(nul, "nul")
    }

    @Test("a 20 MB line is read through, discarded with a parse error, and the next request is answered")
    func longLine() throws {
        let (report, _) = try Self.run(
            ["long_line"], extra: ["long_line_bytes": 20_000_000, "long_line_seconds": 120])
        let long = try #require(report["long_line"] as? [String: Any])
        let normal = try #require(long["normal"] as? [String: Any])
        #expect(normal["kind"] as? String == "result" && normal["is_error"] as? Bool == false, "\(normal)")
        #expect(long["answered_20"] as? Bool == false, "the long line is not answered as a call")
        let parseErrors = try #require(long["parse_errors"] as? [[String: Any]])
        #expect(parseErrors.count == 1 && parseErrors.first?["code"] as? Int == -32700, "\(parseErrors)")
        Self.stillServing(long, "long_line")
    }

    @Test("an oversized agent_id is refused up front; no SQL or connection target in the result")
    func oversizedAgentID() throws {
        let (report, setup) = try Self.run(["oversized_agent"], extra: ["agent_bytes": 300_000])
        let oversized = try #require(report["oversized_agent"] as? [String: Any])
        let claim = try #require(oversized["claim"] as? [String: Any])
        let text = claim["text"] as? String ?? ""
        #expect(claim["is_error"] as? Bool == true, "\(claim)")
        for secret in ["UPDATE", "SELECT", "INSERT", try PostgresCluster.shared().socketDirectory, "127.0.0.1", "postgres@"] {
            #expect(!text.contains(secret), "\(secret) in \(text.prefix(300))")
        }
        #expect(text.contains("agent_id") && text.count < 200, "\(text.prefix(300))")
        let holder = try setup.registry.connection.execute("SELECT agent_id FROM worktrees WHERE id = $1", [setup.ids["a"]!])
        #expect(try holder.decode(0, 0, as: String?.self) == nil)
        Self.stillServing(oversized, "oversized_agent")
    }
}
