import Foundation
import TestSupport
import Testing

@testable import SyncAgent

#if canImport(Glibc)
import Glibc
#endif

/// Every path whose change can change `git status --porcelain` is watched: each case sets up a
/// worktree, starts the agent (reconcile at its 30-minute default, so no safety net helps),
/// makes one change that only a watch on the right path can see, and expects the row to reach
/// the git CLI's count.
@Suite("run sees every change that changes the porcelain output", .serialized, .ownThreads)
struct WatchCoverageTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// Builds the worktree before the agent starts; returns the trunk to register.
        var setUp: @Sendable (GitFixture) throws -> URL
        /// The change made while the agent runs. `settled` waits until the row has the count
        /// git gives now (so a change made next cannot be mistaken for this one's).
        var change: @Sendable (GitFixture, URL, _ settled: () async throws -> Void) async throws -> Void
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a tracked file inside a git-ignored directory is edited") { fixture in
            let project = try fixture.makeProject("app", files: [".gitignore": "build/\n", "README.md": "x\n"])
            try fixture.write("keep\n", to: "build/keep.txt", in: project.trunk)
            try fixture.git(["add", "-f", "build/keep.txt"], in: project.trunk)
            try fixture.commit("track a file in an ignored directory", in: project.trunk)
            return project.trunk
        } change: { fixture, trunk, _ in
            try fixture.write("edited\n", to: "build/keep.txt", in: trunk)
        },
        Case(name: "a directory is un-ignored by editing .gitignore, then a file is created in it") { fixture in
            let project = try fixture.makeProject("app", files: [".gitignore": "gen/\n", "README.md": "x\n"])
            try fixture.directory("app/trunk-main/gen")
            return project.trunk
        } change: { fixture, trunk, settled in
            try fixture.write("# nothing ignored\n", to: ".gitignore", in: trunk)
            try await settled()
            try fixture.write("new\n", to: "gen/new.txt", in: trunk)
        },
        Case(name: "a file in a directory whose name is not UTF-8 is edited") { fixture in
            let project = try fixture.makeProject("app")
            let directory = Array(project.trunk.path.utf8) + Array("/d".utf8) + [0xFF]
            #expect(RawPath.mkdir(directory) == 0)
            #expect(RawPath.write(directory + Array("/f.txt".utf8), "one\n"))
            try fixture.commitAll("a directory named with a byte that is not UTF-8", in: project.trunk)
            return project.trunk
        } change: { _, trunk, _ in
            let file = Array(trunk.path.utf8) + Array("/d".utf8) + [0xFF] + Array("/f.txt".utf8)
            #expect(RawPath.write(file, "two\n"))
        },
        Case(name: "a commit inside a submodule (the superproject shows ' M sub')") { fixture in
            let library = try fixture.makeProject("lib")
            let project = try fixture.makeProject("app")
            try fixture.git(["submodule", "--quiet", "add", library.origin.path, "sub"], in: project.trunk)
            try fixture.commit("add the submodule", in: project.trunk)
            return project.trunk
        } change: { fixture, trunk, _ in
            try fixture.commit("moves only the submodule's HEAD", in: trunk.appendingPathComponent("sub"))
        },
        Case(name: "a pattern is added to the common info/exclude") { fixture in
            let project = try fixture.makeProject("app")
            try fixture.write("scratch\n", to: "scratch.txt", in: project.trunk)
            return project.trunk
        } change: { fixture, trunk, _ in
            try fixture.write("scratch.txt\n", to: ".git/info/exclude", in: trunk)
        },
        Case(name: "a pattern is added to the core.excludesFile outside the repository") { fixture in
            let project = try fixture.makeProject("app")
            let ignore = try fixture.directory("elsewhere").appendingPathComponent("ignore")
            try Data().write(to: ignore)
            try fixture.git(["config", "core.excludesFile", ignore.path], in: project.trunk)
            try fixture.write("notes\n", to: "notes.tmp", in: project.trunk)
            return project.trunk
        } change: { fixture, _, _ in
            try Data("*.tmp\n".utf8).write(to: fixture.root.appendingPathComponent("elsewhere/ignore"))
        },
    ]

    @Test("the row follows the git CLI after the change", arguments: cases)
    func rowFollowsChange(_ testCase: Case) async throws {
        let fixture = try GitFixture()
        let trunk = try testCase.setUp(fixture)
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let projectID = try registry.addProject("app", trunk: trunk)
        let id = try registry.addWorktree("trunk-main", path: trunk, project: projectID)
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            let before = try fixture.porcelainLineCount(in: trunk)
            #expect(try registry.row(id).files == before)

            let settled: () async throws -> Void = {
                let expected = try fixture.porcelainLineCount(in: trunk)
                _ = try await eventually("row settled at \(expected)") { try registry.row(id).files == expected }
            }
            try await testCase.change(fixture, trunk, settled)
            let after = try fixture.porcelainLineCount(in: trunk)
            #expect(after != before, "the change must change git's answer, or the case proves nothing")
            #expect(try await eventually("row follows git (\(after))") { try registry.row(id).files == after })
        }
    }
}

/// File operations on paths given as bytes, for names Foundation cannot spell.
enum RawPath {
    static func mkdir(_ path: [UInt8]) -> Int32 {
        withCString(path) { Glibc.mkdir($0, 0o755) }
    }

    static func write(_ path: [UInt8], _ text: String) -> Bool {
        withCString(path) { name in
            let descriptor = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else { return false }
            defer { close(descriptor) }
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) } == bytes.count
        }
    }

    private static func withCString<Result>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> Result) -> Result {
        (path.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
