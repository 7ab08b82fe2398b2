import Foundation
import Logging
import PostgresClient
import RegistryClient
import Synchronization
import Testing
import TestSupport

@testable import SyncAgent

/// A clock that only moves when the test says so.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct State {
        var current = Instant(offset: .zero)
        var sleepers: [(id: UUID, deadline: Instant, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.current } }
    var minimumResolution: Duration { .zero }
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case due, cancelled, waiting }
                let now: Now = state.withLock { state in
                    if deadline <= state.current { return .due }
                    if Task.isCancelled { return .cancelled }
                    state.sleepers.append((id, deadline, continuation))
                    return .waiting
                }
                switch now {
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                state.sleepers.firstIndex { $0.id == id }.map { state.sleepers.remove(at: $0) }
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.current = state.current.advanced(by: duration)
            let current = state.current
            defer { state.sleepers.removeAll { $0.deadline <= current } }
            return state.sleepers.filter { $0.deadline <= current }
        }
        due.forEach { $0.continuation.resume() }
    }
}

@Suite("imi-sync run: time comes from the injected clock", .serialized, .ownThreads)
struct RunClockTests {
    @Test("reconnect attempts follow the capped backoff on the injected clock, not wall time")
    func reconnectBackoffFollowsClock() async throws {
        let clock = ManualClock()
        let configuration = {
            var configuration = AgentConfiguration.fastForTests
            configuration.reconnect = Backoff(initial: .milliseconds(250), cap: .milliseconds(600))
            return configuration
        }()
        let unreachable = ConnectionSettings(
            conninfo: "host=/tmp/imi-no-server-\(UUID().uuidString.prefix(8)) user=postgres dbname=none",
            origin: "test")
        let agent = AgentLoop(
            settings: unreachable, configuration: configuration, loadConfiguration: { configuration },
            clock: clock, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, host: .forTests)
        agent.start()

        /// After each attempt the agent goes to sleep until the next one, on the injected
        /// clock; the deadline it publishes pins the backoff, and moving the clock exactly to
        /// it makes the next attempt.
        func nextAttempt(after delay: Duration, attempt expected: Int) async throws {
            #expect(try await eventually("asleep until \(delay)") {
                clock.sleeperCount > 0 && agent.currentStatistics.nextWake == clock.now.offset + delay
            })
            #expect(agent.currentStatistics.connectAttempts == expected - 1)
            clock.advance(by: delay)
            #expect(try await eventually("attempt \(expected)") { agent.currentStatistics.connectAttempts == expected })
        }
        #expect(try await eventually("first attempt") { agent.currentStatistics.connectAttempts == 1 })
        try await nextAttempt(after: .milliseconds(250), attempt: 2)
        try await nextAttempt(after: .milliseconds(500), attempt: 3)
        try await nextAttempt(after: .milliseconds(600), attempt: 4)  // capped
        try await nextAttempt(after: .milliseconds(600), attempt: 5)
        #expect(agent.currentStatistics.databaseUp == false)
        #expect(agent.currentStatistics.ready == false)

        agent.inbox.post(.shutdown)
        await agent.waitUntilStopped()
    }
}
