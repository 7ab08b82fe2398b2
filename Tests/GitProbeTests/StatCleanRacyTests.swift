import Foundation
import TestSupport
import Testing

@testable import GitProbe

#if canImport(Glibc)
    import Glibc
#endif

/// Racily clean files (written in the index's own second, as right after a checkout or a
/// reset): their stat data cannot prove them unchanged, their contents can.
extension StatCleanTests {
    /// The trunk with its index stamped in the second its files were written: every file is
    /// racily clean.
    static func racyTrunk(_ fixture: GitFixture, setUp: ((URL) throws -> Void)? = nil) throws -> URL {
        let tree = try cleanTrunk(fixture, extra: setUp)
        var file = stat()
        try #require(lstat(tree.appendingPathComponent("README.md").path, &file) == 0)
        try setModified(tree.appendingPathComponent(".git/index").path, seconds: file.st_mtim.tv_sec)
        return tree
    }

    @Test("racily clean files are proved unchanged by their contents when no filter can apply")
    func racyFilesComparedHere() throws {
        let fixture = try GitFixture()
        let tree = try Self.racyTrunk(fixture)
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.count == 0 && outcome.git == 0)
        #expect(outcome.kept == 0 && outcome.tally.narrowed == 0, "\(outcome.tally)")
        #expect(outcome.skipped >= 6 && outcome.tally.racyProved == Self.files.count, "\(outcome.tally)")
    }

    @Test("a racily clean file rewritten with the same size and stamp is found changed by its contents")
    func racyChangeFound() throws {
        let fixture = try GitFixture()
        let tree = try Self.racyTrunk(fixture)
        var before = stat()
        let path = tree.appendingPathComponent("src/b/deep/q.txt").path
        try #require(lstat(path, &before) == 0)
        try fixture.write("Q\n", to: "src/b/deep/q.txt", in: tree)
        try Self.setModified(path, seconds: before.st_mtim.tv_sec)
        try IndexPatch.recordStat(of: "src/b/deep/q.txt", in: tree)
        try Self.setModified(tree.appendingPathComponent(".git/index").path, seconds: before.st_mtim.tv_sec)
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.git == 1 && outcome.count == 1)
        // Every file was compared here: one differs, and nothing went to libgit2.
        #expect(outcome.kept == 0 && outcome.tally.narrowed == 0, "\(outcome.tally)")
        #expect(outcome.tally.racyProved == Self.files.count - 1 && outcome.tally.racyModified == 1, "\(outcome.tally)")
    }

    /// git compares whole seconds: a file stamped in the index's second is hashed, even if its
    /// nanoseconds come before the index's. libgit2 compares nanoseconds and trusts the stat
    /// data. A difference found by the contents is counted as git counts it.
    @Test("a rewrite stamped earlier in the index's second is found as git finds it, where libgit2 alone trusts the stat")
    func racyWithinTheSecond() throws {
        let fixture = try GitFixture()
        let tree = try Self.racyTrunk(fixture)
        let path = tree.appendingPathComponent("src/b/deep/q.txt").path
        var before = stat()
        try #require(lstat(path, &before) == 0)
        try fixture.write("Q\n", to: "src/b/deep/q.txt", in: tree)
        try Self.setModified(path, seconds: before.st_mtim.tv_sec, nanoseconds: 300_000_000)
        try IndexPatch.recordStat(of: "src/b/deep/q.txt", in: tree)
        try Self.setModified(
            tree.appendingPathComponent(".git/index").path, seconds: before.st_mtim.tv_sec, nanoseconds: 900_000_000)

        let git = try fixture.porcelainLineCount(in: tree)
        #expect(git == 1)
        let tally = StatCleanTally()
        var counter = CountingMode.partitioned.counter
        counter.statCleanTally = tally
        counter.walkStarted = { _ = $0.snapshot() }
        let split = try GitProbe(counter: counter).probe(path: tree.path, defaultBranch: "main")
        #expect(split.uncommittedFilesCount == git, "\(tally.all)")
        #expect(tally.all.racyModified == 1)
        // Pinned: libgit2 1.5 alone (one pass, no proof) trusts the stat data and counts 0.
        let alone = try GitProbe(counter: CountingMode.onePass.counter).probe(path: tree.path, defaultBranch: "main")
        #expect(alone.uncommittedFilesCount == 0)
    }

    /// Where an attribute or `core.autocrlf` could make a file's blob differ from its bytes.
    static let filterSources: [(name: String, setUp: @Sendable (GitFixture, URL) throws -> Void)] = [
        ("a tracked .gitattributes deep down", { fixture, tree in
            try fixture.write("*.txt ident\n", to: "src/b/deep/.gitattributes", in: tree)
            try fixture.commitAll("attributes", in: tree)
        }),
        ("info/attributes", { fixture, tree in
            try fixture.write("*.txt text\n", to: ".git/info/attributes", in: tree)
        }),
        ("core.autocrlf", { fixture, tree in
            try fixture.git(["config", "core.autocrlf", "true"], in: tree)
        }),
        ("core.attributesFile", { fixture, tree in
            try fixture.git(["config", "core.attributesFile", tree.appendingPathComponent("../elsewhere").path], in: tree)
        }),
        // Configuration git reads and libgit2 1.5 does not: an attributes file could hide there.
        ("extensions.worktreeConfig", { fixture, tree in
            try fixture.git(["config", "extensions.worktreeConfig", "true"], in: tree)
        }),
        ("includeIf.hasconfig", { fixture, tree in
            try fixture.git(
                ["config", "includeIf.hasconfig:remote.*.url:https://example.com/**.path", "/nonexistent"], in: tree)
        }),
    ]

    @Test("configuration libgit2 1.5 does not read as git does keeps the comparison to libgit2")
    func configurationOutsideLibgit2() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        let repository = try GitRepository(openingWorktreeAt: tree.path)
        let home = try fixture.directory("racy-home")
        let plain = ["HOME": home.path]
        #expect(RacyContent.noFilterConfigured(repository, environment: plain))
        for variable in ["GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS"] {
            #expect(!RacyContent.noFilterConfigured(repository, environment: plain.merging([variable: "1"]) { $1 }), "\(variable)")
        }
        // The files GIT_CONFIG_GLOBAL and GIT_CONFIG_SYSTEM name are read here (libgit2 1.5
        // reads neither): harmless settings pass, an attributes file or an include does not.
        let named = home.appendingPathComponent("named.gitconfig")
        for (text, allowed) in [
            ("[user]\n\tname = x\n", true), ("[core]\n\tautocrlf = false\n", true),
            ("[core]\n\tattributesFile = /elsewhere\n", false), ("[core]\n\tautocrlf = input\n", false),
            ("[include]\n\tpath = /elsewhere\n", false),
        ] {
            try Data(text.utf8).write(to: named)
            for variable in ["GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM"] {
                let environment = plain.merging([variable: named.path]) { $1 }
                #expect(RacyContent.noFilterConfigured(repository, environment: environment) == allowed, "\(variable): \(text)")
            }
        }
        // git reads $HOME/.config/git/attributes when XDG_CONFIG_HOME is empty, as when unset.
        try fixture.write("*.txt text\n", to: ".config/git/attributes", in: home)
        #expect(!RacyContent.noFilterConfigured(repository, environment: plain))
        #expect(!RacyContent.noFilterConfigured(repository, environment: plain.merging(["XDG_CONFIG_HOME": ""]) { $1 }))
        let xdg = try fixture.directory("racy-xdg")
        #expect(RacyContent.noFilterConfigured(repository, environment: plain.merging(["XDG_CONFIG_HOME": xdg.path]) { $1 }))
        try fixture.write("*.txt text\n", to: "git/attributes", in: xdg)
        #expect(!RacyContent.noFilterConfigured(repository, environment: plain.merging(["XDG_CONFIG_HOME": xdg.path]) { $1 }))
    }

    @Test("where a filter could apply, racily clean files are left to libgit2", arguments: filterSources.indices)
    func racyFilesUnderFilters(_ source: Int) throws {
        let fixture = try GitFixture()
        // Every file racily clean: nothing is decided here.
        let tree = try Self.racyTrunk(fixture) { try Self.filterSources[source].setUp(fixture, $0) }
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.count == outcome.git, "\(Self.filterSources[source].name)")
        #expect(outcome.tally.racyProved == 0 && outcome.tally.racyModified == 0, "\(outcome.tally)")
        #expect(outcome.skipped == 0, "\(outcome.tally)")

        // One racily clean file: its unit goes to libgit2 as that file alone.
        let other = try GitFixture()
        let one = try Self.cleanTrunk(other) { try Self.filterSources[source].setUp(other, $0) }
        let then = Int(Date().timeIntervalSince1970) - 30
        try Self.setModified(one.appendingPathComponent("src/a/x.txt").path, seconds: then)
        try IndexPatch.recordStat(of: "src/a/x.txt", in: one)
        try Self.setModified(one.appendingPathComponent(".git/index").path, seconds: then)
        let narrowed = try Self.probe(one, other)
        #expect(narrowed.count == narrowed.git)
        #expect(narrowed.tally.racyProved == 0 && narrowed.tally.narrowed == 1 && narrowed.kept == 0, "\(narrowed.tally)")
    }
}
