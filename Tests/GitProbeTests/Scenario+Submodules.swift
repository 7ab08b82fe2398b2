import Foundation
import TestSupport

extension Scenario {
    /// A trunk, its checked-out submodule, and the library project the submodule clones.
    typealias SubmoduleSetup = (trunk: URL, submodule: URL, library: GitFixture.Project)

    /// A trunk with a committed submodule at `modules/library` (checked out), plus the
    /// library's origin so tests can move it.
    static func trunkWithSubmodule(_ fixture: GitFixture) throws -> SubmoduleSetup {
        let library = try fixture.makeProject("library", files: ["lib.txt": "lib\n"])
        let tree = try trunk(fixture).trunk
        try fixture.git(
            ["submodule", "--quiet", "add", library.origin.path, "modules/library"], in: tree)
        try fixture.commitAll("add submodule", in: tree)
        return (tree, tree.appendingPathComponent("modules/library"), library)
    }

    /// A new commit inside the checked-out submodule, so its HEAD differs from the gitlink.
    static func commitInside(_ submodule: URL, _ fixture: GitFixture) throws {
        try fixture.write("moved\n", to: "moved.txt", in: submodule)
        try fixture.commitAll("move the submodule", in: submodule)
    }

    /// A scenario on a trunk with a submodule (`trunkWithSubmodule`): `change` makes the state
    /// in it, and the trunk is what is probed.
    static func onSubmodule(
        _ name: String, pinned: Pinned,
        _ change: @escaping @Sendable (_ fixture: GitFixture, _ setup: SubmoduleSetup) throws -> Void
    ) -> Scenario {
        Scenario(name: name, pinned: pinned) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try change(fixture, setup)
            return setup.trunk
        }
    }

    /// git prints one line per changed submodule whatever changed in it, and honours
    /// `ignore` from .git/config over .gitmodules over diff.ignoreSubmodules.
    static let submoduleScenarios: [Scenario] = [
        Scenario(name: "clean submodule", pinned: Pinned(count: 0)) { fixture in
            try trunkWithSubmodule(fixture).trunk
        },
        onSubmodule("submodule with modified content", pinned: Pinned(count: 1)) { fixture, setup in
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
        },
        onSubmodule("submodule with untracked content", pinned: Pinned(count: 1)) {
            fixture, setup in
            try fixture.write("u\n", to: "untracked.txt", in: setup.submodule)
        },
        onSubmodule("submodule at a new commit", pinned: Pinned(count: 1)) { fixture, setup in
            try commitInside(setup.submodule, fixture)
        },
        onSubmodule("submodule update staged, plus a modified file", pinned: Pinned(count: 2)) {
            fixture, setup in
            try commitInside(setup.submodule, fixture)
            try fixture.git(["add", "modules/library"], in: setup.trunk)
            try fixture.write("changed\n", to: "README.md", in: setup.trunk)
        },
        onSubmodule("uninitialised submodule is not a change", pinned: Pinned(count: 0)) {
            fixture, setup in
            try fixture.git(
                ["submodule", "--quiet", "deinit", "--force", "modules/library"], in: setup.trunk)
        },
        onSubmodule("submodule directory removed", pinned: Pinned(count: 1)) { fixture, setup in
            try FileManager.default.removeItem(at: setup.submodule)
        },
        Scenario(name: "submodule added but not committed", pinned: Pinned(count: 2)) { fixture in
            let library = try fixture.makeProject("library", files: ["lib.txt": "lib\n"])
            let tree = try trunk(fixture).trunk
            try fixture.git(
                ["submodule", "--quiet", "add", library.origin.path, "vendor/lib"], in: tree)
            return tree
        },
        onSubmodule("git rm --cached of a submodule", pinned: Pinned(count: 2)) { fixture, setup in
            try fixture.git(["rm", "--quiet", "--cached", "modules/library"], in: setup.trunk)
        },
        onSubmodule("git rm of a submodule", pinned: Pinned(count: 2)) { fixture, setup in
            try fixture.git(["rm", "--quiet", "modules/library"], in: setup.trunk)
        },
        onSubmodule("git mv of a submodule is a rename", pinned: Pinned(count: 2)) {
            fixture, setup in
            try fixture.git(["mv", "modules/library", "modules/renamed"], in: setup.trunk)
        },
        onSubmodule("ignore=all in .git/config hides a moved submodule", pinned: Pinned(count: 0)) {
            fixture, setup in
            try commitInside(setup.submodule, fixture)
            try fixture.git(["config", "submodule.modules/library.ignore", "all"], in: setup.trunk)
        },
        onSubmodule("ignore=all still shows a staged submodule update", pinned: Pinned(count: 1)) {
            fixture, setup in
            try commitInside(setup.submodule, fixture)
            try fixture.git(["add", "modules/library"], in: setup.trunk)
            try fixture.git(["config", "submodule.modules/library.ignore", "all"], in: setup.trunk)
        },
        onSubmodule(
            "ignore=dirty in .gitmodules hides modified content",
            pinned: Pinned(count: 0)
        ) { fixture, setup in
            try fixture.git(
                ["config", "--file", ".gitmodules", "submodule.modules/library.ignore", "dirty"],
                in: setup.trunk)
            try fixture.commitAll("ignore dirty", in: setup.trunk)
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
        },
        onSubmodule("ignore=untracked hides only untracked content", pinned: Pinned(count: 0)) {
            fixture, setup in
            try fixture.git(
                ["config", "submodule.modules/library.ignore", "untracked"], in: setup.trunk)
            try fixture.write("u\n", to: "untracked.txt", in: setup.submodule)
        },
        onSubmodule(
            ".gitmodules ignore=none beats diff.ignoreSubmodules=dirty",
            pinned: Pinned(count: 1)
        ) { fixture, setup in
            try fixture.git(
                ["config", "--file", ".gitmodules", "submodule.modules/library.ignore", "none"],
                in: setup.trunk)
            try fixture.commitAll("ignore none", in: setup.trunk)
            try fixture.git(["config", "diff.ignoreSubmodules", "dirty"], in: setup.trunk)
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
        },
        onSubmodule(
            "diff.ignoreSubmodules=dirty applies when nothing else is set",
            pinned: Pinned(count: 0)
        ) { fixture, setup in
            try fixture.git(["config", "diff.ignoreSubmodules", "dirty"], in: setup.trunk)
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
        },
        onTrunk("gitlink without .gitmodules with modified content", pinned: Pinned(count: 1)) {
            fixture, tree in
            let inner = try fixture.directory("proj/trunk-main/inner")
            try fixture.git(["init", "--quiet"], in: inner)
            try fixture.write("i\n", to: "i.txt", in: inner)
            try fixture.commitAll("inner", in: inner)
            try fixture.git(["add", "inner"], in: tree)
            try fixture.commit("add gitlink", in: tree)
            try fixture.write("changed\n", to: "i.txt", in: inner)
        },
    ]
}
