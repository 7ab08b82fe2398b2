import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// GitProbe's answer for a worktree must equal the git CLI's (REGISTRY.md: the CLI is the
/// oracle), and the values each scenario pins.
@Suite("GitProbe agrees with the git CLI", .ownThreads)
struct GitProbeDifferentialTests {
    @Test("state matches git CLI", arguments: Scenario.all, CountingMode.allCases)
    func stateMatchesGitCLI(scenario: Scenario, mode: CountingMode) throws {
        let fixture = try GitFixture()
        let worktree = try scenario.build(fixture)

        let state = try mode.probe.probe(path: worktree.path, defaultBranch: scenario.defaultBranch)
        let oracle = try fixture.cliState(of: worktree, defaultBranch: scenario.defaultBranch)

        #expect(state.uncommittedFilesCount == oracle.uncommittedFilesCount)
        #expect(state.hasUncommittedChanges == (oracle.uncommittedFilesCount > 0))
        #expect(state.aheadOfTrunk == oracle.aheadOfTrunk)
        #expect(state.behindTrunk == oracle.behindTrunk)
        #expect(state.lastCommitHash == oracle.lastCommitHash)
        #expect(state.lastCommitMessage == oracle.lastCommitMessage)
        #expect(state.trunkRef == oracle.trunkRef)
        #expect(state.branch == oracle.branch)

        let pinned = scenario.pinned
        if let count = pinned.count { #expect(state.uncommittedFilesCount == count) }
        if let ahead = pinned.ahead { #expect(state.aheadOfTrunk == ahead) }
        if let behind = pinned.behind { #expect(state.behindTrunk == behind) }
        if let trunkRef = pinned.trunkRef { #expect(state.trunkRef == trunkRef) }
        if pinned.noTrunk {
            #expect(state.aheadOfTrunk == nil)
            #expect(state.behindTrunk == nil)
            #expect(state.trunkRef == nil)
        } else {
            #expect(state.trunkRef != nil)
        }
        if pinned.detached { #expect(state.branch == nil) } else { #expect(state.branch != nil) }
        if pinned.unborn {
            #expect(state.lastCommitHash == nil)
            #expect(state.lastCommitMessage == nil)
        } else {
            #expect(state.lastCommitHash?.count == 40)
        }
    }

    @Test("commit subject matches git log -1 --format=%s", arguments: CommitMessages.all)
    func subjectMatchesGitLog(message: String) throws {
        let fixture = try GitFixture()
        let tree = try fixture.initRepository("subjects")
        try fixture.write("x\n", to: "x.txt", in: tree)
        try fixture.git(["add", "x.txt"], in: tree)
        try fixture.commit(message, in: tree)

        let state = try GitProbe().probe(path: tree.path, defaultBranch: "main")

        let expected = try #require(try fixture.subject(in: tree))
        #expect(state.lastCommitMessage == expected)
        #expect(state.lastCommitMessage == CommitMessages.expectedSubject[message])
    }

    /// `git -c i18n.commitEncoding=ISO-8859-1 commit` stores the message's bytes as given,
    /// with an `encoding` header; git log re-encodes to UTF-8 (and shows unconvertible bytes
    /// as stored).
    @Test(
        "a subject stored in another encoding is re-encoded to UTF-8 as git log does",
        arguments: [
            ("ISO-8859-1", Array("caf".utf8) + [0xE9] + Array(" cr".utf8) + [0xE8] + Array("me".utf8), "café crème"),
            ("latin-1", [0x66, 0xFC, 0x72], "für"),
            ("Shift_JIS", [0x93, 0xFA, 0x96, 0x7B], "日本"),
            ("EUC-JP", [0xC6, 0xFC, 0xCB, 0xDC, 0x0A, 0x0A, 0x62, 0x6F, 0x64, 0x79], "日本"),
            ("utf8", Array("déjà vu".utf8), "déjà vu"),
            // Not valid EUC-JP: git shows the bytes as stored (U+FFFD once decoded).
            ("EUC-JP", [0x61, 0xFF, 0xFF, 0x62], "a\u{FFFD}\u{FFFD}b"),
            ("x-no-such-encoding", Array("plain".utf8), "plain"),
        ] as [(String, [UInt8], String)])
    func encodedSubject(encoding: String, message: [UInt8], expected: String) throws {
        let fixture = try GitFixture()
        let tree = try fixture.initRepository("encoded")
        try fixture.commit(messageBytes: message, encoding: encoding, in: tree)
        let state = try GitProbe().probe(path: tree.path, defaultBranch: "main")
        #expect(state.lastCommitMessage == (try fixture.subject(in: tree)))
        #expect(state.lastCommitMessage == expected)
    }

    @Test("a fresh clone is level with origin/HEAD and reports its branch and subject")
    func freshCloneIsLevelWithOriginHead() throws {
        let fixture = try GitFixture()
        let project = try fixture.makeProject("same")
        let state = try GitProbe().probe(path: project.trunk.path, defaultBranch: "main")
        #expect(state.aheadOfTrunk == 0)
        #expect(state.behindTrunk == 0)
        #expect(state.trunkRef == "refs/remotes/origin/HEAD")
        #expect(state.branch == "main")
        #expect(state.lastCommitMessage == "initial commit")
    }
}
