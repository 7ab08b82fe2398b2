import Foundation
import Testing

/// Runs each test on threads of the test process's own, so a test that blocks (git, psql,
/// a child's exit) never holds one of the cooperative pool's threads.
///
/// The pool has one thread per core: two tests running git synchronously stopped every other
/// task in the process, and a test waiting on wall-clock patience, or the product's own tasks
/// a test drives (the hub's answers, a manual clock's timers), waited up to two minutes behind
/// them. Under this trait the tests' blocking work runs here and the cooperative pool is left
/// to the product's tasks, as in a real process.
public struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> OwnThreads? {
        testCase == nil ? nil : self
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await TestSlots.shared.acquire()
        defer { TestSlots.shared.release() }
        try await withTaskExecutorPreference(ElasticExecutor.shared) { try await function() }
    }
}

/// How many tests run at once: with threads of their own nothing else bounds them, and 344
/// tests connecting at once would time out on the test cluster instead of testing anything.
final class TestSlots: @unchecked Sendable {
    static let shared = TestSlots(count: max(4, 3 * ProcessInfo.processInfo.activeProcessorCount))

    private let lock = NSLock()
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if free > 0 {
                free -= 1
                lock.unlock()
                continuation.resume()
            } else {
                waiting.append(continuation)
                lock.unlock()
            }
        }
    }

    /// Hands the slot to the longest waiter, or frees it.
    func release() {
        lock.lock()
        if waiting.isEmpty {
            free += 1
            lock.unlock()
        } else {
            let next = waiting.removeFirst()
            lock.unlock()
            next.resume()
        }
    }
}

extension Trait where Self == OwnThreads {
    /// Runs the suite's tests on threads that may block (see ``OwnThreads``).
    public static var ownThreads: Self { OwnThreads() }
}

/// A task executor that adds a thread whenever a job arrives and no thread is free to take it;
/// a thread left without work for ``idleLifetime`` ends.
public final class ElasticExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = ElasticExecutor()

    private static let idleLifetime: TimeInterval = 10

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var next = 0
    private var waiting = 0

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        let spawn = jobs.count - next > waiting
        condition.signal()
        condition.unlock()
        if spawn { Thread.detachNewThread { [self] in work() } }
    }

    private func work() {
        condition.lock()
        while true {
            if next < jobs.count {
                let job = jobs[next]
                next += 1
                if next == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    next = 0
                }
                condition.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
                condition.lock()
                continue
            }
            waiting += 1
            let woken = condition.wait(until: Date(timeIntervalSinceNow: Self.idleLifetime))
            waiting -= 1
            if !woken, next == jobs.count { break }
        }
        condition.unlock()
    }
}
