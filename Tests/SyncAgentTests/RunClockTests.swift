import Foundation
import Logging
import PostgresClient
import RegistryClient
import Testing

@testable import SyncAgent

/// A clock that only moves when the test says so.
final class ManualClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let lock = NSLock()
    private var current = Instant(offset: .zero)
    private var sleepers: [(id: UUID, deadline: Instant, continuation: CheckedContinuation<Void, any Error>)] = []

    var now: Instant { lock.withLock { current } }
    var minimumResolution: Duration { .zero }
    var sleeperCount: Int { lock.withLock { sleepers.count } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                lock.lock()
                if deadline <= current {
                    lock.unlock()
                    continuation.resume()
                } else if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    sleepers.append((id, deadline, continuation))
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let index = sleepers.firstIndex { $0.id == id }
            let sleeper = index.map { sleepers.remove(at: $0) }
            lock.unlock()
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    func advance(by duration: Duration) {
        lock.lock()
        current = current.advanced(by: duration)
        let due = sleepers.filter { $0.deadline <= current }
        sleepers.removeAll { $0.deadline <= current }
        lock.unlock()
        due.forEach { $0.continuation.resume() }
    }
}

@Suite("imi-sync run: time comes from the injected clock", .serialized)
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
        let agent = BackgroundAgent(
            settings: unreachable, configuration: configuration, loadConfiguration: { configuration },
            clock: clock, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let task = Task.detached { await agent.run() }

        func advance(_ duration: Duration, thenAttempts expected: Int) async throws {
            // The agent is asleep on the clock before time moves.
            #expect(try await eventually("agent waiting") { clock.sleeperCount > 0 })
            let before = agent.currentStatistics.connectAttempts
            clock.advance(by: duration)
            if expected == before {
                // Give a wrongly early attempt the chance to show up.
                try await Task.sleep(for: .milliseconds(150))
                #expect(agent.currentStatistics.connectAttempts == expected)
            } else {
                #expect(try await eventually("attempt \(expected)") {
                    agent.currentStatistics.connectAttempts == expected
                })
            }
        }
        #expect(try await eventually("first attempt") { agent.currentStatistics.connectAttempts == 1 })
        try await advance(.milliseconds(249), thenAttempts: 1)
        try await advance(.milliseconds(1), thenAttempts: 2)  // 250 ms after the first
        try await advance(.milliseconds(499), thenAttempts: 2)
        try await advance(.milliseconds(1), thenAttempts: 3)  // 500 ms
        try await advance(.milliseconds(599), thenAttempts: 3)
        try await advance(.milliseconds(1), thenAttempts: 4)  // capped at 600 ms
        try await advance(.milliseconds(600), thenAttempts: 5)
        #expect(agent.currentStatistics.databaseUp == false)
        #expect(agent.currentStatistics.ready == false)

        agent.inbox.post(.shutdown)
        await task.value
    }
}
