import Foundation

/// Whether a worktree's branch is merged into trunk (all of its work is there), and which
/// trunk commit merged it.
///
/// Decided read-only by ``GitProbe/integration(worktreePath:defaultBranch:openRepositories:sandbox:)``;
/// docs/lifecycle.md ("How merged is decided") has the rules. A verdict follows from
/// ``inputs`` and, while trunk reaches HEAD, from the branch's reflog (which changes when the
/// branch moves), so callers cache it per ``Inputs``.
public struct BranchIntegration: Sendable, Equatable {
    /// What the verdict was decided from; the cache key.
    public var inputs: Inputs
    /// Merged, with the merge, or not, with the reason.
    public var verdict: Verdict

    public init(inputs: Inputs, verdict: Verdict) {
        self.inputs = inputs
        self.verdict = verdict
    }

    /// The merge, when the branch is merged.
    public var merge: Merge? {
        if case .merged(let merge) = verdict { return merge }
        return nil
    }

    /// True when the branch is merged.
    public var isMerged: Bool { merge != nil }
}

extension BranchIntegration {
    /// The worktree's HEAD and trunk as they were read.
    public struct Inputs: Sendable, Hashable {
        /// The branch HEAD names (`refs/heads/` stripped); `nil` when HEAD is detached.
        public var branch: String?
        /// HEAD's commit as 40 hex digits; `nil` when the branch is unborn.
        public var headCommit: String?
        /// The trunk ref resolved (`refs/remotes/origin/HEAD`, …); `nil` without a trunk.
        public var trunkRef: String?
        /// Trunk's commit as 40 hex digits; `nil` without a trunk.
        public var trunkCommit: String?

        public init(branch: String?, headCommit: String?, trunkRef: String?, trunkCommit: String?) {
            self.branch = branch
            self.headCommit = headCommit
            self.trunkRef = trunkRef
            self.trunkCommit = trunkCommit
        }
    }

    /// Merged or not.
    public enum Verdict: Sendable, Equatable {
        case merged(Merge)
        case notMerged(NotMergedReason)
    }

    /// The trunk commit that merged the branch.
    public struct Merge: Sendable, Equatable {
        /// The oldest commit on trunk's first-parent line whose tree holds all of the branch's
        /// work: the merge commit, the branch head itself after a fast-forward, the squash
        /// commit, the last of the cherry-picked or rebased copies.
        public var commit: String
        /// That commit's committer time.
        public var committedAt: Date
        /// Its committer's name, as `git log --format=%cn` prints it.
        public var committerName: String
        /// Its committer's email, as `%ce` prints it.
        public var committerEmail: String
        /// Whether trunk reaches HEAD or holds its changes without its commits.
        public var method: Method
        /// How the branch was known to have commits of its own.
        public var evidence: OwnCommitsEvidence

        public init(
            commit: String, committedAt: Date, committerName: String, committerEmail: String,
            method: Method, evidence: OwnCommitsEvidence
        ) {
            self.commit = commit
            self.committedAt = committedAt
            self.committerName = committerName
            self.committerEmail = committerEmail
            self.method = method
            self.evidence = evidence
        }

        /// `Name <email>`, as `git log --format='%cn <%ce>'` prints it.
        public var committer: String { "\(committerName) <\(committerEmail)>" }
    }

    /// How the branch's work reached trunk.
    public enum Method: String, Sendable, Equatable {
        /// HEAD is an ancestor of trunk: a merge commit or a fast-forward.
        case ancestor
        /// HEAD is not, but merging it into trunk changes nothing: a squash merge, a rebase or
        /// cherry-picks onto trunk.
        case integrated
    }

    /// What showed that the branch has commits of its own (a fresh branch is never merged).
    public enum OwnCommitsEvidence: String, Sendable, Equatable {
        /// The branch's reflog records a commit made on it that HEAD still holds.
        case reflog
        /// HEAD has commits trunk does not reach.
        case commitsTrunkLacks
        /// HEAD is reached from trunk only through a merge's second (or later) parent.
        case offTrunkFirstParentLine
        /// HEAD was committed after the linked worktree was created.
        case committedAfterWorktreeCreated
    }

    /// Why a branch is not merged.
    public enum NotMergedReason: String, Sendable, Equatable {
        /// HEAD names a commit, not a branch: there is no branch to be merged.
        case detachedHead
        /// HEAD's branch has no commit yet.
        case unbornBranch
        /// No trunk ref resolves.
        case noTrunk
        /// The worktree's branch is trunk (the default branch, or the branch trunk's ref names).
        case isTrunk
        /// The branch has no commit of its own (a fresh worktree, maybe with trunk moved on).
        case noOwnCommits
        /// Trunk lacks some of the branch's work (or the merge would conflict, or the
        /// histories are unrelated).
        case unmergedWork
    }
}
