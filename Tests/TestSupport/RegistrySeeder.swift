import Foundation
import RegistryClient

/// Registers projects and worktrees in a test database with parameterized inserts.
public struct RegistrySeeder {
    public let connection: PostgresConnection

    /// Connects to a fresh database on the shared cluster and applies the schema.
    public static func freshRegistry() throws -> RegistrySeeder {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        _ = try SchemaMigrator(connection: connection).migrate()
        return RegistrySeeder(connection: connection)
    }

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Inserts a project; returns its id.
    @discardableResult
    public func addProject(
        _ name: String, defaultBranch: String = "main", trunkPath: String = "/nonexistent",
        remote: String? = nil
    ) throws -> String {
        let result = try connection.execute(
            """
            INSERT INTO projects (name, remote_origin, default_branch, trunk_path)
            VALUES ($1, $2, $3, $4) RETURNING id
            """,
            [name, remote ?? "git@example.com:\(name).git", defaultBranch, trunkPath])
        return result.string(0, 0)!
    }

    /// Inserts an active worktree of type `feat` (or `type`); returns its id.
    @discardableResult
    public func addWorktree(
        project projectID: String, name: String, path: String, branch: String? = nil,
        type: String = "feat"
    ) throws -> String {
        let result = try connection.execute(
            """
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
            SELECT $1, id, $2, $3, $4 FROM worktree_types WHERE name = $5
            RETURNING id
            """,
            [projectID, name, branch ?? name, path, type])
        return result.string(0, 0)!
    }

    /// The git columns of one worktree row, as text (NULL is `nil`).
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
            hasUncommittedChanges: result.bool(0, 0),
            uncommittedFilesCount: result.int(0, 1),
            aheadOfTrunk: result.int(0, 2),
            behindTrunk: result.int(0, 3),
            lastCommitHash: result.string(0, 4),
            lastCommitMessage: result.string(0, 5),
            lastSyncAt: result.string(0, 6).flatMap(Double.init))
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
