import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// `imi-sync serve` in a real browser: Debian's chromium driven by selenium (Tests/serve/
/// browser.py, from the project's .venv), against a registry that `once` and `run` keep, the
/// server logged in as its read-only role with a token.
@Suite("imi-sync serve in a real browser", .serialized, .ownThreads)
struct ServeBrowserTests {
    /// The venv's interpreter with selenium, and chromium with its driver; missing: a failure
    /// under CI=true, else the test says so and stops.
    static func browserPython() -> String? {
        guard let python = McpTests.python() else { return nil }
        let missing = ["/usr/bin/chromium", "/usr/bin/chromedriver"].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        guard missing.isEmpty else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("missing \(missing.joined(separator: ", ")): scripts/test.sh installs chromium and chromium-driver")
            } else {
                print("skipping: missing \(missing.joined(separator: ", "))")
            }
            return nil
        }
        return python
    }

    /// A running `imi-sync serve` and the address it printed.
    struct Server {
        let process: ChildProcess
        let url: String

        init(_ arguments: [String], home: URL) throws {
            let output = home.appendingPathComponent("serve-\(UUID().uuidString).out").path
            process = try ChildProcess(
                try imiSyncBinary(), ["serve", "--listen", "127.0.0.1:0", "--config", "/dev/null"] + arguments,
                environment: ["PATH": "/usr/bin:/bin", "HOME": home.path], standardOutput: output, standardError: output + ".err")
            var printed: String?
            for _ in 0..<600 where printed == nil {
                let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                printed = text.split(separator: "\n").first { $0.hasPrefix("imi-sync serve: http://") }
                    .map { String($0.dropFirst("imi-sync serve: ".count)) }
                if printed == nil { usleep(50_000) }
                if !process.isRunning { break }
            }
            guard let printed else {
                process.signal(SIGKILL)
                let errors = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
                throw TestSupportError("serve did not start: \(errors)")
            }
            url = printed
        }

        func stop() {
            process.signal(SIGTERM)
            _ = process.waitForExit(timeout: 20)
        }
    }

    @Test("the page lists exactly v_inflight_work, shows a conflict, follows an edit without reloading, and needs its token")
    func dashboard() async throws {
        guard let python = Self.browserPython() else { return }
        let setup = try OverlapTests.Setup()
        let (a, b) = (setup.paths["a"]!, setup.paths["b"]!)
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: a)
        try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: b)
        // Markup from the registry is shown as text: an alert would fail the browser script.
        let markup = "<img src=x onerror=alert(1)> & <b>bold</b>"
        try setup.git.write("<script>alert(1)</script>\n", to: "notes.txt", in: setup.paths["c"]!)
        _ = try setup.git.commitAll(markup, in: setup.paths["c"]!)
        try setup.git.write("more\n", to: "more.txt", in: setup.paths["c"]!)
        #expect(try setup.imiSync(["once"]).status == 0)
        let claimed = try Registry(connection: setup.registry.connection).claim(setup.ids["b"]!, agent: "agent-<b>", leaseSeconds: 600)
        #expect(claimed?.claimed == true)
        try setup.registry.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        let database = try setup.registry.databaseName()
        let serveURL = try PostgresCluster.shared().settings(database: database, user: "imi_sync_serve").conninfo
        let tokenFile = setup.git.root.appendingPathComponent("serve.token")
        try "s3cret-dashboard-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokenFile.path)

        let agentLog = setup.git.root.appendingPathComponent("agent.err").path
        let agent = try ChildProcess(
            try imiSyncBinary(),
            ["run", "--database-url", setup.registry.settings.conninfo, "--config", "/dev/null", "--host", "here"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": setup.git.home.path], standardOutput: agentLog, standardError: agentLog)
        defer {
            agent.signal(SIGTERM)
            _ = agent.waitForExit(timeout: 20)
        }
        let server = try Server(["--database-url", serveURL, "--token-file", tokenFile.path, "--host", "here"], home: setup.git.home)
        defer { server.stop() }

        let expected = try setup.registry.connection.execute("SELECT worktree_id::text FROM v_inflight_work ORDER BY 1").rows.map { $0[0] }
        #expect(expected.count == 3, "a, b and c are in flight")
        let pair = [setup.ids["a"]!, setup.ids["b"]!].sorted().joined(separator: ":")
        let screenshot = McpTests.repository.appendingPathComponent("docs/serve.png").path
        let commands = [
            "rows",
            "wait-pair \(pair) conflict",
            "requests",
            "edit \(a.appendingPathComponent("new-file.txt").path) added while the page is open",
            "wait-cell \(setup.ids["a"]!) uncommitted 2",
            "requests",
            "reloaded",
            "wait-cell \(setup.ids["c"]!) commit \(markup)",
            "activity \(setup.ids["b"]!)",
            "phone \(McpTests.repository.appendingPathComponent("docs/serve-phone.png").path)",
            "dark",
            "hunks \(pair) README.md",
            "console",
            "screenshot \(screenshot)",
            "fetch /api/inflight",
            "fetch /events",
            "fetch /",
        ]
        let output = setup.git.root.appendingPathComponent("browser.out").path
        let errors = setup.git.root.appendingPathComponent("browser.err").path
        let browser = try ChildProcess(
            URL(fileURLWithPath: python),
            [McpTests.repository.appendingPathComponent("Tests/serve/browser.py").path, server.url, "s3cret-dashboard-token"] + commands,
            environment: ["PATH": "/usr/bin:/bin", "HOME": setup.git.home.path], standardOutput: output, standardError: errors)
        // Waited for without holding a thread: the browser runs for tens of seconds, and a
        // blocked cooperative thread (two on a 2-core CI machine) would stall other tests.
        let exit = try await browser.exit(within: 180)
        let status: Int32? = if case .status(let code) = exit { code } else { nil }
        let lines = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
        }
        let stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(stderr)")
        try #require(lines.count == commands.count, "\(lines) \(stderr)")
        #expect(lines[0]["ids"] as? [String] == expected, "the page lists exactly the rows of v_inflight_work")
        #expect(lines[1]["ok"] as? Bool == true, "the conflicting pair shows in the matrix")
        #expect(lines[4]["ok"] as? Bool == true, "the edit reached the page")
        // Counted by the page's resource timing: the old page read both documents after every event.
        let (before, after) = (lines[2]["documents"] as? Int, lines[5]["documents"] as? Int)
        #expect((before ?? 0) >= 1, "the page read its documents once: \(lines[2])")
        #expect(before != nil && before == after, "the edit came as a patch: no document read again (\(before ?? -1) -> \(after ?? -1))")
        #expect(lines[6]["reloaded"] as? Bool == false, "without reloading the page")
        #expect(lines[7]["ok"] as? Bool == true, "a commit subject of markup shows as its text")
        let activity = lines[8]["items"] as? [String]
        #expect(activity?.count == 1 && activity?.first?.contains("agent-<b>") == true, "\(activity ?? [])")
        #expect(lines[9]["overflow"] as? Bool == false, "nothing wider than a phone's screen")
        #expect(lines[10]["background"] as? String == "rgb(13, 17, 23)", "the dark scheme")
        let sides = (lines[11]["sides"] as? [String]) ?? []
        #expect(sides.count == 2 && sides.contains { $0.contains("+A") } && sides.contains { $0.contains("+B") },
                "each side's hunk of the conflicting line: \(sides)")
        #expect(lines[12]["errors"] as? [String] == [], "no console errors")
        #expect(lines[14]["status"] as? Int == 401, "data needs the token")
        #expect(lines[15]["status"] as? Int == 401, "so do events")
        #expect(lines[16]["status"] as? Int == 200, "the page itself holds no data")
    }

    @Test("serve refuses to listen off loopback without a token, and a token file others can read")
    func refusals() throws {
        let git = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "serve")
        func serve(_ arguments: [String]) throws -> (Int32?, String) {
            let output = git.root.appendingPathComponent("serve-\(UUID().uuidString).err").path
            let process = try ChildProcess(
                try imiSyncBinary(), ["serve", "--config", "/dev/null", "--database-url", registry.settings.conninfo] + arguments,
                environment: ["PATH": "/usr/bin:/bin", "HOME": git.home.path], standardOutput: output, standardError: output)
            let status = process.waitForExit(timeout: 30)
            return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        }
        let open = try serve(["--listen", "0.0.0.0:0"])
        #expect(open.0 == 78)
        #expect(open.1.contains("listening on 0.0.0.0 needs --token-file"))
        let token = git.root.appendingPathComponent("wide.token")
        try "t0ken\n".write(to: token, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: token.path)
        let wide = try serve(["--listen", "0.0.0.0:0", "--token-file", token.path])
        #expect(wide.0 == 78)
        #expect(wide.1.contains("is readable by group or others (mode 644)"))
        #expect(!wide.1.contains("t0ken"), "the token is never shown")
    }

    static func get(_ url: String, method: String = "GET", token: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test("the API answers the commands' documents, refuses what it does not serve, and /metrics counts streams")
    func api() async throws {
        let setup = try OverlapTests.Setup()
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["a"]!)
        try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["b"]!)
        #expect(try setup.imiSync(["once"]).status == 0)
        let server = try Server(["--database-url", setup.registry.settings.conninfo], home: setup.git.home)
        defer { server.stop() }
        let base = String(server.url.dropLast())

        func object(_ text: String) -> NSDictionary? { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary }
        let (inflightStatus, inflight) = try await Self.get(base + "/api/inflight")
        #expect(inflightStatus == 200)
        let status = try setup.imiSync(["status", "--json"])
        #expect(object(inflight) == object(status.output), "/api/inflight is status --json")
        let (_, overlaps) = try await Self.get(base + "/api/overlaps")
        let conflicts = try setup.imiSync(["conflicts", "--json"])
        #expect(object(overlaps) == object(conflicts.output), "/api/overlaps is conflicts --json")
        let (oneStatus, one) = try await Self.get(base + "/api/worktrees/" + setup.ids["a"]!)
        #expect(oneStatus == 200)
        #expect(((object(one)?["worktree"] as? NSDictionary)?["path"] as? String) == setup.paths["a"]!.path)
        #expect(try await Self.get(base + "/api/worktrees/not-an-id").0 == 400)
        #expect(try await Self.get(base + "/api/worktrees/" + UUID().uuidString.lowercased()).0 == 404)
        #expect(try await Self.get(base + "/api/inflight", method: "POST").0 == 405)
        // This server runs as another host than the worktrees' ("here"): their files are not its to read.
        let pairQuery = "/api/hunks?a=\(setup.ids["a"]!)&b=\(setup.ids["b"]!)&path=README.md"
        let (hunksStatus, hunks) = try await Self.get(base + pairQuery)
        #expect(hunksStatus == 409)
        #expect(hunks.contains("is on host here; its files can be read only there"))
        #expect(try await Self.get(base + "/api/hunks?a=x&b=y&path=README.md").0 == 400)
        let (metricsStatus, metrics) = try await Self.get(base + "/metrics")
        #expect(metricsStatus == 200)
        #expect(metrics.contains("imi_sync_serve_event_streams 0"))
        #expect(metrics.contains("imi_sync_serve_feed_up 1"))

        // Ten pages asking at once after no change cost no read; a change costs one.
        func counter(_ name: String) async throws -> Int {
            let text = try await Self.get(base + "/metrics").1
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
        }
        let readsBefore = try await counter("imi_sync_serve_document_reads_total")
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<10 { group.addTask { try await Self.get(base + "/api/inflight").1 } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(answers) == [inflight], "one document for all ten")
        #expect(try await counter("imi_sync_serve_document_reads_total") == readsBefore, "read from the cache")
        try setup.git.write("new\n", to: "fresh.txt", in: setup.paths["a"]!)
        #expect(try setup.imiSync(["once"]).status == 0)
        var fresh = inflight
        for _ in 0..<200 where fresh == inflight {
            try await Task.sleep(for: .milliseconds(50))
            fresh = try await Self.get(base + "/api/inflight").1
        }
        #expect(fresh != inflight, "read again after the change")
        #expect(try await counter("imi_sync_serve_document_reads_total") > readsBefore)
    }
}
