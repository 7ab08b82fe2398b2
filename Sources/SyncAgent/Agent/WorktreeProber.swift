import Dispatch
import Foundation
import GitProbe
import PostgresClient
import RegistryClient

/// Probes many worktrees in parallel, as many at once as there are cores.
struct WorktreeProber: Sendable {
    var probe = GitProbe()
    /// The repositories of the worktrees being edited now, kept open between path-level probes.
    var openRepositories = OpenRepositories(capacity: 4)

    func probeAll(_ worktrees: [RegisteredWorktree]) -> [ProbeOutcome] {
        probeAll(worktrees.map { ProbeRequest(worktree: $0, changes: .everything, remembered: nil) })
    }

    /// Probes each request: from its changed paths alone when it has a memory and the paths
    /// allow it, else with a full status (which remembers for the next time).
    func probeAll(_ requests: [ProbeRequest]) -> [ProbeOutcome] {
        let worktrees = requests
        let slots = ResultSlots<ProbeOutcome>(count: worktrees.count)
        // With a worktree per core already, splitting one worktree's scan over threads only
        // adds contention; split only when the worktrees alone cannot fill the cores.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let prober =
            worktrees.count >= cores
            ? WorktreeProber(probe: GitProbe(splitsLargeWorktrees: false), openRepositories: openRepositories) : self
        DispatchQueue.concurrentPerform(iterations: worktrees.count) { index in
            slots[index] = prober.probeOne(requests[index])
        }
        return slots.values
    }

    func probeOne(_ worktree: RegisteredWorktree) -> ProbeOutcome {
        probeOne(ProbeRequest(worktree: worktree, changes: .everything, remembered: nil))
    }

    func probeOne(_ request: ProbeRequest) -> ProbeOutcome {
        let worktree = request.worktree
        if let remembered = request.remembered, !request.changes.needsFullStatus, !request.changes.paths.isEmpty,
            let answer = try? probe.reprobe(
                path: worktree.path, after: remembered.state, memory: remembered.memory,
                changedPaths: request.changes.paths, openRepositories: openRepositories)
        {
            // A path-level answer that throws falls through: the full probe says why, exactly.
            return ProbeOutcome(
                worktree: worktree, result: .success(answer.state),
                remembered: RememberedStatus(state: answer.state, memory: answer.memory), pathLevel: true)
        }
        openRepositories.close(worktree.path)
        do {
            let (state, memory) = try probe.probe(
                path: worktree.path, defaultBranch: worktree.defaultBranch, remembering: true)
            return ProbeOutcome(
                worktree: worktree, result: .success(state),
                remembered: memory.map { RememberedStatus(state: state, memory: $0) })
        } catch {
            return ProbeOutcome(worktree: worktree, result: .failure(error))
        }
    }
}

/// One worktree to probe, what changed in it, and what its last status found.
struct ProbeRequest: Sendable {
    var worktree: RegisteredWorktree
    var changes: WorktreeChanges
    var remembered: RememberedStatus?
}

/// A worktree's last state and what the status behind it found, path by path.
struct RememberedStatus: Sendable {
    var state: WorktreeState
    var memory: StatusMemory
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
