import Foundation
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// The agent while the registry is busy (a lock on `worktrees`) or silent (a proxy that stops
/// forwarding): it keeps working, says so, and catches up; bounds are short so nothing sleeps.
@Suite("imi-sync run: a busy or silent registry", .serialized, .ownThreads)
struct RegistryTimeoutTests {
    let fixture: GitFixture

    init() throws {
        fixture = try GitFixture()
    }

    static let short = ConnectionTimeouts(
        reply: .seconds(3), lock: .milliseconds(300), statement: .seconds(2), listenerCheck: .seconds(1))

    @Test("a silent peer under the listening connection is noticed by its liveness check: listenerLost")
    func silentListener() async throws {
        let (relay, conninfo) = try PostgresCluster.shared().databaseBehindRelay()
        defer { relay.stop() }
        let settings = ConnectionSettings(
            conninfo: conninfo, origin: "test", timeouts: ConnectionTimeouts(reply: .seconds(1), listenerCheck: .milliseconds(500)))
        let inbox = Inbox()
        let listener = try RegistryListener(direct: settings, inbox: inbox, logger: Logger(label: "test"))
        listener.start()
        relay.pause()
        var lost: String?
        #expect(try await eventually("listener lost", seconds: 30) {
            lost = inbox.drain().lazy.compactMap { input -> String? in
                if case .listenerLost(let reason) = input { return reason }
                return nil
            }.first ?? lost
            return lost != nil
        })
        #expect(lost?.hasPrefix("no answer from PostgreSQL at") == true)
        relay.resume()
        listener.stop()
    }

    @Test("with worktrees locked ACCESS EXCLUSIVE the agent goes on probing, shows the states as refused, and writes them once the lock is gone")
    func lockedWorktrees() async throws {
        let (registry, project, trunkID) = try RegistrySeeder.withTrunk(of: "locked", in: fixture)
        var settings = registry.settings
        settings.timeouts = Self.short
        try await withRunningAgent(RunningAgent(settings: settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try registry.row(trunkID).files == 0)

            let holder = try PostgresConnection(settings: registry.settings)
            try holder.execute("BEGIN")
            try holder.execute("LOCK TABLE worktrees IN ACCESS EXCLUSIVE MODE")
            let probes = running.statistics.probes
            try "changed\n".write(to: project.trunk.appendingPathComponent("README.md"), atomically: false, encoding: .utf8)
            #expect(try await eventually("held back") {
                running.statistics.refusedStates > 0 || !running.statistics.databaseUp
            })
            // The loop is not stuck in a statement: it still probes a second edit.
            try "new\n".write(to: project.trunk.appendingPathComponent("notes.txt"), atomically: false, encoding: .utf8)
            #expect(try await eventually("still probing") { running.statistics.probes >= probes + 2 })
            #expect(running.statistics.pendingStates == 1)
            try holder.execute("ROLLBACK")

            #expect(try await eventually("written after the lock") { try registry.row(trunkID).files == 2 })
            #expect(try await eventually("caught up") {
                running.statistics.pendingStates == 0 && running.statistics.refusedStates == 0 && running.statistics.databaseUp
            })
            let said = running.messages.all
            #expect(said.contains { $0.hasPrefix("warning: the registry is busy") || $0.hasPrefix("warning: lost the registry connection") })
        }
    }
}
