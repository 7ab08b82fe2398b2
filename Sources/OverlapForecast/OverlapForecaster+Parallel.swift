import Foundation
import Synchronization
import GitProbe
import Logging
import RegistryClient

/// The forecast's work spread over the cores: scans, state builds per repository, merges.
extension OverlapForecaster {
    /// Builds the scanned states of several repositories on the cores, one thread per
    /// repository's sandbox (a sandbox is used by one thread); a state that fails is left to
    /// ``state(of:scan:report:)``, which says why.
    func buildInParallel(_ scans: [String: Result<WorkdirScan, GitProbeError>], report: inout Report) {
        var groups: [String: [(id: String, scan: WorkdirScan)]] = [:]
        for (id, result) in scans where states[id] == nil {
            if case .success(let scan) = result { groups[scan.commonDirectory, default: []].append((id, scan)) }
        }
        guard groups.count > 1, ProcessInfo.processInfo.activeProcessorCount > 1 else { return }
        let work = groups.compactMap { common, members -> (MergeSandbox, [(id: String, scan: WorkdirScan)])? in
            guard let sandbox = sandboxes[common] ?? (try? MergeSandbox(commonDirectory: common)) else { return nil }
            sandboxes[common] = sandbox
            return (sandbox, members)
        }
        let built = Mutex<[String: (common: String, state: WorkingState)]>([:])
        let jobs = UncheckedGroups(work)
        let cores = min(ProcessInfo.processInfo.activeProcessorCount, 4)
        DispatchQueue.concurrentPerform(iterations: min(cores, jobs.value.count)) { worker in
            for index in stride(from: worker, to: jobs.value.count, by: cores) {
                let (sandbox, members) = jobs.value[index]
                for member in members {
                    guard let state = try? sandbox.workingState(from: member.scan) else { continue }
                    built.withLock { $0[member.id] = (sandbox.commonDirectory, state) }
                }
            }
        }
        for (id, result) in built.withLock({ $0 }) {
            states[id] = result.state
            commonOf[id] = result.common
            builds += 1
            report.statesBuilt += 1
        }
    }

    /// Merges the pairs: first the narrow merges (only the paths both sides changed, where
    /// that is exact) in this forecaster's sandboxes, on this thread, as they take a few
    /// microseconds each; then the full merges of the rest.
    func merge(
        _ jobs: [MergeJob], scans: [String: Result<WorkdirScan, GitProbeError>], byID: [String: RegisteredWorktree],
        scanWorktree: @escaping @Sendable (RegisteredWorktree) throws(GitProbeError) -> WorkdirScan
    ) -> [Result<[[UInt8]], GitProbeError>] {
        var results: [Result<[[UInt8]], GitProbeError>?] = jobs.map { job in
            // A narrow merge that fails is left to the full merge, which says why.
            (try? sandboxes[job.common]!.narrowConflictingPaths(job.stateA, job.stateB)).flatMap { $0 }.map { .success($0) }
        }
        let rest = jobs.indices.filter { results[$0] == nil }
        logger.debug("merges", metadata: ["pairs.narrow": "\(jobs.count - rest.count)", "pairs.full": "\(rest.count)"])
        for (index, result) in zip(rest, fullMerges(rest.map { jobs[$0] }, scans: scans, byID: byID, scanWorktree: scanWorktree)) {
            results[index] = result
        }
        return results.map { $0! }
    }

    /// Full merges: in this forecaster's sandboxes, or for a large batch split over the
    /// cores, each extra thread with sandboxes of its own in which it builds the states' trees
    /// again (from the scans: the same trees, so the same verdicts; the change sets are not
    /// needed there).
    private func fullMerges(
        _ jobs: [MergeJob], scans: [String: Result<WorkdirScan, GitProbeError>], byID: [String: RegisteredWorktree],
        scanWorktree: @escaping @Sendable (RegisteredWorktree) throws(GitProbeError) -> WorkdirScan
    ) -> [Result<[[UInt8]], GitProbeError>] {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard jobs.count >= 32, cores > 1 else {
            return jobs.map { job in
                Result { () throws(GitProbeError) in try sandboxes[job.common]!.conflictingPaths(job.stateA, job.stateB) }
            }
        }
        let workers = min(cores, 4)
        let results = Mutex<[Int: Result<[[UInt8]], GitProbeError>]>([:])
        let own = UncheckedSandboxes(sandboxes)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var local: [String: MergeSandbox] = worker == 0 ? own.value : [:]
            for index in stride(from: worker, to: jobs.count, by: workers) {
                let job = jobs[index]
                let result = Result { () throws(GitProbeError) -> [[UInt8]] in
                    if local[job.common] == nil { local[job.common] = try MergeSandbox(commonDirectory: job.common) }
                    let sandbox = local[job.common]!
                    if worker != 0 {
                        for id in [job.a, job.b] {
                            guard let worktree = byID[id] else { continue }
                            let scan: WorkdirScan
                            if let known = scans[id] {
                                scan = try known.get()
                            } else {
                                scan = try scanWorktree(worktree)
                            }
                            if !sandbox.holds(treeOf: scan) { try sandbox.buildTree(from: scan) }
                        }
                    }
                    return try sandbox.conflictingPaths(job.stateA, job.stateB)
                }
                results.withLock { $0[index] = result }
            }
        }
        return results.withLock { all in jobs.indices.map { all[$0]! } }
    }

    /// Scans the worktrees' working directories in parallel.
    static func scanAll(
        with scanWorktree: @Sendable (RegisteredWorktree) throws(GitProbeError) -> WorkdirScan, _ worktrees: [RegisteredWorktree]
    ) -> [String: Result<WorkdirScan, GitProbeError>] {
        let results = Mutex<[String: Result<WorkdirScan, GitProbeError>]>([:])
        DispatchQueue.concurrentPerform(iterations: worktrees.count) { index in
            let worktree = worktrees[index]
            let result = Result { () throws(GitProbeError) in try scanWorktree(worktree) }
            results.withLock { $0[worktree.id] = result }
        }
        return results.withLock { $0 }
    }

    /// Milliseconds per phase, for the debug log (`elapsed_ms.states` = from the previous mark).
    package static func timings(_ phases: [(String, ContinuousClock.Instant)]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for (previous, phase) in zip(phases, phases.dropFirst()) {
            let duration = phase.1 - previous.1
            let milliseconds = Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000
            metadata["elapsed_ms.\(phase.0)"] = "\(Int(milliseconds.rounded()))"
        }
        return metadata
    }
}

/// Sandboxes with the scans to build in each, each group handed to exactly one worker thread.
private struct UncheckedGroups: @unchecked Sendable {
    let value: [(MergeSandbox, [(id: String, scan: WorkdirScan)])]
    init(_ value: [(MergeSandbox, [(id: String, scan: WorkdirScan)])]) { self.value = value }
}

/// Sandboxes handed to exactly one worker thread.
private struct UncheckedSandboxes: @unchecked Sendable {
    package let value: [String: MergeSandbox]
    package init(_ value: [String: MergeSandbox]) { self.value = value }
}
