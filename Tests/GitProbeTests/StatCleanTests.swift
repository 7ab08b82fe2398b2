import Foundation
import TestSupport
import Testing

@testable import GitProbe

#if canImport(Glibc)
    import Glibc
#endif

/// A split status skips the paths it proves clean from stat data (`StatClean`): the count must
/// still be git's in every state that such a proof could get wrong, and a clean tree must really
/// skip libgit2.
@Suite("Stat-clean paths agree with the git CLI", .ownThreads)
struct StatCleanTests {
    /// Enough files in `src/a` and `src/b` that the split opens both up, so units are nested
    /// files and directories as well as top-level names.
    static let files: [String: String] = [
        "README.md": "hello\n", ".gitignore": "build/\n", "docs/guide.md": "guide\n", "docs/api.md": "api\n",
        "src/a/x.txt": "x-one\n", "src/a/y.txt": "y\n", "src/a/z.txt": "z\n", "src/a/w.txt": "w\n",
        "src/a/v.txt": "v\n", "src/a/u.txt": "u\n", "src/b/p.txt": "p\n", "src/b/deep/q.txt": "q\n",
        "src/b/deep/r.txt": "r\n", "src/b/deep/more/s.txt": "s\n", "src/empty.txt": "",
    ]

    /// A trunk whose files are older than its index and whose cache-tree names HEAD's tree: the
    /// state in which every unit can be proved clean.
    static func cleanTrunk(_ fixture: GitFixture, extra: ((URL) throws -> Void)? = nil) throws -> URL {
        let tree = try fixture.makeProject("proj", files: files).trunk
        try extra?(tree)
        try backdate(tree)
        try fixture.git(["update-index", "--refresh"], in: tree)
        try fixture.git(["write-tree"], in: tree)
        return tree
    }

    /// Sets mtime (and so ctime, to now) of everything in the worktree but `.git` to a
    /// minute ago, so no entry is racily clean once the index is written again.
    static func backdate(_ tree: URL, to seconds: Int = Int(Date().timeIntervalSince1970) - 60) throws {
        let enumerator = try #require(FileManager.default.enumerator(atPath: tree.path))
        while let relative = enumerator.nextObject() as? String {
            if relative == ".git" || relative.hasPrefix(".git/") {
                enumerator.skipDescendants()
                continue
            }
            try setModified(tree.appendingPathComponent(relative).path, seconds: seconds)
        }
    }

    static func setModified(_ path: String, seconds: Int, nanoseconds: Int = 0) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
        try #require(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0, "utimensat \(path)")
    }

    /// What a split probe with the stat check counts, what it did, and what git prints.
    struct Outcome {
        var count: Int
        var skipped: Int
        var kept: Int
        var git: Int
        /// What the check and its workdir snapshot did in the first (split, checked) count.
        var tally: StatCleanTally.Counts
    }

    /// The split count with the check (and its snapshot, unless `configure` says otherwise),
    /// compared with the check from syscalls alone, no check, and a single pass.
    static func probe(
        _ tree: URL, _ fixture: GitFixture, configure: (inout PorcelainCounter) -> Void = { _ in }
    ) throws -> Outcome {
        let tally = StatCleanTally()
        var counter = CountingMode.partitioned.counter
        counter.statCleanTally = tally
        // The count does not wait for the walk; waiting here makes what it read certain.
        counter.walkStarted = { _ = $0.snapshot() }
        configure(&counter)
        let count = try GitProbe(counter: counter).probe(path: tree.path, defaultBranch: "main").uncommittedFilesCount
        let syscallTally = StatCleanTally()
        var withoutSnapshot = CountingMode.partitioned.counter
        withoutSnapshot.walksWorkdirDuringParse = false
        withoutSnapshot.statCleanTally = syscallTally
        var unchecked = CountingMode.partitioned.counter
        unchecked.provesUnitsClean = false
        for other in [withoutSnapshot, unchecked, CountingMode.onePass.counter] {
            let state = try GitProbe(counter: other).probe(path: tree.path, defaultBranch: "main")
            #expect(state.uncommittedFilesCount == count)
        }
        #expect(syscallTally.all.snapshots == 0 && syscallTally.all.fromSnapshot == 0)
        let git = try fixture.porcelainLineCount(in: tree)
        return Outcome(count: count, skipped: tally.skipped, kept: tally.kept, git: git, tally: tally.all)
    }

    @Test("a clean tree is counted without libgit2's status, and agrees with git")
    func cleanTreeSkipsLibgit2() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture) { tree in
            try FileManager.default.createSymbolicLink(
                atPath: tree.appendingPathComponent("src/a/link").path, withDestinationPath: "x.txt")
            try fixture.commitAll("a symlink", in: tree)
        }
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.count == 0 && outcome.git == 0)
        #expect(outcome.skipped >= 6, "units: \(outcome.skipped) skipped")
        #expect(outcome.kept == 0)
        // Answered from the snapshot read while the index was parsed, without syscalls.
        #expect(outcome.tally.snapshots == 1 && outcome.tally.abandonedSnapshots == 0)
        #expect(outcome.tally.fromSnapshot == outcome.skipped)
    }

    /// The file's content changes but its index record is made to match its new stat (what a
    /// change within the timestamp's granularity leaves): git trusts the record unless the
    /// index is as new as the file.
    @Test("a changed file whose stat matches the index: clean unless racily clean")
    func matchingStatDifferentContent() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        let then = Int(Date().timeIntervalSince1970) - 30
        try fixture.write("x-two\n", to: "src/a/x.txt", in: tree)
        try Self.setModified(tree.appendingPathComponent("src/a/x.txt").path, seconds: then)
        try IndexPatch.recordStat(of: "src/a/x.txt", in: tree)

        let trusted = try Self.probe(tree, fixture)
        #expect(trusted.git == 0, "git trusts the matching record")
        #expect(trusted.count == 0 && trusted.kept == 0)

        try Self.setModified(tree.appendingPathComponent(".git/index").path, seconds: then)
        let racy = try Self.probe(tree, fixture)
        #expect(racy.git == 1)
        #expect(racy.count == 1)
        // The file's contents were compared on the split's thread: no unit went to libgit2.
        #expect(racy.kept == 0 && racy.tally.narrowed == 0 && racy.tally.racyModified == 1, "\(racy.tally)")
    }

    /// Each change must be seen, whether or not the unit holding it could be proved clean.
    static let changes: [(name: String, lines: Int, change: @Sendable (GitFixture, URL) throws -> Void)] = [
        ("same size and mtime, new content", 1, { fixture, tree in
            let path = tree.appendingPathComponent("src/a/x.txt").path
            var before = stat()
            _ = lstat(path, &before)
            // git compares ctime in whole seconds: a rewrite in the second of the last refresh
            // would look unchanged to it (libgit2 compares nanoseconds).
            Thread.sleep(forTimeInterval: 1.1)
            try fixture.write("x-two\n", to: "src/a/x.txt", in: tree)
            try setModified(path, seconds: before.st_mtim.tv_sec)
        }),
        ("mode changed", 1, { _, tree in
            _ = chmod(tree.appendingPathComponent("src/b/deep/q.txt").path, 0o755)
        }),
        ("deleted file", 1, { _, tree in
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src/b/deep/more/s.txt"))
        }),
        ("untracked file deep down", 1, { fixture, tree in
            try fixture.write("u\n", to: "src/b/deep/more/new/dir/u.txt", in: tree)
        }),
        ("untracked file next to tracked ones", 1, { fixture, tree in
            try fixture.write("u\n", to: "src/a/new.txt", in: tree)
        }),
        ("ignored directory", 0, { fixture, tree in
            try fixture.write("o\n", to: "src/b/deep/build/out.o", in: tree)
        }),
        ("empty directory", 0, { _, tree in
            try FileManager.default.createDirectory(
                at: tree.appendingPathComponent("src/b/deep/more/empty"), withIntermediateDirectories: true)
        }),
        ("file replaced by a directory", 1, { fixture, tree in
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src/b/p.txt"))
            try fixture.write("i\n", to: "src/b/p.txt/inside.txt", in: tree)
        }),
        ("directory replaced by a file", 2, { fixture, tree in
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src/b/deep/more"))
            try fixture.write("f\n", to: "src/b/deep/more", in: tree)
        }),
        ("file replaced by a symlink", 1, { _, tree in
            let path = tree.appendingPathComponent("src/a/y.txt").path
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "z.txt")
        }),
        ("directory replaced by a symlink to it", 3, { _, tree in
            let path = tree.appendingPathComponent("src/b/deep/more").path
            try FileManager.default.moveItem(atPath: path, toPath: path + "-moved")
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "more-moved")
        }),
        ("intent-to-add", 1, { fixture, tree in
            try fixture.write("n\n", to: "src/b/deep/later.txt", in: tree)
            try fixture.git(["add", "-N", "src/b/deep/later.txt"], in: tree)
        }),
        ("skip-worktree, changed on disk", 0, { fixture, tree in
            try fixture.git(["update-index", "--skip-worktree", "src/a/z.txt"], in: tree)
            try fixture.write("changed\n", to: "src/a/z.txt", in: tree)
        }),
        ("assume-unchanged", 0, { fixture, tree in
            try fixture.git(["update-index", "--assume-unchanged", "docs/api.md"], in: tree)
        }),
        ("staged change", 1, { fixture, tree in
            try fixture.write("staged\n", to: "src/b/deep/r.txt", in: tree)
            try fixture.git(["add", "src/b/deep/r.txt"], in: tree)
        }),
        ("nested repository", 1, { fixture, tree in
            try fixture.write("n\n", to: "src/b/deep/more/nested/n.txt", in: tree)
            try fixture.git(["init", "--quiet"], in: tree.appendingPathComponent("src/b/deep/more/nested"))
        }),
        ("nested repository next to tracked files", 1, { fixture, tree in
            try fixture.write("n\n", to: "src/b/deep/nested/n.txt", in: tree)
            try fixture.git(["init", "--quiet"], in: tree.appendingPathComponent("src/b/deep/nested"))
        }),
        ("empty file made non-empty", 1, { fixture, tree in
            try fixture.write("now\n", to: "src/empty.txt", in: tree)
        }),
    ]

    @Test("each change is counted as git counts it", arguments: changes.indices)
    func changeIsCounted(case number: Int) throws {
        let change = Self.changes[number]
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        try change.change(fixture, tree)
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.git == change.lines, "\(change.name)")
        #expect(outcome.count == outcome.git, "\(change.name)")
    }

    @Test("the unit holding a change goes to libgit2, the others are skipped")
    func onlyChangedUnitsAreKept() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        _ = chmod(tree.appendingPathComponent("src/b/deep/q.txt").path, 0o755)
        let outcome = try Self.probe(tree, fixture)
        #expect(outcome.count == 1 && outcome.git == 1)
        #expect(outcome.kept >= 1)
        #expect(outcome.skipped >= 1)
    }

    @Test("a submodule's unit is never skipped")
    func submodule() throws {
        let fixture = try GitFixture()
        let library = try fixture.makeProject("library", files: ["lib.txt": "lib\n"])
        let tree = try Self.cleanTrunk(fixture) { tree in
            try fixture.git(["submodule", "--quiet", "add", library.origin.path, "src/b/deep/library"], in: tree)
            try fixture.commitAll("add submodule", in: tree)
        }
        let clean = try Self.probe(tree, fixture)
        #expect(clean.count == 0 && clean.git == 0)
        #expect(clean.kept >= 1)
        try fixture.write("dirty\n", to: "src/b/deep/library/lib.txt", in: tree)
        let dirty = try Self.probe(tree, fixture)
        #expect(dirty.count == 1 && dirty.git == 1)
    }
}

/// Rewrites one entry's stat data in an index file (version 2 or 3) to the file's current
/// lstat, with a new trailing checksum: a state git's own tools cannot make on purpose.
enum IndexPatch {
    static func recordStat(of path: String, in tree: URL) throws {
        let indexURL = tree.appendingPathComponent(".git/index")
        var bytes = [UInt8](try Data(contentsOf: indexURL))
        func word(_ offset: Int) -> Int {
            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        }
        try #require(Array(bytes[0..<4]) == Array("DIRC".utf8) && [2, 3].contains(word(4)))
        var info = stat()
        try #require(lstat(tree.appendingPathComponent(path).path, &info) == 0)
        var offset = 12
        for _ in 0..<word(8) {
            let flags = Int(bytes[offset + 60]) << 8 | Int(bytes[offset + 61])
            let nameStart = offset + 62 + (flags & 0x4000 != 0 ? 2 : 0)
            let nameLength = flags & 0x0FFF
            if Array(bytes[nameStart..<nameStart + nameLength]) == Array(path.utf8) {
                let fields = [
                    info.st_ctim.tv_sec, info.st_ctim.tv_nsec, info.st_mtim.tv_sec, info.st_mtim.tv_nsec,
                    Int(info.st_dev), Int(info.st_ino),
                ]
                for (position, value) in fields.enumerated() { put(value, at: offset + 4 * position, in: &bytes) }
                put(Int(info.st_size), at: offset + 36, in: &bytes)
                let body = Array(bytes[..<(bytes.count - 20)])
                try Data(body + SHA1.digest(body)).write(to: indexURL)
                return
            }
            offset = offset + ((nameStart - offset + nameLength + 8) & ~7)
        }
        Issue.record("no index entry \(path)")
    }

    private static func put(_ value: Int, at offset: Int, in bytes: inout [UInt8]) {
        for shift in 0..<4 { bytes[offset + shift] = UInt8(truncatingIfNeeded: value >> (24 - 8 * shift)) }
    }
}

/// SHA-1, for the index checksum only.
enum SHA1 {
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var state: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var bytes = message + [0x80]
        while bytes.count % 64 != 56 { bytes.append(0) }
        let bits = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
        var words = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: bytes.count, by: 64) {
            for i in 0..<16 {
                words[i] = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[chunk + 4 * i + $1]) }
            }
            for i in 16..<80 {
                let mixed = words[i - 3] ^ words[i - 8] ^ words[i - 14] ^ words[i - 16]
                words[i] = mixed << 1 | mixed >> 31
            }
            var (a, b, c, d, e) = (state[0], state[1], state[2], state[3], state[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32) =
                    switch i {
                    case 0..<20: ((b & c) | (~b & d), 0x5A82_7999)
                    case 20..<40: (b ^ c ^ d, 0x6ED9_EBA1)
                    case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                    default: (b ^ c ^ d, 0xCA62_C1D6)
                    }
                let next = (a << 5 | a >> 27) &+ f &+ e &+ k &+ words[i]
                (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, next)
            }
            for (position, value) in [a, b, c, d, e].enumerated() { state[position] &+= value }
        }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }
}

extension StatCleanTests {
    /// Skipped units had no lines, so they leave nothing in the memory: it must equal the one
    /// a single pass remembers, and recounts from it must agree with git.
    @Test("a memory taken with units skipped is the single pass's, and recounts from it agree")
    func memoryWithSkippedUnits() throws {
        let fixture = try GitFixture()
        let tree = try Self.cleanTrunk(fixture)
        try fixture.write("x-changed-and-longer\n", to: "src/a/x.txt", in: tree)
        try fixture.write("u\n", to: "src/b/deep/more/new.txt", in: tree)

        let tally = StatCleanTally()
        var counter = CountingMode.partitioned.counter
        counter.statCleanTally = tally
        let split = GitProbe(counter: counter)
        let (state, memory) = try split.probe(path: tree.path, defaultBranch: "main", remembering: true)
        let single = try CountingMode.onePass.probe.probe(path: tree.path, defaultBranch: "main", remembering: true).memory
        #expect(tally.skipped >= 1)
        #expect(state.uncommittedFilesCount == (try fixture.porcelainLineCount(in: tree)))
        let remembered = try #require(memory)
        #expect(remembered.linesByPath == single?.linesByPath)
        #expect(remembered.linesByPath == [Array("src/a/x.txt".utf8): 1, Array("src/b/deep/more/new.txt".utf8): 1])

        try fixture.write("y-changed\n", to: "src/a/y.txt", in: tree)
        let recount = try #require(
            try split.reprobe(
                path: tree.path, after: state, memory: remembered, changedPaths: [Array("src/a/y.txt".utf8)]))
        #expect(recount.state.uncommittedFilesCount == (try fixture.porcelainLineCount(in: tree)))
        #expect(recount.state.uncommittedFilesCount == 3)
    }
}
