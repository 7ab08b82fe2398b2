import Dispatch
import Foundation
import GitProbe
import PostgresClient
import RegistryClient

/// Probes many worktrees in parallel, as many at once as there are cores.
struct WorktreeProber: Sendable {
    var probe = GitProbe()

    func probeAll(_ worktrees: [RegisteredWorktree]) -> [ProbeOutcome] {
        let slots = ResultSlots<ProbeOutcome>(count: worktrees.count)
        // With a worktree per core already, splitting one worktree's scan over threads only
        // adds contention; split only when the worktrees alone cannot fill the cores.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let prober = worktrees.count >= cores ? WorktreeProber(probe: GitProbe(splitsLargeWorktrees: false)) : self
        DispatchQueue.concurrentPerform(iterations: worktrees.count) { index in
            slots[index] = prober.probeOne(worktrees[index])
        }
        return slots.values
    }

    func probeOne(_ worktree: RegisteredWorktree) -> ProbeOutcome {
        let result = Result { () throws(GitProbeError) in
            try probe.probe(path: worktree.path, defaultBranch: worktree.defaultBranch)
        }
        return ProbeOutcome(worktree: worktree, result: result)
    }
}

/// Fixed slots filled from concurrent iterations; each index is written by exactly one, and
/// the buffer is allocated up front so no write ever reallocates or copies it.
private final class ResultSlots<Value>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Value?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    subscript(index: Int) -> Value? {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    var values: [Value] { storage.map { $0! } }
}
