import Foundation
import Logging
import MCP
import PostgresClient
import RegistryClient
import Testing
import TestSupport

@testable import SyncAgent
@testable import McpServer

/// The MCP server's input side without a process: line framing, argument limits, and what a
/// failed call may say.
@Suite("MCP input: line framing, argument checks, failure text", .ownThreads)
struct McpInputTests {
    static let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("lines are cut at newlines across reads; blank lines are skipped; the last line ends at EOF")
    func framing() {
        var framer = McpLineFramer(maximumLength: 100)
        #expect(framer.append(Array(#"{"a":1}"#.utf8).prefix(3)) == [])
        #expect(framer.append(Array(#"{"a":1}"#.utf8).dropFirst(3) + Array("\n\r\n{\"b\":2}\n{\"c\"".utf8)) == [
            .message(Data(#"{"a":1}"#.utf8)), .message(Data(#"{"b":2}"#.utf8)),
        ])
        #expect(framer.append(Array(":3}".utf8)) == [])
        #expect(framer.finish() == [.message(Data(#"{"c":3}"#.utf8))])
    }

    @Test("a line over the limit is discarded as it streams in, and the next line is whole")
    func overLongLine() {
        var framer = McpLineFramer(maximumLength: 10)
        var events: [McpLineFramer.Event] = []
        for _ in 0..<1000 { events += framer.append([UInt8](repeating: UInt8(ascii: "a"), count: 7)) }
        events += framer.append(Array("a\n{\"ok\":1}\n".utf8))
        #expect(events == [.discarded(bytes: 7001), .message(Data(#"{"ok":1}"#.utf8))])
        #expect(framer.append(Array("0123456789\n".utf8)) == [.message(Data("0123456789".utf8))], "exactly the limit is kept")
    }

    @Test("string arguments with NUL or over their limit are refused", arguments: [
        ("agent_id", "alice\u{0}mallory", "NUL"),
        ("agent_id", "\u{0}x", "NUL"),
        ("path", "/w\u{0}/etc/passwd", "NUL"),
        ("agent_id", String(repeating: "x", count: 201), "longer than 200 bytes"),
        ("path", "/" + String(repeating: "p", count: 4096), "longer than 4096 bytes"),
        ("project", String(repeating: "é", count: 128), "longer than 255 bytes"),
    ])
    func refusedStrings(_ name: String, _ value: String, _ complaint: String) {
        let arguments = McpArguments(tool: "claim_worktree", values: [name: .string(value)])
        #expect {
            _ = try arguments.string(name)
        } throws: { error in
            let text = (error as? McpToolError)?.description ?? ""
            return text.contains(complaint) && text.contains(name) && text.count < 120
        }
    }

    @Test("a tool or argument name is echoed short and escaped")
    func echoedNames() {
        #expect(McpArguments.echoed("verbose") == #""verbose""#)
        #expect(McpArguments.echoed("a\u{0}b") == #""a\0b""#)
        #expect(McpArguments.echoed(String(repeating: "n", count: 1_000_000)).count == 67)
    }

    @Test("strings within their limits pass unchanged")
    func acceptedStrings() throws {
        let arguments = McpArguments(
            tool: "claim_worktree",
            values: ["agent_id": .string(String(repeating: "x", count: 200)), "path": .string("/w/é\ttab")])
        #expect(try arguments.string("agent_id")?.count == 200)
        #expect(try arguments.string("path") == "/w/é\ttab")
    }

    @Test("a registry error becomes a short line without the statement or the connection target")
    func registryErrorText() {
        let failure = PostgresError(
            .query,
            "UPDATE worktrees SET agent_id failed on postgres@/tmp/pg-sock:5432/imi: ERROR: index row requires 12024 bytes, maximum size is 8191",
            sqlState: "54000")
        let text = McpFailure.text(for: failure, tool: "claim_worktree", logger: Self.silent)
        #expect(text == "claim_worktree: a value is too large for the registry (SQLSTATE 54000)")
        let down = PostgresError(.connection, "connection to postgres@/tmp/pg-sock:5432/imi failed: no such file")
        #expect(McpFailure.text(for: down, tool: "registry_stats", logger: Self.silent)
            == "registry_stats: the registry is unreachable")
        let schema = RegistryError(.schema, "no schema in postgres@/tmp/pg-sock:5432/imi: run `imi-sync migrate --schema-only`")
        #expect(!McpFailure.text(for: schema, tool: "list_worktrees", logger: Self.silent).contains("pg-sock"))
        #expect(McpFailure.text(for: McpToolError("x: no worktree"), tool: "x", logger: Self.silent) == "x: no worktree")
    }
}
