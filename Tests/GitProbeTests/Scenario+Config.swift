import Foundation
import TestSupport

/// git config that changes what status prints.
extension Scenario {
    static let configScenarios: [Scenario] = [
        onTrunk("status.showUntrackedFiles=all lists every file", pinned: Pinned(count: 3)) {
            fixture, tree in
            try fixture.git(["config", "status.showUntrackedFiles", "all"], in: tree)
            try fixture.write("1\n", to: "new/a.txt", in: tree)
            try fixture.write("2\n", to: "new/deep/b.txt", in: tree)
            try fixture.write("3\n", to: "c.txt", in: tree)
        },
        onTrunk("status.showUntrackedFiles=no hides untracked", pinned: Pinned(count: 1)) {
            fixture, tree in
            try fixture.git(["config", "status.showUntrackedFiles", "no"], in: tree)
            try fixture.write("1\n", to: "new/a.txt", in: tree)
            try fixture.write("changed\n", to: "README.md", in: tree)
        },
        onTrunk("status.renames=false prints a rename as two lines", pinned: Pinned(count: 2)) {
            fixture, tree in
            try fixture.git(["config", "status.renames", "false"], in: tree)
            try fixture.git(["mv", "README.md", "README.txt"], in: tree)
        },
        onTrunk("diff.renames=false is honoured by status", pinned: Pinned(count: 2)) {
            fixture, tree in
            try fixture.git(["config", "diff.renames", "false"], in: tree)
            try fixture.git(["mv", "README.md", "README.txt"], in: tree)
        },
    ]
}
