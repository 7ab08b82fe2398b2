import Foundation
import TestSupport
import Testing

/// States of the index's cache-tree, which the probe trusts as git's status does to skip
/// comparing HEAD with the index, and deep trees that a split status opens up.
extension Scenario {
    static let cacheTreeScenarios: [Scenario] = [
        onTrunk("valid cache-tree naming HEAD, worktree edits only", pinned: Pinned(count: 3)) { fixture, tree in
            _ = try fixture.git(["write-tree"], in: tree)
            try fixture.write("changed\n", to: "README.md", in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("docs/api/index.md"))
            try fixture.write("new\n", to: "src/lib/new.swift", in: tree)
        },
        onTrunk("valid cache-tree, then a staged change deep in a subtree", pinned: Pinned(count: 1)) {
            fixture, tree in
            _ = try fixture.git(["write-tree"], in: tree)
            try fixture.write("staged\n", to: "src/lib/util.swift", in: tree)
            _ = try fixture.git(["add", "src/lib/util.swift"], in: tree)
        },
        onTrunk("cache-tree rebuilt after staging: valid, not HEAD's tree", pinned: Pinned(count: 2)) {
            fixture, tree in
            try fixture.write("staged\n", to: "docs/api/index.md", in: tree)
            _ = try fixture.git(["rm", "--quiet", "README.md"], in: tree)
            _ = try fixture.git(["add", "docs"], in: tree)
            _ = try fixture.git(["write-tree"], in: tree)
        },
        onTrunk("intent-to-add entry under a valid cache-tree", pinned: Pinned(count: 2)) { fixture, tree in
            try fixture.write("new\n", to: "src/lib/later.swift", in: tree)
            try fixture.write("other\n", to: "planned.txt", in: tree)
            _ = try fixture.git(["add", "-N", "src/lib/later.swift", "planned.txt"], in: tree)
            _ = try fixture.git(["write-tree"], in: tree)
        },
        onTrunk("index version 4 with a valid cache-tree", pinned: Pinned(count: 2)) { fixture, tree in
            _ = try fixture.git(["update-index", "--index-version", "4"], in: tree)
            _ = try fixture.git(["write-tree"], in: tree)
            try fixture.write("changed\n", to: "src/lib/util.swift", in: tree)
            try fixture.write("new\n", to: "docs/api/new.md", in: tree)
        },
        onTrunk("skip-worktree entry (index version 3) with a valid cache-tree", pinned: Pinned(count: 1)) {
            fixture, tree in
            _ = try fixture.git(["update-index", "--skip-worktree", "docs/guide.md"], in: tree)
            _ = try fixture.git(["write-tree"], in: tree)
            try fixture.write("ignored by git\n", to: "docs/guide.md", in: tree)
            try fixture.write("changed\n", to: "README.md", in: tree)
        },
        // git lists the file replaced by a directory as deleted only .
        Scenario(name: "one deep top-level directory opened up for a split", pinned: Pinned(count: 7)) { fixture in
            var files: [String: String] = ["README.md": "hello\n", "src/blob-then-dir": "blob\n"]
            for module in 0..<4 {
                for directory in 0..<5 {
                    for file in 0..<5 {
                        files["src/m\(module)/d\(directory)/f\(file).txt"] = "\(module) \(directory) \(file)\n"
                    }
                }
            }
            let tree = try trunk(fixture, files: files).trunk
            _ = try fixture.git(["write-tree"], in: tree)
            try fixture.write("changed\n", to: "src/m1/d1/f1.txt", in: tree)
            try fixture.write("u\n", to: "src/new.txt", in: tree)
            try fixture.write("u\n", to: "src/m2/newdir/x/y.txt", in: tree)
            try fixture.write("u\n", to: "src/m1/d4/lone.txt", in: tree)
            try fixture.write("s\n", to: "src/m3/d0/staged.txt", in: tree)
            _ = try fixture.git(["add", "src/m3/d0/staged.txt"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src/m3/d0/staged.txt"))
            _ = try fixture.git(["rm", "--quiet", "src/m0/d0/f0.txt"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src/blob-then-dir"))
            try fixture.write("now a directory\n", to: "src/blob-then-dir/inside.txt", in: tree)
            return tree
        },
    ]
}
