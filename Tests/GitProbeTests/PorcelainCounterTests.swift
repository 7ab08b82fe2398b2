import Testing
import TestSupport

@testable import GitProbe

/// The pieces of the line count that do not need a repository.
@Suite("Porcelain line counting", .ownThreads)
struct PorcelainCounterTests {
    // git_status_t bits, spelled out so the table reads like libgit2's header.
    static let indexNew: UInt32 = 1 << 0
    static let indexModified: UInt32 = 1 << 1
    static let indexDeleted: UInt32 = 1 << 2
    static let indexRenamed: UInt32 = 1 << 3
    static let worktreeNew: UInt32 = 1 << 7
    static let worktreeModified: UInt32 = 1 << 8
    static let worktreeDeleted: UInt32 = 1 << 9
    static let ignored: UInt32 = 1 << 14
    static let conflicted: UInt32 = 1 << 15

    @Test(
        "one libgit2 entry stands for the porcelain lines git prints",
        arguments: [
            (worktreeNew, 1),  // ?? f
            (worktreeModified, 1),  //  M f
            (indexModified | worktreeModified, 1),  // MM f
            (indexDeleted | worktreeNew, 2),  // D  f + ?? f (git rm --cached)
            (indexRenamed | worktreeNew, 2),  // R  a -> b + ?? a
            (indexRenamed | worktreeModified, 1),  // RM a -> b
            (indexNew | worktreeDeleted, 1),  // AD f
            (conflicted, 1),  // UU f
            (ignored, 0),
            (0, 0),
        ] as [(UInt32, Int)]
    )
    func linesPerEntry(status: UInt32, lines: Int) {
        #expect(GitRepository.porcelainLines(forStatus: status) == lines)
    }

    @Test("top-level names are dealt round-robin in byte order")
    func groupsAreRoundRobin() {
        let names: Set<[UInt8]> = Set(["b", "a", "d", "c", "e"].map { Array($0.utf8) })
        let groups = PorcelainCounter.groups(of: names, count: 2)
        #expect(
            groups.map { $0.map { String(decoding: $0, as: UTF8.self) } } == [
                ["a", "c", "e"], ["b", "d"],
            ])
        #expect(PorcelainCounter.groups(of: names, count: 8).count == 5)
        #expect(PorcelainCounter.groups(of: [], count: 4).isEmpty)
    }

    @Test("a nested path with no index entries joins a group holding entries of its directory")
    func untrackedPathsAreAnchored() {
        func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
        let units: [[UInt8]: Int] = [
            bytes("README.md"): 1, bytes("new.txt"): 0, bytes("src/a"): 40, bytes("src/b"): 40,
            bytes("src/c/d"): 10, bytes("src/c/new"): 0, bytes("src/lone.txt"): 0,
        ]
        let groups = PorcelainCounter.groups(of: units, count: 2)
        #expect(groups.map(\.count).reduce(0, +) == units.count)
        let groupOf = Dictionary(
            uniqueKeysWithValues: groups.enumerated().flatMap { group, paths in paths.map { ($0, group) } })
        #expect(groupOf[bytes("src/c/new")] == groupOf[bytes("src/c/d")])
        #expect([groupOf[bytes("src/a")], groupOf[bytes("src/b")]].contains(groupOf[bytes("src/lone.txt")]))
        // Without any entries in its directory, a nested path cannot be placed: one group.
        #expect(PorcelainCounter.groups(of: [bytes("x/new"): 0, bytes("y"): 3], count: 2).count == 1)
    }

    @Test("a staged deletion and addition in different groups forces one pass")
    func crossGroupRenameNeedsOnePass() {
        typealias Count = GitRepository.StatusCount
        let deleting = Count(lines: 1, hasStagedDeletion: true, hasStagedAddition: false)
        let adding = Count(lines: 1, hasStagedDeletion: false, hasStagedAddition: true)
        let both = Count(lines: 1, hasStagedDeletion: true, hasStagedAddition: true)
        let quiet = Count()
        #expect(PorcelainCounter.mayPairAcrossGroups([deleting, adding]))
        #expect(PorcelainCounter.mayPairAcrossGroups([adding, quiet, deleting]))
        #expect(!PorcelainCounter.mayPairAcrossGroups([both, quiet]))
        #expect(!PorcelainCounter.mayPairAcrossGroups([deleting, deleting]))
        #expect(!PorcelainCounter.mayPairAcrossGroups([adding, adding]))
    }

    @Test(
        "status config values parse as git reads them",
        arguments: [
            ("true", true), ("YES", true), ("on", true), ("1", true), ("copies", true),
            ("copy", true), ("false", false), ("no", false), ("off", false), ("0", false),
            ("", false), ("7", true),
        ] as [(String, Bool)]
    )
    func renamesConfig(value: String, expected: Bool) {
        #expect(StatusSettings.renames(fromConfigValue: value) == expected)
    }

    @Test("unset or unknown rename settings defer to the next setting")
    func renamesConfigUnset() {
        #expect(StatusSettings.renames(fromConfigValue: nil) == nil)
        #expect(StatusSettings.renames(fromConfigValue: "sometimes") == nil)
    }

    @Test(
        "showUntrackedFiles words",
        arguments: [
            ("no", StatusSettings.UntrackedFiles.no), ("normal", .normal), ("all", .all),
            ("bogus", .normal),
        ] as [(String, StatusSettings.UntrackedFiles)])
    func untrackedFilesConfig(value: String, expected: StatusSettings.UntrackedFiles) {
        #expect(StatusSettings.untrackedFiles(fromConfigValue: value) == expected)
    }
}
