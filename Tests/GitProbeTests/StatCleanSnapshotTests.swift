import Foundation
import TestSupport
import Testing

@testable import GitProbe

#if canImport(Glibc)
    import Glibc
#endif

/// The worktree read while the index is parsed (`WorkdirSnapshot`): whatever it holds, and
/// whenever it was cut short, the count is git's and the one the syscall-only check gives
/// (`StatCleanTests.probe` compares with both).
extension StatCleanTests {
    @Test("symlinks to directories are recorded, never followed")
    func snapshotSymlinksToDirectories() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture) { tree in
            try FileManager.default.createSymbolicLink(
                atPath: tree.appendingPathComponent("src/b/deep-link").path, withDestinationPath: "deep")
            try fixture.commitAll("a symlink to a directory", in: tree)
        }
        let clean = try Self.probe(tree, fixture)
        #expect(clean.count == 0 && clean.git == 0)
        #expect(clean.tally.snapshots == 1 && clean.kept == 0)
        #expect(clean.skipped >= 6 && clean.tally.fromSnapshot == clean.skipped)

        try FileManager.default.createSymbolicLink(
            atPath: tree.appendingPathComponent("src/a/to-b").path, withDestinationPath: "../b")
        let untracked = try Self.probe(tree, fixture)
        #expect(untracked.git == 1 && untracked.count == 1)
        #expect(untracked.tally.snapshots == 1)
    }

    /// The walk knows no ignore rules; past its bound it stops, and the directories it had not
    /// listed are checked with syscalls. `build` is listed before the tracked directories
    /// (nothing of them in the snapshot), `zz-untracked` after them.
    @Test("a walk cut short by its bound still gives git's answer", arguments: [("build", 0), ("zz-untracked", 1)])
    func snapshotAbandoned(directory: String, lines: Int) throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        for number in 0..<300 {
            try fixture.write("o\n", to: "\(directory)/out\(number).o", in: tree)
        }
        let bounded = try Self.probe(tree, fixture) { $0.walkNameSlack = 0 }
        #expect(bounded.git == lines && bounded.count == lines)
        #expect(bounded.tally.snapshots == 1 && bounded.tally.abandonedSnapshots == 1)

        let unbounded = try Self.probe(tree, fixture)
        #expect(unbounded.count == lines && unbounded.tally.abandonedSnapshots == 0)
        #expect(unbounded.skipped == bounded.skipped && unbounded.kept == bounded.kept)
        if directory == "build" {
            // Only the top's own files were listed: the units below it went to syscalls.
            #expect(bounded.tally.fromSnapshot < unbounded.tally.fromSnapshot)
        } else {
            #expect(bounded.tally.fromSnapshot == unbounded.tally.fromSnapshot, "listed before the bound")
            #expect(bounded.tally.fromSnapshot >= 1)
        }
    }

    @Test("a nested repository is met by the walk, not entered, and counted as git counts it")
    func snapshotNestedRepository() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        try fixture.write("n\n", to: "src/b/deep/nested/n.txt", in: tree)
        try fixture.write("m\n", to: "src/b/deep/nested/sub/m.txt", in: tree)
        try fixture.git(["init", "--quiet"], in: tree.appendingPathComponent("src/b/deep/nested"))
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.git == 1 && outcome.count == 1)
        #expect(outcome.tally.snapshots == 1 && outcome.tally.nestedRepositories == 1)
        #expect(outcome.skipped >= 1 && outcome.kept >= 1)
    }

    /// The index file is rewritten (still naming HEAD's tree) after the walk read the tree:
    /// the snapshot is older than the index, so it is not used.
    @Test("an index written after the walk started: the snapshot is set aside")
    func snapshotOlderThanIndex() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        let tally = StatCleanTally()
        var counter = CountingMode.partitioned.counter
        counter.statCleanTally = tally
        counter.walkStarted = { walk in
            _ = walk.snapshot()
            _ = try? Self.setModified(
                tree.appendingPathComponent("src/a/x.txt").path, seconds: Int(Date().timeIntervalSince1970) - 30)
            _ = try? fixture.git(["update-index", "--refresh"], in: tree)
        }
        let count = try GitProbe(counter: counter).probe(path: tree.path, defaultBranch: "main").uncommittedFilesCount
        let git = try fixture.porcelainLineCount(in: tree)
        #expect(count == 0 && git == 0)
        #expect(tally.all.snapshots == 0 && tally.all.fromSnapshot == 0)
        #expect(tally.skipped >= 6 && tally.kept == 0, "proved clean with syscalls")
        let again = try Self.probe(tree, fixture)
        #expect(again.count == 0 && again.tally.snapshots == 1)
    }

    /// A file rewritten after the walk saw it, the index untouched: the count is the tree as
    /// the walk saw it, as it is with syscalls for a file rewritten right after its fstatat.
    /// The next count sees the change.
    @Test("a file changed after the walk saw it is counted as seen, and next time as changed")
    func snapshotMomentInTime() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        let tally = StatCleanTally()
        var counter = CountingMode.partitioned.counter
        counter.statCleanTally = tally
        counter.walkStarted = { walk in
            _ = walk.snapshot()
            _ = try? fixture.write("x-changed-and-longer\n", to: "src/a/x.txt", in: tree)
        }
        let count = try GitProbe(counter: counter).probe(path: tree.path, defaultBranch: "main").uncommittedFilesCount
        #expect(count == 0)
        #expect(tally.all.snapshots == 1 && tally.kept == 0)
        let next = try Self.probe(tree, fixture)
        #expect(next.count == 1 && next.git == 1 && next.tally.snapshots == 1)
    }

    /// The count takes what the walk has read when the units are known; whatever that is,
    /// the rest is checked with syscalls.
    @Test("a walk stopped at any point still gives git's answer", arguments: 0..<8)
    func snapshotStoppedEarly(run: Int) throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        if run % 2 == 1 { try fixture.write("u\n", to: "src/b/deep/more/new.txt", in: tree) }
        let outcome = try Self.probe(tree, fixture) { counter in
            counter.walkStarted = { walk in
                if run >= 4 { usleep(UInt32(50 * run)) }
                _ = walk.snapshot(stoppingEarly: true)
            }
        }
        #expect(outcome.count == outcome.git && outcome.git == run % 2)
        #expect(outcome.tally.snapshots == 1)
    }

    @Test("the snapshot lists every name once, sorted, with its lstat")
    func snapshotContents() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        try fixture.write("i\n", to: "build/ignored.o", in: tree)
        let walk = WorkdirWalk.start(workdir: Array((tree.path + "/").utf8), nameLimit: 1000)
        let snapshot = try #require(walk.snapshot())
        #expect(!snapshot.abandoned && snapshot.nestedRepositories == 0)
        let top = snapshot.directories[0]
        let names = (Int(top.first)..<Int(top.first + top.count)).map { position in
            let entry = snapshot.entries[position]
            let start = Int(entry.nameStart)
            return String(decoding: snapshot.names[start..<(start + Int(entry.nameLength))], as: UTF8.self)
        }
        #expect(names == [".git", ".gitignore", "README.md", "build", "docs", "src"])
        let src = try #require(snapshot.entry(named: Array("src".utf8), in: 0))
        let srcListing = Int(snapshot.entries[src].child)
        let a = try #require(snapshot.entry(named: Array("a".utf8), in: srcListing))
        let x = try #require(snapshot.entry(named: Array("x.txt".utf8), in: Int(snapshot.entries[a].child)))
        var info = stat()
        try #require(lstat(tree.appendingPathComponent("src/a/x.txt").path, &info) == 0)
        let fields = snapshot.entries[x].fields
        #expect(fields.size == UInt32(info.st_size) && fields.inode == UInt32(truncatingIfNeeded: info.st_ino))
        #expect(fields.modifiedSeconds == Int64(info.st_mtim.tv_sec) && fields.mode == info.st_mode)
        // `.git` is recorded at the top but never entered.
        let git = try #require(snapshot.entry(named: Array(".git".utf8), in: 0))
        #expect(snapshot.entries[git].child == -1)
        #expect(snapshot.entry(named: Array("missing".utf8), in: 0) == nil)
    }
}
