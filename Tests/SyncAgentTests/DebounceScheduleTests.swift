import Foundation
import PostgresClient
import RegistryClient
import Testing
import TestSupport

@testable import SyncAgent
@testable import SyncConfiguration
@testable import WorktreeProbing

@Suite("Debounce schedule: settle window, maximum delay, backoff, changed-only writes", .ownThreads)
struct DebounceScheduleTests {
    private func ms(_ value: Int64) -> Duration { .milliseconds(value) }

    @Test(
        "a worktree is due after the settle window or the maximum delay, whichever is first",
        arguments: [
            // events at these times (ms), asked at `now`: due or not
            ([0], 49, false),
            ([0], 50, true),
            ([0, 30], 60, false),
            ([0, 30], 80, true),
            // a steady trickle every 40 ms never settles, but the maximum delay wins
            ([0, 40, 80, 120, 160, 200, 240, 280, 320, 360, 400, 440, 480], 499, false),
            ([0, 40, 80, 120, 160, 200, 240, 280, 320, 360, 400, 440, 480, 520], 500, true),
        ] as [([Int64], Int64, Bool)])
    func dueTimes(events: [Int64], now: Int64, due: Bool) {
        var dirty = DebounceSchedule(settle: ms(50), maxDelay: ms(500))
        for time in events { dirty.mark("w", at: ms(time)) }
        #expect(dirty.takeDue(at: ms(now)) == (due ? ["w"] : []))
        #expect(dirty.isEmpty == due)
    }

    @Test("while git works (index.lock, a rebase) the worktree is held; due a settle after the last marker goes")
    func heldWhileGitWorks() {
        var schedule = DebounceSchedule(settle: ms(20), maxDelay: ms(1000), holdLimit: ms(5000))
        schedule.note("index.lock", begun: true, in: "w", at: ms(0))
        // A checkout writing files for three seconds: no probe, not even at the maximum delay.
        for time in stride(from: Int64(0), through: 3000, by: 10) {
            schedule.mark("w", at: ms(time))
            #expect(schedule.takeDue(at: ms(time)).isEmpty)
        }
        #expect(schedule.isHeld("w", at: ms(3000)))
        schedule.note("index.lock", begun: false, in: "w", at: ms(3005))
        schedule.mark("w", at: ms(3005))
        #expect(schedule.takeDue(at: ms(3024)).isEmpty)
        #expect(schedule.takeDue(at: ms(3025)) == ["w"], "one probe, a settle after git finished")
        #expect(!schedule.isHeld("w", at: ms(3025)))
    }

    @Test("two markers hold until both go; a marker left behind holds at most the limit, and does not stretch the next hold")
    func holdLimit() {
        var schedule = DebounceSchedule(settle: ms(20), maxDelay: ms(1000), holdLimit: ms(500))
        schedule.note("rebase-merge", begun: true, in: "w", at: ms(0))
        schedule.note("index.lock", begun: true, in: "w", at: ms(10))
        schedule.note("index.lock", begun: false, in: "w", at: ms(20))
        schedule.mark("w", at: ms(20))
        #expect(schedule.takeDue(at: ms(100)).isEmpty, "the rebase still runs")
        #expect(schedule.nextDeadline == ms(500))
        #expect(schedule.takeDue(at: ms(500)) == ["w"], "a stopped rebase is written at the limit")
        // The rebase directory is still there much later; a new lock starts a new hold.
        schedule.note("index.lock", begun: true, in: "w", at: ms(2000))
        schedule.mark("w", at: ms(2000))
        #expect(schedule.takeDue(at: ms(2100)).isEmpty)
        #expect(schedule.takeDue(at: ms(2500)) == ["w"])
        schedule.remove("w")
        #expect(schedule.holds.isEmpty)
    }

    @Test("a burst of thousands of events on one worktree gives one probe")
    func burstCoalesces() {
        var dirty = DebounceSchedule(settle: ms(50), maxDelay: ms(1000))
        var probes = 0
        // 3,000 events within 300 ms: no probe while they keep coming, one once they settle.
        for time in Int64(0)..<3000 {
            dirty.mark("w", at: ms(time / 10))
            probes += dirty.takeDue(at: ms(time / 10)).count
        }
        probes += dirty.takeDue(at: ms(400)).count
        #expect(probes == 1)
        #expect(dirty.nextDeadline == nil)
    }

    @Test("immediate marks are due at once and the next deadline is the earliest entry")
    func immediateAndDeadline() {
        var dirty = DebounceSchedule(settle: ms(50), maxDelay: ms(500))
        dirty.mark("late", at: ms(100))
        dirty.mark("now", at: ms(100), immediate: true)
        #expect(dirty.nextDeadline == ms(100))
        #expect(dirty.takeDue(at: ms(100)) == ["now"])
        #expect(dirty.nextDeadline == ms(150))
        #expect(dirty.takeAll().map(\.id) == ["late"])
    }

    @Test("a burst's changed files are merged; anything coarser, or too many files, is a full status")
    func changesMerge() {
        var dirty = DebounceSchedule(settle: ms(50), maxDelay: ms(500))
        let a = Array("a.txt".utf8), b = Array("src/b.txt".utf8)
        dirty.mark("w", at: ms(0), changes: .files([a]))
        dirty.mark("w", at: ms(10), changes: .files([b]))
        dirty.mark("x", at: ms(0), changes: .files([a]))
        dirty.mark("x", at: ms(10))
        let due = dirty.takeDueChanges(at: ms(100))
        #expect(due.map(\.id) == ["w", "x"])
        #expect(due[0].changes == .files([a, b]))
        #expect(due[1].changes == .everything)

        var many = WorktreeChanges.files([])
        for index in 0...WorktreeChanges.pathLimit { many.insert(Array("f\(index)".utf8)) }
        #expect(many == .everything)
        var after = WorktreeChanges.everything
        after.merge(.files([a]))
        #expect(after == .everything)
    }

    @Test("reconnect backoff doubles and is capped")
    func backoff() {
        let backoff = Backoff(initial: ms(250), cap: .seconds(5))
        #expect((0..<7).map(backoff.delay(forAttempt:)) == [
            ms(250), ms(500), ms(1000), ms(2000), ms(4000), ms(5000), ms(5000),
        ])
        #expect(backoff.delay(forAttempt: 10_000) == .seconds(5))
    }

    private func update(_ id: String, files: Int, hash: String = "a", at time: Double = 0) -> GitStateUpdate {
        GitStateUpdate(
            worktreeID: id, uncommittedFilesCount: files, aheadOfTrunk: 0, behindTrunk: nil,
            lastCommitHash: hash, lastCommitMessage: "m", readAt: Date(timeIntervalSince1970: time))
    }

    @Test("only a state that differs from the stored one is pending; the latest one wins")
    func ledgerKeepsLatestChange() {
        var ledger = StateLedger()
        ledger.seed(["w": update("w", files: 1)])
        #expect(ledger.record(update("w", files: 1, at: 99)) == false)
        #expect(ledger.pending.isEmpty)
        #expect(ledger.record(update("w", files: 2, at: 1)) == true)
        #expect(ledger.record(update("w", files: 3, at: 2)) == true)
        #expect(ledger.pendingUpdates.map(\.uncommittedFilesCount) == [3])
        // Back to the stored state before it was written: nothing to write.
        #expect(ledger.record(update("w", files: 1, at: 3)) == false)
        #expect(ledger.pending.isEmpty)
        #expect(ledger.record(update("x", files: 0)) == true)
        let written = ledger.pendingUpdates
        ledger.committed(written)
        #expect(ledger.pending.isEmpty)
        #expect(ledger.stored["x"]?.uncommittedFilesCount == 0)
    }

    @Test("[sync] in config.toml sets what it names and rejects unknown keys and bad values")
    func timingTable() throws {
        var configuration = AgentConfiguration()
        let file = try ConfigFile.parse(
            "# agent\n[sync]\nsettle_ms = 80\nmax_delay_ms=900 # busy trees\nreconnect_cap_seconds = 7\n",
            path: "config.toml")
        try configuration.apply(file.sync!, path: "config.toml")
        #expect(configuration.settle == ms(80))
        #expect(configuration.maxDelay == ms(900))
        #expect(configuration.reconnect.cap == .seconds(7))
        #expect(configuration.heartbeat == AgentConfiguration().heartbeat)
        let unknown = #expect(throws: ConfigError.self) {
            try ConfigFile.parse("[sync]\nsettle = 3\n", path: "config.toml")
        }
        #expect(unknown?.description.contains("unknown key sync.settle") == true)
        let negative = try ConfigFile.parse("[sync]\nsettle_ms = -3\n", path: "config.toml")
        #expect(throws: ConfigError.self) { try configuration.apply(negative.sync!, path: "config.toml") }
    }
}
