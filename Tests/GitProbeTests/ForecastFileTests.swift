import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import GitProbe

/// What the forecast meets in working directories besides small files: FIFOs swapped in while
/// it reads, a tracked file replaced by a FIFO, a file of gigabytes, a new directory of
/// thousands of files. It must finish, agree with git, and hold no file in memory.
@Suite("Forecast over FIFOs, huge files and large untracked directories", .ownThreads)
struct ForecastFileTests {
    struct Project {
        let fixture: GitFixture
        let project: GitFixture.Project
        let trunk: URL
        let worktree: URL
        var common: String { trunk.appendingPathComponent(".git").path }
    }

    static func project() throws -> Project {
        let fixture = try GitFixture()
        let project = try fixture.makeProject("p", files: ["README.md": "a\n", "src/app.c": "int main;\n"])
        try fixture.git(["fetch", "--quiet"], in: project.trunk)
        let worktree = try fixture.addWorktree("feat-x", branch: "feat/x", to: project)
        return Project(fixture: fixture, project: project, trunk: project.trunk, worktree: worktree)
    }

    /// `renameat2(…, RENAME_EXCHANGE)`: Glibc declares it only under _GNU_SOURCE.
    static let exchange: @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32 = {
        unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2"), to: (@convention(c) (
            Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32).self)
    }()

    @Test("untracked files exchanged with FIFOs while states are built: every build finishes")
    func fifoSwapRace() throws {
        let setup = try Self.project()
        let files = (0..<100).map { setup.worktree.appendingPathComponent(String(format: "u%03d.txt", $0)).path }
        let fifos = (0..<100).map { setup.fixture.root.appendingPathComponent(String(format: "fifo%03d", $0)).path }
        for (file, fifo) in zip(files, fifos) {
            try "content of \(file)\n".write(toFile: file, atomically: false, encoding: .utf8)
            #expect(mkfifo(fifo, 0o644) == 0)
        }
        let stop = Flag()
        let swaps = Thread {
            while !stop.isSet {
                for (file, fifo) in zip(files, fifos) { _ = Self.exchange(AT_FDCWD, file, AT_FDCWD, fifo, 2) }
            }
        }
        let finished = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        let builds = Thread {
            do {
                let sandbox = try MergeSandbox(commonDirectory: setup.common)
                for _ in 0..<30 {
                    let state = try sandbox.workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")
                    outcome.record(state.changes.allSatisfy { $0.kind == .added })
                }
            } catch {
                outcome.fail("\(error)")
            }
            finished.signal()
        }
        swaps.start()
        builds.start()
        let done = finished.wait(timeout: .now() + 60) == .success
        stop.set()
        if !done {
            // Release the reader stuck on a FIFO so the test process can go on.
            for path in files + fifos {
                let descriptor = open(path, O_WRONLY | O_NONBLOCK)
                if descriptor >= 0 { close(descriptor) }
            }
        }
        #expect(done, "30 builds finished within 60 s while files were exchanged with FIFOs")
        #expect(outcome.failure == nil)
        #expect(outcome.builds == 30 && outcome.allAdded, "each build recorded the files it found as added")

        // Every file back in place: the state is git's.
        while !swaps.isFinished { usleep(1000) }
        for (file, fifo) in zip(files, fifos) {
            var info = stat()
            if lstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFIFO { _ = Self.exchange(AT_FDCWD, file, AT_FDCWD, fifo, 2) }
        }
        let state = try MergeSandbox(commonDirectory: setup.common).workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")
        #expect(state.tree == (try ForecastTests.gitAddAllTree(setup.fixture, setup.worktree)))
        #expect(state.changes.count == 100)
    }

    @Test("a tracked file replaced by a FIFO is modified, as git status says, and its index entry stays")
    func trackedFileBecomesFifo() throws {
        let setup = try Self.project()
        let readme = setup.worktree.appendingPathComponent("README.md").path
        try FileManager.default.removeItem(atPath: readme)
        #expect(mkfifo(readme, 0o644) == 0)
        let before = try RepositorySnapshot(common: setup.common, worktrees: [setup.trunk, setup.worktree], fixture: setup.fixture)
        let state = try MergeSandbox(commonDirectory: setup.common).workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")
        #expect(try RepositorySnapshot(common: setup.common, worktrees: [setup.trunk, setup.worktree], fixture: setup.fixture) == before)
        let status = try setup.fixture.git(["status", "--porcelain"], in: setup.worktree)
        #expect(status == " M README.md\n", "the oracle: git status")
        #expect(state.changes == [PathChange(path: Array("README.md".utf8), kind: .modified)])
        #expect(state.unreadablePaths == [Array("README.md".utf8)])
        #expect(state.tree == (try setup.fixture.git(["rev-parse", "HEAD^{tree}"], in: setup.worktree))
            .trimmingCharacters(in: .whitespacesAndNewlines), "the tree keeps the index's entry")
    }

    @Test("a sparse 3 GB untracked file is hashed as git hash-object does, without being held in memory")
    func hugeSparseFile() throws {
        let setup = try Self.project()
        try SparseFile.create(setup.worktree.appendingPathComponent("huge.bin").path, size: 3 << 30, endingWith: "tail")
        let sandbox = try MergeSandbox(commonDirectory: setup.common)
        let start = ProcessMemory.resetPeak()
        let clock = ContinuousClock()
        let began = clock.now
        let state = try sandbox.workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")
        let elapsed = clock.now - began
        let growth = ProcessMemory.peak() - start
        print("3 GB sparse file: built in \(elapsed), peak RSS growth \(growth >> 20) MiB, sandbox holds \(sandbox.storedBytes) bytes")
        #expect(growth < 200 << 20, "peak RSS grew by \(growth >> 20) MiB")
        #expect(sandbox.storedBytes < 1 << 20, "the file's content never went into the sandbox")

        let id = try setup.fixture.git(["hash-object", "huge.bin"], in: setup.worktree).trimmingCharacters(in: .whitespacesAndNewlines)
        // The tree git would write, from the blob id alone (the 3 GB blob is never written).
        let index = setup.fixture.root.appendingPathComponent("index-huge").path
        let gitDirectory = try setup.fixture.git(["rev-parse", "--absolute-git-dir"], in: setup.worktree)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.copyItem(atPath: gitDirectory + "/index", toPath: index)
        _ = try setup.fixture.gitResult(
            ["update-index", "--add", "--cacheinfo", "100644,\(id),huge.bin"], in: setup.worktree, extraEnvironment: ["GIT_INDEX_FILE": index])
        let tree = try setup.fixture.gitResult(["write-tree", "--missing-ok"], in: setup.worktree, extraEnvironment: ["GIT_INDEX_FILE": index])
        #expect(state.tree == tree.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(state.changes == [PathChange(path: Array("huge.bin".utf8), kind: .added)])
    }

    @Test("a new directory of 2,000 files is listed as one entry, as git status lists it")
    func untrackedDirectoryIsOneEntry() throws {
        let setup = try Self.project()
        let generated = setup.worktree.appendingPathComponent("gen/deep")
        try FileManager.default.createDirectory(at: generated, withIntermediateDirectories: true)
        for number in 0..<2000 {
            try "file \(number)\n".write(to: generated.appendingPathComponent("f\(number).txt"), atomically: false, encoding: .utf8)
        }
        try "new\n".write(to: setup.worktree.appendingPathComponent("src/new.c"), atomically: false, encoding: .utf8)
        let before = try RepositorySnapshot(common: setup.common, worktrees: [setup.trunk, setup.worktree], fixture: setup.fixture)
        let state = try MergeSandbox(commonDirectory: setup.common).workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")
        // 2,001 blobs and their trees went into the sandbox's in-memory store, none into the repository.
        #expect(try RepositorySnapshot(common: setup.common, worktrees: [setup.trunk, setup.worktree], fixture: setup.fixture) == before)
        #expect(state.changes.count == 2001)
        #expect(state.listedChanges.map(\.text) == ["gen/", "src/new.c"])
        let porcelain = try setup.fixture.git(["status", "--porcelain"], in: setup.worktree)
        #expect(porcelain == "?? gen/\n?? src/new.c\n", "the oracle: git status")
        #expect(state.listedEntry(for: Array("gen/deep/f7.txt".utf8)) == Array("gen/".utf8))
        #expect(state.tree == (try ForecastTests.gitAddAllTree(setup.fixture, setup.worktree)))
    }

    @Test("large files are merged by id alone: the same one merges cleanly, two different ones cannot be merged (no guess)")
    func largeFilesInMerges() throws {
        let setup = try Self.project()
        let other = try setup.fixture.addWorktree("feat-y", branch: "feat/y", to: setup.project)
        let size = WorktreeFile.storeLimit + 10
        let sandbox = try MergeSandbox(commonDirectory: setup.common)
        let worktrees = [setup.trunk, setup.worktree, other]
        var before: RepositorySnapshot?
        for (label, second) in [("same", "a"), ("different", "b")] {
            try String(repeating: "a", count: size).write(to: setup.worktree.appendingPathComponent("big.bin"), atomically: false, encoding: .utf8)
            try String(repeating: second, count: size).write(to: other.appendingPathComponent("big.bin"), atomically: false, encoding: .utf8)
            before = try RepositorySnapshot(common: setup.common, worktrees: worktrees, fixture: setup.fixture)
            let a = try sandbox.workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")
            let b = try sandbox.workingState(ofWorktreeAt: other.path, defaultBranch: "main")
            if label == "same" {
                #expect(try sandbox.conflictingPaths(a, b) == [])
            } else {
                #expect(throws: GitProbeError.self, "the merge needs both contents, which were never stored") {
                    _ = try sandbox.conflictingPaths(a, b)
                }
            }
            // Streamed hashes, in-memory trees and merges: nothing reached the repository.
            #expect(try RepositorySnapshot(common: setup.common, worktrees: worktrees, fixture: setup.fixture) == before)
        }
        #expect(sandbox.storedBytes < 1 << 20)
    }

    @Test("a clone sharing its objects through objects/info/alternates builds states from them")
    func alternates() throws {
        let setup = try Self.project()
        let shared = setup.fixture.root.appendingPathComponent("shared")
        try setup.fixture.git(["clone", "--quiet", "--shared", setup.trunk.path, shared.path], in: setup.fixture.root)
        #expect(FileManager.default.fileExists(atPath: shared.path + "/.git/objects/info/alternates"))
        try "changed\n".write(to: shared.appendingPathComponent("README.md"), atomically: false, encoding: .utf8)
        let common = shared.appendingPathComponent(".git").path
        let state = try MergeSandbox(commonDirectory: common).workingState(ofWorktreeAt: shared.path, defaultBranch: "main")
        #expect(state.tree == (try ForecastTests.gitAddAllTree(setup.fixture, shared)))
        #expect(state.changes.map(\.text) == ["README.md"])
    }

    @Test("a scan holds contents up to its limit; past it files are hashed only, and the tree is still git's")
    func scanContentLimit() throws {
        let setup = try Self.project()
        for number in 0..<12 {
            try String(repeating: Character(String(number % 10)), count: 100_000)
                .write(to: setup.worktree.appendingPathComponent("n\(number).txt"), atomically: false, encoding: .utf8)
        }
        let scan = try MergeSandbox.scan(worktreeAt: setup.worktree.path, defaultBranch: "main", scanContentLimit: 500_000)
        let held = scan.edits.reduce(0) { total, edit in
            if case .add(_, let blob, _) = edit { return total + (blob.content?.count ?? 0) }
            return total
        }
        #expect(held <= 500_000 && held > 0)
        let state = try MergeSandbox(commonDirectory: setup.common).workingState(from: scan)
        #expect(state.tree == (try ForecastTests.gitAddAllTree(setup.fixture, setup.worktree)))
    }

    @Test("a runaway .gitignore is refused in one line naming it, not read whole")
    func hugeGitignore() throws {
        let setup = try Self.project()
        try SparseFile.create(setup.worktree.appendingPathComponent(".gitignore").path, size: 1 << 30)
        let error = #expect(throws: GitProbeError.self) {
            _ = try MergeSandbox.scan(worktreeAt: setup.worktree.path, defaultBranch: "main")
        }
        #expect(error?.description.contains(".gitignore") == true && error?.description.contains("\n") == false, "\(String(describing: error))")
        #expect(error?.description.contains("1073741824 bytes") == true)
    }

    @Test("the bytes a sandbox holds are counted, path-level updates included; large files add nothing")
    func storedBytesAreCounted() throws {
        let setup = try Self.project()
        let sandbox = try MergeSandbox(commonDirectory: setup.common)
        let clean = try #require(try sandbox.cleanWorkingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main"))
        let start = sandbox.storedBytes
        let text = String(repeating: "x", count: 100_000)
        try text.write(to: setup.worktree.appendingPathComponent("notes.txt"), atomically: false, encoding: .utf8)
        let updated = try #require(try sandbox.updatedWorkingState(clean, changedPaths: [Array("notes.txt".utf8)]))
        #expect(sandbox.storedBytes >= start + 100_000, "the blob and the new tree are counted")
        let afterSmall = sandbox.storedBytes
        let big = String(repeating: "y", count: WorktreeFile.storeLimit + 1)
        try big.write(to: setup.worktree.appendingPathComponent("notes.txt"), atomically: false, encoding: .utf8)
        let bigger = try #require(try sandbox.updatedWorkingState(updated, changedPaths: [Array("notes.txt".utf8)]))
        #expect(sandbox.storedBytes - afterSmall < 4096, "only trees: the large blob is not stored")
        #expect(bigger == (try MergeSandbox(commonDirectory: setup.common)
            .workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")))
    }
}

/// The process's resident memory, from /proc/self/status.
enum ProcessMemory {
    /// Resets the peak (VmHWM) to the current RSS and returns it.
    static func resetPeak() -> Int {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        return value("VmRSS")
    }

    static func peak() -> Int { value("VmHWM") }

    private static func value(_ key: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return 0
    }
}

private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

private final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var builds = 0
    private(set) var allAdded = true
    private(set) var failure: String?
    func record(_ added: Bool) { lock.withLock { builds += 1; allAdded = allAdded && added } }
    func fail(_ text: String) { lock.withLock { failure = text } }
}
