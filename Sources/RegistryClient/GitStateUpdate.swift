import struct Foundation.Date

/// The git columns of one worktree row, as read at `readAt`. `nil` stays NULL ("unknown").
public struct GitStateUpdate: Sendable, Equatable {
    public var worktreeID: String
    public var uncommittedFilesCount: Int
    public var aheadOfTrunk: Int?
    public var behindTrunk: Int?
    public var lastCommitHash: String?
    public var lastCommitMessage: String?
    public var readAt: Date

    public init(
        worktreeID: String, uncommittedFilesCount: Int, aheadOfTrunk: Int?, behindTrunk: Int?,
        lastCommitHash: String?, lastCommitMessage: String?, readAt: Date
    ) {
        self.worktreeID = worktreeID
        self.uncommittedFilesCount = uncommittedFilesCount
        self.aheadOfTrunk = aheadOfTrunk
        self.behindTrunk = behindTrunk
        self.lastCommitHash = lastCommitHash
        self.lastCommitMessage = lastCommitMessage
        self.readAt = readAt
    }
}
