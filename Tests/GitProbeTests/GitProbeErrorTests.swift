import Foundation
import GitProbe
import TestSupport
import Testing

/// Paths that are not healthy worktrees fail with a `GitProbeError` naming what and where,
/// never with a crash or a made-up state.
@Suite("GitProbe errors", .ownThreads)
struct GitProbeErrorTests {
    /// Builds a path to probe inside a fresh fixture.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var expected: GitProbeError.Code
        var make: @Sendable (GitFixture) throws -> URL
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "missing path", expected: .missingPath) { fixture in
            fixture.root.appendingPathComponent("does-not-exist")
        },
        Case(name: "plain directory", expected: .notARepository) { fixture in
            try fixture.directory("plain")
        },
        Case(name: "directory inside another repository", expected: .notARepository) { fixture in
            let trunk = try fixture.makeProject("outer", files: ["src/main.swift": "x\n"]).trunk
            return trunk.appendingPathComponent("src")
        },
        Case(name: "regular file", expected: .notARepository) { fixture in
            try fixture.makeProject("outer").trunk.appendingPathComponent("README.md")
        },
        Case(name: "bare repository", expected: .notARepository) { fixture in
            try fixture.makeProject("outer").origin
        },
        Case(name: "the .git directory itself", expected: .notARepository) { fixture in
            try fixture.makeProject("outer").trunk.appendingPathComponent(".git")
        },
        Case(name: "linked worktree whose git dir is gone", expected: .notARepository) { fixture in
            let orphan = try fixture.directory("orphan")
            try fixture.write(
                "gitdir: \(fixture.root.path)/nowhere/.git/worktrees/orphan\n", to: ".git",
                in: orphan)
            return orphan
        },
        Case(name: "garbage in .git/HEAD", expected: .brokenRepository) { fixture in
            let trunk = try fixture.makeProject("outer").trunk
            try fixture.write("garbage\n", to: ".git/HEAD", in: trunk)
            return trunk
        },
        Case(name: "HEAD names an invalid ref", expected: .brokenRepository) { fixture in
            let trunk = try fixture.makeProject("outer").trunk
            try fixture.write("ref: refs/heads/../../escape\n", to: ".git/HEAD", in: trunk)
            return trunk
        },
        Case(name: "branch points at a missing commit", expected: .brokenRepository) { fixture in
            let trunk = try fixture.makeProject("outer").trunk
            try fixture.write(
                "1234567890123456789012345678901234567890\n", to: ".git/refs/heads/main", in: trunk)
            return trunk
        },
        Case(name: "a 2 GB sparse .git file (read bounded, never whole)", expected: .fileTooLarge) { fixture in
            let top = try fixture.directory("huge-git-file")
            let handle = try FileHandle(forWritingTo: {
                let url = top.appendingPathComponent(".git")
                FileManager.default.createFile(atPath: url.path, contents: Data("gitdir: x\n".utf8))
                return url
            }())
            try handle.truncate(atOffset: 2 << 30)
            try handle.close()
            return top
        },
        Case(name: "a FIFO as HEAD (never opened blocking)", expected: .notARepository) { fixture in
            let trunk = try fixture.makeProject("outer").trunk
            let head = trunk.appendingPathComponent(".git/HEAD").path
            try FileManager.default.removeItem(atPath: head)
            #expect(mkfifo(head, 0o644) == 0)
            return trunk
        },
        Case(name: "a .gitignore over git's 100 MiB pattern-file limit (sparse)", expected: .fileTooLarge) { fixture in
            let trunk = try fixture.makeProject("outer").trunk
            let url = trunk.appendingPathComponent(".gitignore")
            FileManager.default.createFile(atPath: url.path, contents: Data("*.log\n".utf8))
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: 101 << 20)
            try handle.close()
            return trunk
        },
        Case(name: "corrupt index", expected: .brokenRepository) { fixture in
            let trunk = try fixture.makeProject("outer").trunk
            try fixture.write("not an index at all\n", to: ".git/index", in: trunk)
            return trunk
        },
    ]

    @Test("probe fails with the right code", arguments: cases)
    func failsWithCode(testCase: Case) throws {
        let fixture = try GitFixture()
        let path = try testCase.make(fixture).path

        let error = #expect(throws: GitProbeError.self) {
            try GitProbe().probe(path: path, defaultBranch: "main")
        }

        #expect(error?.code == testCase.expected)
        #expect(error?.path == path)
        let description = error?.description ?? ""
        #expect(description.contains(path))
        #expect(!description.contains("\n"), "the description is one line: \(description)")
    }

    @Test("libgit2 failures carry libgit2's code, class and message")
    func libgit2DetailIsKept() throws {
        let fixture = try GitFixture()
        let trunk = try fixture.makeProject("outer").trunk
        try fixture.write("garbage\n", to: ".git/HEAD", in: trunk)

        let error = #expect(throws: GitProbeError.self) {
            try GitProbe().probe(path: trunk.path, defaultBranch: "main")
        }

        #expect(error?.libgit2Code == -1)  // GIT_ERROR
        #expect(error?.libgit2Class == 4)  // GIT_ERROR_REFERENCE
        #expect(error?.libgit2Message?.contains("HEAD") == true)
        #expect(error?.description.contains("HEAD") == true)
    }

    @Test("description is one line even when libgit2's message has several")
    func descriptionIsOneLine() {
        let error = GitProbeError(
            code: .libgit2, path: "/srv/x", operation: "git_status_list_new",
            libgit2Code: -1, libgit2Class: 7, libgit2Message: "first\nsecond")
        #expect(
            error.description
                == "libgit2 failed at /srv/x (git_status_list_new, code -1, class 7): first second")
    }
}
