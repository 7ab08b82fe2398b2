import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// The registry as MCP resources, read and subscribed to with the official Python MCP client.
@Suite("imi-sync mcp resources and subscriptions with the official Python MCP client", .ownThreads)
struct McpResourceTests {
    @Test("resources read as the commands' documents; a subscription is told of a change within a second")
    func subscribe() throws {
        guard let python = McpTests.python() else { return }
        let setup = try OverlapTests.Setup()
        let a = setup.paths["a"]!
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: a)
        #expect(try setup.imiSync(["once"]).status == 0)
        try setup.git.write("another\n", to: "another.txt", in: a)
        let conninfo = setup.registry.settings.conninfo
        let environment = ["PATH": "/usr/bin:/bin", "HOME": setup.git.home.path]
        let scenario: [String: Any] = [
            "binary": try imiSyncBinary().path,
            "arguments": ["mcp", "--database-url", conninfo, "--config", "/dev/null", "--host", "here"],
            "environment": environment, "id": setup.ids["a"]!, "project": "app",
            "change": [try imiSyncBinary().path, "once", "--database-url", conninfo, "--config", "/dev/null", "--host", "here"],
        ]
        let output = setup.git.root.appendingPathComponent("resources.json").path
        let errors = setup.git.root.appendingPathComponent("resources.err").path
        let client = try ChildProcess(
            URL(fileURLWithPath: python),
            [McpTests.repository.appendingPathComponent("Tests/mcp/resources.py").path,
             String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)],
            environment: environment, standardOutput: output, standardError: errors)
        let status = client.waitForExit(timeout: 120)
        let stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(stderr)")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let report = try #require((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], "\(text) \(stderr)")
        #expect(report["subscribe_capability"] as? Bool == true)
        #expect(report["resources"] as? [String] == ["imi://inflight"])
        #expect(report["templates"] as? [String] == ["imi://worktree/{id}", "imi://overlaps/{project}"])
        let inflight = (report["inflight"] as? [String: Any])?["inflight"] as? [[String: Any]]
        #expect(inflight?.map { $0["worktree_id"] as? String } == [setup.ids["a"]!], "imi://inflight is status --json")
        let worktree = (report["worktree"] as? [String: Any])?["worktree"] as? [String: Any]
        #expect(worktree?["path"] as? String == a.path)
        #expect((report["unknown"] as? String)?.contains("is not a resource of this server") == true)
        let updates = (report["updated"] as? [[String: Any]]) ?? []
        let uris = Set(updates.compactMap { $0["uri"] as? String })
        #expect(uris.isSuperset(of: ["imi://inflight", "imi://worktree/\(setup.ids["a"]!)"]), "\(updates)")
    }
}
