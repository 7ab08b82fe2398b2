import struct Foundation.Date

/// The git columns of one worktree row, as read at `readAt`. `nil` stays NULL ("unknown"),
/// except for the merge facts, where `nil` means "not merged" (see ``mergedAt``).
public struct GitStateUpdate: Sendable, Equatable {
    public var worktreeID: String
    public var uncommittedFilesCount: Int
    public var aheadOfTrunk: Int?
    public var behindTrunk: Int?
    public var lastCommitHash: String?
    public var lastCommitMessage: String?
    public var readAt: Date
    /// When the branch's work reached trunk (the merge's committer time); `nil`: not merged.
    /// A write stores exactly these three, so `nil` clears a merge the branch has moved past
    /// (a commit after it): the writer must always pass its current verdict, never `nil` for
    /// "did not look".
    public var mergedAt: Date?
    /// Who merged it (the merge's committer); `nil` when not merged or not known.
    public var mergedBy: String?
    /// The commit on trunk that brought the branch in; `nil` when not merged or not known.
    public var mergeCommitHash: String?

    public init(
        worktreeID: String, uncommittedFilesCount: Int, aheadOfTrunk: Int?, behindTrunk: Int?,
        lastCommitHash: String?, lastCommitMessage: String?, readAt: Date,
        mergedAt: Date? = nil, mergedBy: String? = nil, mergeCommitHash: String? = nil
    ) {
        self.worktreeID = worktreeID
        self.uncommittedFilesCount = uncommittedFilesCount
        self.aheadOfTrunk = aheadOfTrunk
        self.behindTrunk = behindTrunk
        self.lastCommitHash = lastCommitHash
        self.lastCommitMessage = lastCommitMessage
        self.readAt = readAt
        self.mergedAt = mergedAt
        self.mergedBy = mergedBy
        self.mergeCommitHash = mergeCommitHash
    }

    /// The branch is merged into trunk (with no commit on it since).
    public var isMerged: Bool { mergedAt != nil }
}
