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
        // That one file went to libgit2; every other one was proved here.
        #expect(outcome.kept == 0 && outcome.tally.narrowed == 1, "\(outcome.tally)")
        #expect(outcome.tally.racyProved == Self.files.count - 1, "\(outcome.tally)")
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
    ]

    @Test("where a filter could apply, racily clean files are left to libgit2", arguments: filterSources.indices)
    func racyFilesUnderFilters(_ source: Int) throws {
        let fixture = try GitFixture()
        let tree = try Self.racyTrunk(fixture) { try Self.filterSources[source].setUp(fixture, $0) }
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.count == outcome.git, "\(Self.filterSources[source].name)")
        #expect(outcome.tally.racyProved == 0 && outcome.tally.narrowed >= 6, "\(outcome.tally)")
    }
}
