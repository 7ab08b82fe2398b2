import Dispatch
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import LinuxPlatform

/// Probes many worktrees in parallel, as many at once as there are cores, on worker threads
/// that a blocked probe cannot take the caller down with (``GuardedBatch``).
package struct WorktreeProber: Sendable {
    package var probe = GitProbe()
    /// The repositories of the worktrees being edited now, kept open between path-level probes.
    package var openRepositories = OpenRepositories(capacity: 4)
    /// How long one probe may run before it is given up; a probe blocked opening a FIFO is
    /// given up at once.
    package var patience: Duration
    /// The merge verdicts of the worktrees probed, kept while their branch, HEAD and trunk stay.
    package var integrations: IntegrationCache
    /// Whether a full probe also gives the forecast's ``WorkdirScan`` from its own status (the
    /// working directory walked once for both).
    package var scansForForecast = false

    package init(
        probe: GitProbe = GitProbe(), openRepositories: OpenRepositories = OpenRepositories(capacity: 4),
        patience: Duration = .seconds(120), integrations: IntegrationCache = IntegrationCache(),
        scansForForecast: Bool = false
    ) {
        self.scansForForecast = scansForForecast
        self.probe = probe
        self.openRepositories = openRepositories
        self.patience = patience
        self.integrations = integrations
    }

    package func probeAll(_ worktrees: [RegisteredWorktree], whileWaiting: () -> Bool = { true }) -> [ProbeOutcome] {
        probeAll(worktrees.map { ProbeRequest(worktree: $0, changes: .everything, remembered: nil) },
                 whileWaiting: whileWaiting)
    }

    /// Probes each request: from its changed paths alone when it has a memory and the paths
    /// allow it, else with a full status (which remembers for the next time). A probe given
    /// up is a failure naming what it was blocked on; the stored state is kept.
    package func probeAll(_ requests: [ProbeRequest], whileWaiting: () -> Bool = { true }) -> [ProbeOutcome] {
        // With a worktree per core already, splitting one worktree's scan over threads only
        // adds contention; split only when the worktrees alone cannot fill the cores.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let prober =
            requests.count >= cores
            ? WorktreeProber(
                probe: GitProbe(splitsLargeWorktrees: false), openRepositories: openRepositories, patience: patience,
                integrations: integrations, scansForForecast: scansForForecast) : self
        let outcomes = GuardedBatch(patience: patience).run(requests, whileWaiting: whileWaiting) { request in
            prober.probeOne(request)
        }
        return zip(requests, outcomes).map { request, outcome in
            switch outcome {
            case .finished(let probed):
                return probed
            case .givenUp(let blocked, let ran):
                // Whatever the handles kept open saw is no longer trusted.
                openRepositories.close(request.worktree.path)
                return ProbeOutcome(
                    worktree: request.worktree, result: .failure(Self.blocked(request.worktree.path, on: blocked, after: ran)),
                    blockedOn: blocked?.isFIFO == true ? blocked : nil)
            }
        }
    }

    package static func blocked(_ path: String, on open: BlockedOpen?, after ran: Duration) -> GitProbeError {
        let seconds = ran.components.seconds
        let operation: String
        switch open {
        case .some(let open) where open.isFIFO:
            operation = "opening \(open.path), a FIFO: git would wait for a writer forever; remove it or ignore its directory"
        case .some(let open):
            operation = "still opening \(open.path) after \(seconds) s"
        case nil where ran == .zero:
            operation = "not started before the wait for it was given up (the agent was stopping)"
        case nil:
            operation = "still running after \(seconds) s"
        }
        return GitProbeError(code: .blocked, path: path, operation: operation)
    }

    package func probeOne(_ worktree: RegisteredWorktree) -> ProbeOutcome {
        probeOne(ProbeRequest(worktree: worktree, changes: .everything, remembered: nil))
    }

    package func probeOne(_ request: ProbeRequest) -> ProbeOutcome {
        let worktree = request.worktree
        if let remembered = request.remembered, !request.changes.needsFullStatus, !request.changes.paths.isEmpty,
            let answer = try? probe.reprobe(
                path: worktree.path, after: remembered.state, memory: remembered.memory,
                changedPaths: request.changes.paths, openRepositories: openRepositories)
        {
            // A path-level answer is only given while HEAD and the refs are as they were, so the
            // last merge verdict still holds. One that throws falls through: the full probe says
            // why, exactly.
            if let integration = integrations.last(worktree.id) {
                return ProbeOutcome(
                    worktree: worktree, result: .success(answer.state),
                    remembered: RememberedStatus(state: answer.state, memory: answer.memory), pathLevel: true,
                    integration: integration)
            }
        }
        openRepositories.close(worktree.path)
        do {
            let (state, memory, scan) = try probe.probe(
                path: worktree.path, defaultBranch: worktree.defaultBranch, remembering: true, scanning: scansForForecast,
                openRepositories: openRepositories)
            // The verdict is part of the state: one that cannot be decided fails the probe, so
            // the stored merge facts are kept rather than overwritten with a guess.
            let integration = try integrations.integration(
                of: worktree.id, at: worktree.path, defaultBranch: worktree.defaultBranch, probe: probe, openRepositories: openRepositories)
            return ProbeOutcome(
                worktree: worktree, result: .success(state),
                remembered: memory.map { RememberedStatus(state: state, memory: $0) }, integration: integration, scan: scan)
        } catch {
            integrations.forget(worktree.id)
            return ProbeOutcome(worktree: worktree, result: .failure(error))
        }
    }
}

/// One worktree to probe, what changed in it, and what its last status found.
package struct ProbeRequest: Sendable {
    package var worktree: RegisteredWorktree
    package var changes: WorktreeChanges
    package var remembered: RememberedStatus?

    package init(worktree: RegisteredWorktree, changes: WorktreeChanges, remembered: RememberedStatus? = nil) {
        self.worktree = worktree
        self.changes = changes
        self.remembered = remembered
    }
}

/// A worktree's last state and what the status behind it found, path by path.
package struct RememberedStatus: Sendable {
    package var state: WorktreeState
    package var memory: StatusMemory

    package init(state: WorktreeState, memory: StatusMemory) {
        self.state = state
        self.memory = memory
    }
}
