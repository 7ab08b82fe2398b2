import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// The index file's cache-tree as the probe reads it, against what git wrote and says.
@Suite("Index cache-tree", .ownThreads)
struct IndexCacheTreeTests {
    /// A trunk clone whose cache-tree `git write-tree` has made valid throughout.
    private func trunkWithCacheTree(_ fixture: GitFixture) throws -> URL {
        let tree = try Scenario.trunk(fixture).trunk
        try fixture.git(["write-tree"], in: tree)
        return tree
    }

    private func cacheTree(of tree: URL) throws -> IndexCacheTree {
        try #require(IndexCacheTree.read(indexAt: tree.appendingPathComponent(".git/index").path))
    }

    private func headTree(of tree: URL, _ fixture: GitFixture) throws -> [UInt8] {
        let hex = try fixture.git(["rev-parse", "HEAD^{tree}"], in: tree).trimmingCharacters(in: .whitespacesAndNewlines)
        return Self.bytes(hex)
    }

    private static func bytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    /// Whether the probe's check says HEAD and the index agree, on the index libgit2 loads.
    private func matchesHead(_ tree: URL) throws -> Bool {
        GitLibrary.initialize()
        return try GitRepository(openingWorktreeAt: tree.path).cacheTreeMatchesHead()
    }

    @Test("a valid root names HEAD's tree in every index version", arguments: ["2", "3", "4"])
    func validRoot(version: String) throws {
        let fixture = try GitFixture()
        let tree = try Scenario.trunk(fixture).trunk
        if version == "3" {
            // An extended flag is what makes git write version 3.
            try fixture.git(["update-index", "--skip-worktree", "docs/guide.md"], in: tree)
        } else {
            try fixture.git(["update-index", "--index-version", version], in: tree)
        }
        try fixture.git(["write-tree"], in: tree)
        let index = try Data(contentsOf: tree.appendingPathComponent(".git/index"))
        #expect(index[7] == UInt8(version)!)

        let read = try cacheTree(of: tree)
        #expect(read.rootTree == (try headTree(of: tree, fixture)))
        #expect(read.checksum == Array(index.suffix(20)))
        #expect(!read.hasIntentToAdd)
        #expect(!read.hasUnmergedEntries)
        #expect(try matchesHead(tree))
    }

    @Test("a change staged deep in a subtree invalidates the root")
    func stagedDeepChange() throws {
        let fixture = try GitFixture()
        let tree = try trunkWithCacheTree(fixture)
        try fixture.write("staged\n", to: "src/lib/util.swift", in: tree)
        try fixture.git(["add", "src/lib/util.swift"], in: tree)
        #expect(try cacheTree(of: tree).rootTree == nil)
        #expect(try !matchesHead(tree))
    }

    @Test("a cache-tree rebuilt after staging is valid but is not HEAD's tree")
    func rebuiltAfterStaging() throws {
        let fixture = try GitFixture()
        let tree = try trunkWithCacheTree(fixture)
        try fixture.write("staged\n", to: "docs/api/index.md", in: tree)
        try fixture.git(["add", "docs"], in: tree)
        let written = try fixture.git(["write-tree"], in: tree).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cacheTree(of: tree).rootTree == Self.bytes(written))
        #expect(try !matchesHead(tree))
    }

    @Test("an intent-to-add entry is seen, and HEAD is then compared with the index")
    func intentToAdd() throws {
        let fixture = try GitFixture()
        let tree = try Scenario.trunk(fixture).trunk
        try fixture.write("new\n", to: "src/later.swift", in: tree)
        try fixture.git(["add", "-N", "src/later.swift"], in: tree)
        try fixture.git(["write-tree"], in: tree)
        #expect(try cacheTree(of: tree).hasIntentToAdd)
        #expect(try !matchesHead(tree))
    }

    @Test("an index without a cache-tree has no root")
    func missingExtension() throws {
        let fixture = try GitFixture()
        let repository = try fixture.initRepository("fresh")
        try fixture.write("a\n", to: "a.txt", in: repository)
        try fixture.git(["add", "a.txt"], in: repository)
        #expect(try cacheTree(of: repository).rootTree == nil)
        #expect(try !matchesHead(repository))
    }

    @Test("a truncated or foreign index is not read")
    func unreadable() throws {
        let fixture = try GitFixture()
        let tree = try trunkWithCacheTree(fixture)
        let index = try [UInt8](Data(contentsOf: tree.appendingPathComponent(".git/index")))
        #expect(IndexCacheTree.parse(index) != nil)
        #expect(IndexCacheTree.parse(Array(index.dropLast(25))) == nil)
        #expect(IndexCacheTree.parse(Array(index.prefix(40))) == nil)
        #expect(IndexCacheTree.parse(Array("XXXX".utf8) + index.dropFirst(4)) == nil)
    }
}
