import Foundation
import PostgresClient
import RegistryClient

/// A migrated registry database for a test, and the one way tests register projects and
/// worktrees (parameterized inserts) and read rows back.
public struct RegistrySeeder {
    public let connection: PostgresConnection
    public var settings: ConnectionSettings { connection.settings }

    /// A fresh database on the shared cluster with the schema applied.
    public static func freshRegistry(prefix: String = "t") throws -> RegistrySeeder {
        try RegistrySeeder(settings: try PostgresCluster.shared().createDatabase(prefix: prefix))
    }

    /// Connects to `settings` and applies the schema.
    public init(settings: ConnectionSettings) throws {
        connection = try PostgresConnection(settings: settings)
        _ = try SchemaMigrator(connection: connection).migrate()
    }

    /// Uses `connection` as it is (no migration).
    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The database's name, for statements that need it as an identifier.
    public func databaseName() throws -> String {
        try connection.execute("SELECT current_database()").decode(0, 0)
    }

    /// Inserts a project; returns its id.
    @discardableResult
    public func addProject(
        _ name: String, defaultBranch: String = "main", trunkPath: String = "/nonexistent",
        remote: String? = nil
    ) throws -> String {
        try connection.execute(
            """
            INSERT INTO projects (name, remote_origin, default_branch, trunk_path)
            VALUES ($1, $2, $3, $4) RETURNING id
            """,
            [name, remote ?? "git@example.com:\(name).git", defaultBranch, trunkPath]
        ).decode(0, 0)
    }

    /// Inserts a project whose trunk is the directory `trunk`, without a remote.
    @discardableResult
    public func addProject(_ name: String, trunk: URL, defaultBranch: String = "main") throws -> String {
        try addProject(name, defaultBranch: defaultBranch, trunkPath: trunk.path, remote: "")
    }

    /// Inserts an active worktree of type `feat` (or `type`); returns its id.
    @discardableResult
    public func addWorktree(
        project projectID: String, name: String, path: String, branch: String? = nil,
        type: String = "feat"
    ) throws -> String {
        try connection.execute(
            """
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
            SELECT $1, id, $2, $3, $4 FROM worktree_types WHERE name = $5
            RETURNING id
            """,
            [projectID, name, branch ?? name, path, type]
        ).decode(0, 0)
    }

    /// Inserts an active `feat` worktree at the directory `path`.
    @discardableResult
    public func addWorktree(_ name: String, path: URL, project: String, branch: String = "main") throws -> String {
        try addWorktree(project: project, name: name, path: path.path, branch: branch)
    }

    /// What the agent tests compare: the count, the commit, and whether it was ever synced.
    public struct Row: Equatable, Sendable {
        public var files: Int?
        public var hash: String?
        public var message: String?
        public var synced: Bool

        public init(files: Int?, hash: String?, message: String?, synced: Bool) {
            self.files = files
            self.hash = hash
            self.message = message
            self.synced = synced
        }
    }

    public func row(_ id: String) throws -> Row {
        let result = try connection.execute(
            """
            SELECT uncommitted_files_count, last_commit_hash, last_commit_message, last_sync_at IS NOT NULL
            FROM worktrees WHERE id = $1
            """, [id])
        return Row(
            files: try result.decode(0, 0, as: Int?.self), hash: try result.decode(0, 1, as: String?.self),
            message: try result.decode(0, 2, as: String?.self), synced: try result.decode(0, 3))
    }

    /// The git columns of one worktree row as stored (NULL is `nil`).
    public func gitColumns(of worktreeID: String) throws -> GitColumns {
        let result = try connection.execute(
            """
            SELECT has_uncommitted_changes, uncommitted_files_count, ahead_of_trunk,
                   behind_trunk, last_commit_hash, last_commit_message,
                   extract(epoch FROM last_sync_at)::float8
            FROM worktrees WHERE id = $1
            """,
            [worktreeID])
        return GitColumns(
            hasUncommittedChanges: try result.decode(0, 0, as: Bool?.self),
            uncommittedFilesCount: try result.decode(0, 1, as: Int?.self),
            aheadOfTrunk: try result.decode(0, 2, as: Int?.self),
            behindTrunk: try result.decode(0, 3, as: Int?.self),
            lastCommitHash: try result.decode(0, 4, as: String?.self),
            lastCommitMessage: try result.decode(0, 5, as: String?.self),
            lastSyncAt: try result.decode(0, 6, as: Double?.self))
    }

    /// A worktree row's git columns as stored.
    public struct GitColumns: Equatable, Sendable {
        public var hasUncommittedChanges: Bool?
        public var uncommittedFilesCount: Int?
        public var aheadOfTrunk: Int?
        public var behindTrunk: Int?
        public var lastCommitHash: String?
        public var lastCommitMessage: String?
        public var lastSyncAt: Double?
    }
}
