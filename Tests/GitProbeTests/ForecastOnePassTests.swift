import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// The probe's status also gives the forecast's scan (one walk of the working directory per
/// worktree); the working state built from it must equal the one built from the forecast's
/// own scan, and a status that cannot give every untracked file gives none.
@Suite("One pass: the probe's status gives the forecast's scan", .ownThreads)
struct ForecastOnePassTests {
    @Test("the state from the probe's scan equals the state from the forecast's own scan",
          arguments: Scenario.all, CountingMode.allCases)
    func sameStateAsOwnScan(scenario: Scenario, mode: CountingMode) throws {
        let fixture = try GitFixture()
        let worktree = try scenario.build(fixture)
        let probed = try mode.probe.probe(
            path: worktree.path, defaultBranch: scenario.defaultBranch, remembering: true, scanning: true)
        guard let probeScan = probed.scan,
            let own = try? MergeSandbox.scan(worktreeAt: worktree.path, defaultBranch: scenario.defaultBranch)
        else { return }
        let common = try MergeSandbox.commonDirectory(ofWorktreeAt: worktree.path)
        let fromOwn = try MergeSandbox(commonDirectory: common).workingState(from: own)
        let fromProbe = try MergeSandbox(commonDirectory: common).workingState(from: probeScan)
        #expect(fromProbe == fromOwn)
    }

    @Test("an untracked directory shown as one entry gives no scan; with showUntrackedFiles=all it does, and the same state")
    func untrackedDirectory() throws {
        let setup = try ForecastFileTests.project()
        let generated = setup.worktree.appendingPathComponent("gen/deep")
        try FileManager.default.createDirectory(at: generated, withIntermediateDirectories: true)
        for number in 0..<20 {
            try "file \(number)\n".write(to: generated.appendingPathComponent("f\(number).txt"), atomically: false, encoding: .utf8)
        }
        try "new\n".write(to: setup.worktree.appendingPathComponent("src/new.c"), atomically: false, encoding: .utf8)
        let probe = GitProbe()
        let normal = try probe.probe(path: setup.worktree.path, defaultBranch: "main", remembering: true, scanning: true)
        #expect(normal.scan == nil, "gen/ stands for 20 files the status did not list")

        try setup.fixture.git(["config", "status.showUntrackedFiles", "all"], in: setup.worktree)
        let all = try probe.probe(path: setup.worktree.path, defaultBranch: "main", remembering: true, scanning: true)
        let scan = try #require(all.scan)
        let sandbox = try MergeSandbox(commonDirectory: setup.common)
        let state = try sandbox.workingState(from: scan)
        #expect(state == (try sandbox.workingState(ofWorktreeAt: setup.worktree.path, defaultBranch: "main")))
        #expect(state.changes.count == 21)
        #expect(state.tree == (try ForecastTests.gitAddAllTree(setup.fixture, setup.worktree)))

        try setup.fixture.git(["config", "status.showUntrackedFiles", "no"], in: setup.worktree)
        let none = try probe.probe(path: setup.worktree.path, defaultBranch: "main", remembering: true, scanning: true)
        #expect(none.scan == nil, "untracked files not listed at all")
    }
}
