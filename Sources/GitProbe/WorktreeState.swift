import struct Foundation.Date

/// The git state of one worktree, as REGISTRY.md defines it (the git CLI is the oracle).
///
/// Every field that git could not answer is `nil`: unknown is never written as zero.
public struct WorktreeState: Sendable, Equatable {
    /// Lines `git status --porcelain` would print (untracked directories collapsed).
    public var uncommittedFilesCount: Int
    /// `git rev-list --count trunk..HEAD`; `nil` without a trunk or with an unborn HEAD.
    public var aheadOfTrunk: Int?
    /// `git rev-list --count HEAD..trunk`; `nil` without a trunk or with an unborn HEAD.
    public var behindTrunk: Int?
    /// `git rev-parse HEAD`; `nil` for an unborn HEAD.
    public var lastCommitHash: String?
    /// `git log -1 --format=%s`; `nil` for an unborn HEAD.
    public var lastCommitMessage: String?
    /// The ref the ahead/behind counts were taken against, e.g. `refs/remotes/origin/HEAD`.
    public var trunkRef: String?
    /// The checked-out branch (`refs/heads/...` shortened), `nil` when HEAD is detached.
    public var branch: String?
    /// When the state was read.
    public var readAt: Date

    public var hasUncommittedChanges: Bool { uncommittedFilesCount > 0 }

    public init(
        uncommittedFilesCount: Int,
        aheadOfTrunk: Int?,
        behindTrunk: Int?,
        lastCommitHash: String?,
        lastCommitMessage: String?,
        trunkRef: String?,
        branch: String?,
        readAt: Date
    ) {
        self.uncommittedFilesCount = uncommittedFilesCount
        self.aheadOfTrunk = aheadOfTrunk
        self.behindTrunk = behindTrunk
        self.lastCommitHash = lastCommitHash
        self.lastCommitMessage = lastCommitMessage
        self.trunkRef = trunkRef
        self.branch = branch
        self.readAt = readAt
    }

    /// True when the git-visible facts are equal; `readAt` is ignored.
    public func sameGitState(as other: WorktreeState) -> Bool {
        var normalized = other
        normalized.readAt = readAt
        return self == normalized
    }
}
