import Foundation
import TestSupport

/// Paths git quotes or escapes, and top-level names as the status is split across threads.
extension Scenario {
    static let pathScenarios: [Scenario] = [
        Scenario(
            name: "paths with spaces, quotes, pipes, unicode and newlines", pinned: Pinned(count: 6)
        ) {
            fixture in
            let odd = [
                "with space.txt", "quote\"d.txt", "it's.txt", "pipe|name.txt", "ünïcödé ✓.txt",
                "back\\slash.txt", "tab\tname.txt", "new\nline.txt",
            ]
            var files = standardFiles
            for name in odd { files["odd dir/\(name)"] = "\(name)\n" }
            let tree = try trunk(fixture, files: files)
            try fixture.write("changed\n", to: "odd dir/with space.txt", in: tree.trunk)
            try fixture.write("changed\n", to: "odd dir/pipe|name.txt", in: tree.trunk)
            try fixture.write("changed\n", to: "odd dir/new\nline.txt", in: tree.trunk)
            try FileManager.default.removeItem(
                at: tree.trunk.appendingPathComponent("odd dir/quote\"d.txt"))
            try fixture.write("u\n", to: "un|tracked 'dir'/f.txt", in: tree.trunk)
            try fixture.write("u\n", to: "ünïcödé new.txt", in: tree.trunk)
            return tree.trunk
        }
    ]

    /// Shapes that matter when the status is split by top-level name across threads.
    static let partitionScenarios: [Scenario] = [
        Scenario(name: "top-level names that prefix each other", pinned: Pinned(count: 5)) {
            fixture in
            let files = [
                "pkg/a.txt": "a\n", "pkg.txt": "p\n", "pkg-x/b.txt": "b\n", "pkg0": "0\n",
                "pkg/sub/c.txt": "c\n", "pk": "k\n",
            ]
            let tree = try trunk(fixture, files: files).trunk
            try fixture.write("changed\n", to: "pkg/a.txt", in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("pkg.txt"))
            try fixture.write("changed\n", to: "pkg0", in: tree)
            try fixture.write("y\n", to: "pkg-y/new.txt", in: tree)
            try fixture.write("z\n", to: "pkg/sub/zz/new.txt", in: tree)
            return tree
        },
        Scenario(name: "staged rename across top-level directories", pinned: Pinned(count: 1)) {
            fixture in
            var files = standardFiles
            for letter in ["a", "b", "c", "d", "e", "f"] {
                files["\(letter)/file.txt"] = "\(letter)\n"
            }
            files["a/moved.txt"] = "a long enough body that rename detection pairs it\n"
            let tree = try trunk(fixture, files: files).trunk
            try fixture.git(["mv", "a/moved.txt", "f/moved.txt"], in: tree)
            return tree
        },
        onTrunk("staged new top-level directory deleted from disk", pinned: Pinned(count: 2)) {
            fixture, tree in
            try fixture.write("n\n", to: "newtop/file.txt", in: tree)
            try fixture.git(["add", "newtop"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("newtop"))
            try fixture.directory("proj/trunk-main/gone")
            try fixture.git(["mv", "docs/guide.md", "gone/guide.md"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("gone"))
        },
        Scenario(name: "many directories with a mix of changes", pinned: Pinned(count: 8)) {
            fixture in
            var files: [String: String] = [:]
            for directory in 0..<30 {
                for file in 0..<10 {
                    files["d\(directory)/f\(file).txt"] = "\(directory) \(file)\n"
                }
            }
            let tree = try trunk(fixture, files: files).trunk
            try fixture.write("changed\n", to: "d3/f1.txt", in: tree)
            try fixture.write("changed\n", to: "d17/f9.txt", in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("d29/f0.txt"))
            try FileManager.default.removeItem(at: tree.appendingPathComponent("d29/f1.txt"))
            try fixture.git(["rm", "--quiet", "--cached", "d5/f5.txt"], in: tree)
            try fixture.write("u\n", to: "d8/new/u.txt", in: tree)
            try fixture.write("u\n", to: "top-new.txt", in: tree)
            return tree
        },
    ]
}
