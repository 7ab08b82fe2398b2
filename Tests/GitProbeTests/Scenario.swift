import Foundation
import TestSupport
import Testing

/// One worktree state built with the git CLI, probed by `GitProbe` and asked of the CLI.
struct Scenario: Sendable, CustomTestStringConvertible {
    /// Values this scenario must produce whatever git says, so a wrong oracle cannot pass.
    struct Pinned: Sendable {
        var count: Int?
        var ahead: Int?
        var behind: Int?
        var trunkRef: String?
        /// Expect ahead, behind and trunkRef all `nil`.
        var noTrunk = false
        /// Expect `branch == nil`.
        var detached = false
        /// Expect hash and message `nil`.
        var unborn = false
    }

    var name: String
    var defaultBranch = "main"
    var pinned = Pinned()
    /// Builds the worktree in the fixture and returns its path.
    var build: @Sendable (GitFixture) throws -> URL

    var testDescription: String { name }
}

extension Scenario {
    /// Files every standard project starts with: top-level and nested, several directories.
    static let standardFiles = [
        "README.md": "hello\n",
        "src/main.swift": "print(\"main\")\n",
        "src/lib/util.swift": "let util = 1\n",
        "docs/guide.md": "guide\n",
        "docs/api/index.md": "api\n",
    ]

    /// A trunk clone of a fresh project; `origin/HEAD` is set by the clone.
    static func trunk(
        _ fixture: GitFixture, defaultBranch: String = "main",
        files: [String: String] = standardFiles
    ) throws -> GitFixture.Project {
        try fixture.makeProject("proj", defaultBranch: defaultBranch, files: files)
    }

    /// Every scenario the differential test runs.
    static let all: [Scenario] =
        workingTreeScenarios + historyScenarios + trunkScenarios + pathScenarios
        + configScenarios + partitionScenarios + submoduleScenarios + cacheTreeScenarios

    /// A scenario on a fresh trunk clone: `change` makes the state in it, and the trunk is
    /// what is probed.
    static func onTrunk(
        _ name: String, pinned: Pinned,
        _ change: @escaping @Sendable (_ fixture: GitFixture, _ tree: URL) throws -> Void
    ) -> Scenario {
        Scenario(name: name, pinned: pinned) { fixture in
            let tree = try trunk(fixture).trunk
            try change(fixture, tree)
            return tree
        }
    }
}
