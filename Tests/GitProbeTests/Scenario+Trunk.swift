import Foundation
import TestSupport

/// Which ref is trunk: origin/HEAD, origin/<default>, the local default branch, or none.
extension Scenario {
    static let trunkScenarios: [Scenario] = [
        onTrunk(
            "no origin/HEAD falls back to origin/<default>",
            pinned: Pinned(ahead: 1, behind: 0, trunkRef: "refs/remotes/origin/main")
        ) { fixture, tree in
            try fixture.git(["remote", "set-head", "origin", "--delete"], in: tree)
            try fixture.write("w\n", to: "w.txt", in: tree)
            try fixture.commitAll("work", in: tree)
        },
        onTrunk(
            "dangling origin/HEAD falls back to origin/<default>",
            pinned: Pinned(trunkRef: "refs/remotes/origin/main")
        ) { fixture, tree in
            try fixture.git(
                ["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/vanished"],
                in: tree)
        },
        onTrunk(
            "no origin falls back to the local default branch",
            pinned: Pinned(ahead: 1, behind: 0, trunkRef: "refs/heads/main")
        ) { fixture, tree in
            try fixture.git(["remote", "remove", "origin"], in: tree)
            try fixture.git(["checkout", "--quiet", "-b", "topic"], in: tree)
            try fixture.write("t\n", to: "t.txt", in: tree)
            try fixture.commitAll("topic work", in: tree)
        },
        Scenario(name: "no trunk at all", pinned: Pinned(count: 0, noTrunk: true)) { fixture in
            let tree = try fixture.initRepository("lonely", branch: "topic")
            try fixture.write("t\n", to: "t.txt", in: tree)
            try fixture.commitAll("only commit", in: tree)
            return tree
        },
        Scenario(
            name: "develop as default branch",
            defaultBranch: "develop",
            pinned: Pinned(ahead: 1, behind: 1, trunkRef: "refs/remotes/origin/HEAD")
        ) { fixture in
            let project = try trunk(fixture, defaultBranch: "develop")
            let feature = try fixture.addWorktree("feat-x", branch: "feat/x", to: project)
            try fixture.write("x\n", to: "x.txt", in: feature)
            try fixture.commitAll("feature x", in: feature)
            try fixture.advanceOrigin(of: project, message: "upstream", file: "u.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: feature)
            return feature
        },
        Scenario(
            name: "develop default without origin/HEAD",
            defaultBranch: "develop",
            pinned: Pinned(ahead: 0, behind: 1, trunkRef: "refs/remotes/origin/develop")
        ) { fixture in
            let project = try trunk(fixture, defaultBranch: "develop")
            try fixture.git(["remote", "set-head", "origin", "--delete"], in: project.trunk)
            try fixture.advanceOrigin(of: project, message: "upstream", file: "u.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: project.trunk)
            return project.trunk
        },
        Scenario(
            name: "linked worktree from git worktree add",
            pinned: Pinned(count: 2, ahead: 1, behind: 0)
        ) { fixture in
            let project = try trunk(fixture)
            let feature = try fixture.addWorktree("feat-login", branch: "feat/login", to: project)
            try fixture.write("login\n", to: "src/login.swift", in: feature)
            try fixture.commitAll("add login", in: feature)
            try fixture.write("edited\n", to: "README.md", in: feature)
            try fixture.write("scratch\n", to: "notes/scratch.txt", in: feature)
            // Trunk's own state must not leak into the linked worktree's answer.
            try fixture.write("trunk only\n", to: "trunk-only.txt", in: project.trunk)
            return feature
        },
        Scenario(name: "detached linked worktree", pinned: Pinned(count: 0, detached: true)) {
            fixture in
            let project = try trunk(fixture)
            let path = project.directory.appendingPathComponent("review-1")
            try fixture.git(
                ["worktree", "add", "--quiet", "--detach", path.path, "HEAD"], in: project.trunk)
            return path
        },
    ]
}
