import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import LinuxPlatform

/// What probing one registered worktree gave: its state, or why it could not be read.
package struct ProbeOutcome: Sendable {
    package var worktree: RegisteredWorktree
    package var result: Result<WorktreeState, GitProbeError>
    /// What to remember for the next path-level probe; `nil` forgets.
    package var remembered: RememberedStatus? = nil
    /// True when the state came from the changed paths alone.
    package var pathLevel = false
    /// For a probe given up while opening a FIFO: that open.
    package var blockedOn: BlockedOpen? = nil
    /// Whether the branch is merged into trunk, with every successful probe.
    package var integration: BranchIntegration? = nil
    /// What the forecast reads of the working directory, from this probe's status (a full
    /// probe by a prober that ``WorktreeProber/scansForForecast``); `nil`: the forecast scans.
    package var scan: WorkdirScan? = nil

    package init(
        worktree: RegisteredWorktree, result: Result<WorktreeState, GitProbeError>, remembered: RememberedStatus? = nil,
        pathLevel: Bool = false, blockedOn: BlockedOpen? = nil, integration: BranchIntegration? = nil,
        scan: WorkdirScan? = nil
    ) {
        self.scan = scan
        self.worktree = worktree
        self.result = result
        self.remembered = remembered
        self.pathLevel = pathLevel
        self.blockedOn = blockedOn
        self.integration = integration
    }

    package var state: WorktreeState? { try? result.get() }

    package var failure: GitProbeError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    /// The row update for a successful probe; `nil` when the probe failed, so a failure
    /// never overwrites the stored state with a guess.
    package var update: GitStateUpdate? {
        guard let state else { return nil }
        return GitStateUpdate(
            worktreeID: worktree.id,
            uncommittedFilesCount: state.uncommittedFilesCount,
            aheadOfTrunk: state.aheadOfTrunk,
            behindTrunk: state.behindTrunk,
            lastCommitHash: state.lastCommitHash,
            lastCommitMessage: state.lastCommitMessage,
            readAt: state.readAt,
            mergedAt: integration?.merge?.committedAt,
            mergedBy: integration?.merge?.committer,
            mergeCommitHash: integration?.merge?.commit)
    }

    /// The status word `imi_worktree_status()` in the schema gives the same row.
    package var status: String {
        guard let state else { return "error" }
        return InflightStatus(state, merged: integration?.isMerged == true).rawValue
    }

    /// In flight as the registry's view counts it: uncommitted changes, or commits trunk does
    /// not have yet (a merged branch's commits are in trunk, whatever ahead says).
    package var isInFlight: Bool {
        guard let state else { return false }
        return state.hasUncommittedChanges || (state.isInFlight && integration?.isMerged != true)
    }
}

/// merged / uncommitted / diverged / ahead / behind / clean, in that order of precedence,
/// exactly as the SQL function `imi_worktree_lifecycle_status` decides it.
package enum InflightStatus: String, Sendable {
    case merged, uncommitted, diverged, ahead, behind, clean

    package init(_ state: WorktreeState, merged: Bool = false) {
        let ahead = state.aheadOfTrunk ?? 0
        let behind = state.behindTrunk ?? 0
        if merged {
            self = .merged
        } else if state.hasUncommittedChanges {
            self = .uncommitted
        } else if ahead > 0 && behind > 0 {
            self = .diverged
        } else if ahead > 0 {
            self = .ahead
        } else if behind > 0 {
            self = .behind
        } else {
            self = .clean
        }
    }
}

extension WorktreeState {
    /// Uncommitted changes or commits ahead of trunk: the worktree has a change set.
    package var isInFlight: Bool { uncommittedFilesCount > 0 || (aheadOfTrunk ?? 0) > 0 }
}
