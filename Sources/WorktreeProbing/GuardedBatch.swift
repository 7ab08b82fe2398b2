#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import LinuxPlatform

/// Runs blocking jobs (libgit2 probes) on worker threads the caller can walk away from.
///
/// One worktree must never stop the others: libgit2 opens ignore and attribute files with a
/// blocking `open(2)`, so a FIFO named `.gitignore` holds its thread until someone writes
/// to it, and a hung network file system holds it for as long as it likes. The caller waits
/// on a condition variable, not on the jobs: every `poll` it looks at what the slow jobs'
/// threads are blocked in (``BlockedOpen``). A job blocked opening a FIFO is given up at
/// once, its open released (its result is discarded: it read an empty file where git would
/// wait); a job still running after `patience` is given up and its thread left behind, a
/// fresh worker taking its place. `whileWaiting` runs every `poll` (the agent keeps its
/// watchdog and notices a shutdown there) and ends the wait early by returning false.
package struct GuardedBatch: Sendable {
    /// How long one job may run before it is given up.
    package var patience: Duration
    /// How long a job runs before its thread is looked at (most probes end sooner).
    package var inspectAfter: Duration
    package var poll: Duration
    package var width: Int

    package init(
        patience: Duration, inspectAfter: Duration = .milliseconds(100), poll: Duration = .milliseconds(50),
        width: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.patience = patience
        self.inspectAfter = inspectAfter
        self.poll = poll
        self.width = width
    }

    /// What became of one job.
    package enum Outcome<Output: Sendable>: Sendable {
        case finished(Output)
        /// Given up: blocked opening a FIFO (named), or still running after `patience`
        /// (`blockedOn` is the open it was in, if any), or the caller stopped waiting.
        case givenUp(blockedOn: BlockedOpen?, after: Duration)
    }

    package func run<Input: Sendable, Output: Sendable>(
        _ inputs: [Input],
        whileWaiting: () -> Bool = { true },
        _ body: @escaping @Sendable (Input) -> Output
    ) -> [Outcome<Output>] {
        guard !inputs.isEmpty else { return [] }
        let batch = Batch<Input, Output>(inputs: inputs, body: body)
        for _ in 0..<min(width, inputs.count) { batch.startWorker() }
        let clock = ContinuousClock()
        var waiting = true
        while waiting, !batch.isSettled {
            batch.waitForProgress(upTo: poll)
            waiting = whileWaiting()
            for job in batch.runningJobs() {
                let ran = job.started.duration(to: clock.now)
                guard ran >= inspectAfter else { continue }
                if let blocked = BlockedOpen.of(thread: job.thread), blocked.isFIFO {
                    // Released, the worker reads end-of-file and goes on to the next job;
                    // if the FIFO went away first, that worker is lost: replace it.
                    if batch.giveUp(job.index, .givenUp(blockedOn: blocked, after: ran)), !blocked.release() {
                        batch.startWorker()
                    }
                } else if ran >= patience, batch.giveUp(job.index, .givenUp(blockedOn: BlockedOpen.of(thread: job.thread), after: ran)) {
                    batch.startWorker()
                }
            }
        }
        return batch.outcomes()
    }
}

/// The shared state of one ``GuardedBatch/run(_:whileWaiting:_:)``: the queue, the slots, and
/// which thread runs which job. Workers of given-up jobs may outlive it; they find their slot
/// taken and drop what they computed.
private final class Batch<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    package struct Running {
        package var index: Int
        package var thread: pid_t
        package var started: ContinuousClock.Instant
    }

    private let inputs: [Input]
    private let body: @Sendable (Input) -> Output
    private let condition = NSCondition()
    private var next = 0
    private var results: [GuardedBatch.Outcome<Output>?]
    private var running: [Int: Running] = [:]
    private var settled = 0

    package init(inputs: [Input], body: @escaping @Sendable (Input) -> Output) {
        self.inputs = inputs
        self.body = body
        self.results = Array(repeating: nil, count: inputs.count)
    }

    package var isSettled: Bool { condition.withLock { settled == inputs.count } }

    package func startWorker() {
        let thread = Thread { [self] in work() }
        thread.name = "imi-sync probe"
        thread.start()
    }

    private func work() {
        let tid = BlockedOpen.currentThreadID()
        while let index = take(on: tid) {
            let output = body(inputs[index])
            condition.withLock {
                running[index] = nil
                if results[index] == nil {
                    results[index] = .finished(output)
                    settled += 1
                }
                condition.broadcast()
            }
        }
    }

    private func take(on tid: pid_t) -> Int? {
        condition.withLock {
            guard next < inputs.count else { return nil }
            defer { next += 1 }
            running[next] = Running(index: next, thread: tid, started: .now)
            return next
        }
    }

    package func waitForProgress(upTo limit: Duration) {
        condition.withLock {
            guard settled < inputs.count else { return }
            let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
    }

    package func runningJobs() -> [Running] {
        condition.withLock { Array(running.values) }
    }

    /// Settles a job that has not finished; false when it finished meanwhile.
    package func giveUp(_ index: Int, _ outcome: GuardedBatch.Outcome<Output>) -> Bool {
        condition.withLock {
            guard results[index] == nil else { return false }
            results[index] = outcome
            running[index] = nil
            settled += 1
            return true
        }
    }

    /// Every job's outcome; jobs not settled (the caller stopped waiting) are given up, with
    /// how long they had run (zero for one never started).
    package func outcomes() -> [GuardedBatch.Outcome<Output>] {
        condition.withLock {
            for index in results.indices where results[index] == nil {
                let ran = running[index].map { $0.started.duration(to: .now) } ?? .zero
                results[index] = .givenUp(blockedOn: nil, after: ran)
                settled += 1
            }
            // Jobs not yet taken are never started: a worker finding `next` past the end stops.
            next = inputs.count
            return results.map { $0! }
        }
    }
}
