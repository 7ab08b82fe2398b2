import Foundation
import TestSupport
import Testing

@testable import SyncAgent

/// Files git keeps small, planted large or as a FIFO under a root: refused in one line, never
/// read whole, never waited on.
extension ScanTests {
    @Test("a 2 GB sparse file named .git is skipped as too large to be a git file; the scan goes on")
    func hugeDotGit() throws {
        let tree = try Tree()
        let big = try tree.git.directory("code/big")
        try SparseFile.create(big.appendingPathComponent(".git").path, size: 2 << 30)
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        let report = try tree.scan(registry)
        let skip = try #require(report.skipped.first { $0.path == big.path }, "\(report.skipped)")
        #expect(skip.reason == .tooLarge)
        #expect(skip.detail?.contains("\(big.path)/.git is 2147483648 bytes, too large to be a git file") == true, "\(skip)")
        #expect(report.found.map(\.path) == [tree.trunk.path])
    }

    @Test("a FIFO named .git, or planted as a worktree's gitdir, is refused without blocking")
    func fifoGitFiles() throws {
        let tree = try Tree()
        let feature = try tree.worktree("feat-a", branch: "feat/a")
        let pipe = try tree.git.directory("code/pipe")
        #expect(mkfifo(pipe.appendingPathComponent(".git").path, 0o644) == 0)
        let gitdir = tree.trunk.appendingPathComponent(".git/worktrees/feat-a/gitdir")
        try FileManager.default.removeItem(at: gitdir)
        #expect(mkfifo(gitdir.path, 0o644) == 0)
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        let report = try tree.scan(registry)
        #expect(report.skipped.first { $0.path == pipe.path }?.reason == .notARepository, "\(report.skipped)")
        // libgit2 does not list an administrative directory whose gitdir is no regular file;
        // the worktree's own top is refused naming the FIFO.
        let refused = report.skipped.first { $0.path == feature.path }
        #expect(refused?.reason == .notARepository)
        #expect(refused?.detail?.contains("\(gitdir.path) is a FIFO (named pipe), not a regular file") == true, "\(report.skipped)")
        #expect(report.found.map(\.path) == [tree.trunk.path])
    }
}
