import Foundation
import TestSupport

/// Commits ahead of and behind trunk, detached and unborn HEADs.
extension Scenario {
    static let historyScenarios: [Scenario] = [
        onTrunk("ahead of trunk", pinned: Pinned(count: 0, ahead: 2, behind: 0)) { fixture, tree in
            try fixture.write("one\n", to: "one.txt", in: tree)
            try fixture.commitAll("one", in: tree)
            try fixture.write("two\n", to: "two.txt", in: tree)
            try fixture.commitAll("two", in: tree)
        },
        Scenario(name: "behind trunk", pinned: Pinned(count: 0, ahead: 0, behind: 2)) { fixture in
            let project = try trunk(fixture)
            try fixture.advanceOrigin(of: project, message: "upstream one", file: "u1.txt")
            try fixture.advanceOrigin(of: project, message: "upstream two", file: "u2.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: project.trunk)
            return project.trunk
        },
        Scenario(name: "diverged from trunk", pinned: Pinned(ahead: 1, behind: 2)) { fixture in
            let project = try trunk(fixture)
            try fixture.write("local\n", to: "local.txt", in: project.trunk)
            try fixture.commitAll("local work", in: project.trunk)
            try fixture.advanceOrigin(of: project, message: "upstream one", file: "u1.txt")
            try fixture.advanceOrigin(of: project, message: "upstream two", file: "u2.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: project.trunk)
            return project.trunk
        },
        Scenario(
            name: "feature branch that merged trunk back in", pinned: Pinned(ahead: 3, behind: 0)
        ) {
            fixture in
            let project = try trunk(fixture)
            let feature = try fixture.addWorktree("feat-merge", branch: "feat/merge", to: project)
            try fixture.write("f1\n", to: "f1.txt", in: feature)
            try fixture.commitAll("feature one", in: feature)
            try fixture.advanceOrigin(of: project, message: "upstream", file: "u.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: feature)
            try fixture.git(
                ["merge", "--quiet", "--no-ff", "--no-edit", "origin/main"], in: feature)
            try fixture.write("f2\n", to: "f2.txt", in: feature)
            try fixture.commitAll("feature two", in: feature)
            return feature
        },
        onTrunk("detached HEAD", pinned: Pinned(ahead: 1, behind: 0, detached: true)) {
            fixture, tree in
            try fixture.write("d\n", to: "d.txt", in: tree)
            try fixture.commitAll("to detach at", in: tree)
            try fixture.git(["checkout", "--quiet", "--detach", "HEAD"], in: tree)
        },
        Scenario(
            name: "unborn HEAD with an untracked file",
            pinned: Pinned(count: 1, noTrunk: true, unborn: true)
        ) {
            fixture in
            let tree = try fixture.initRepository("fresh")
            try fixture.write("first\n", to: "first.txt", in: tree)
            return tree
        },
        Scenario(
            name: "unborn HEAD with staged files",
            pinned: Pinned(count: 2, noTrunk: true, unborn: true)
        ) {
            fixture in
            let tree = try fixture.initRepository("fresh")
            try fixture.write("first\n", to: "first.txt", in: tree)
            try fixture.write("second\n", to: "dir/second.txt", in: tree)
            try fixture.git(["add", "-A"], in: tree)
            return tree
        },
        onTrunk(
            "unborn branch in a clone that has an origin",
            pinned: Pinned(count: 0, noTrunk: true, unborn: true)
        ) { fixture, tree in
            try fixture.git(["checkout", "--quiet", "--orphan", "orphaned"], in: tree)
            try fixture.git(["rm", "--quiet", "-r", "--cached", "."], in: tree)
            try fixture.git(["clean", "--quiet", "-f", "-d"], in: tree)
        },
    ]
}
