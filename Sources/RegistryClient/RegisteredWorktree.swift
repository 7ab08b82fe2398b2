/// An active worktree as the registry knows it, with what is needed to probe it.
public struct RegisteredWorktree: Sendable, Equatable {
    public var id: String
    public var projectName: String
    public var name: String
    public var path: String
    public var defaultBranch: String
    /// The host it belongs to; `nil` for a row from before hosts existed, not adopted yet.
    public var hostID: String?

    public init(
        id: String, projectName: String, name: String, path: String, defaultBranch: String,
        hostID: String? = nil
    ) {
        self.id = id
        self.projectName = projectName
        self.name = name
        self.path = path
        self.defaultBranch = defaultBranch
        self.hostID = hostID
    }
}
