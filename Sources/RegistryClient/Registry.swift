import struct Foundation.Date
import PostgresClient

/// Typed reads and batched writes against the registry tables.
public struct Registry {
    /// Rows per statement: large enough to amortize round trips, small enough to keep
    /// each parameter array (and the server's memory for it) modest.
    public static let batchSize = 500

    /// The connection, for this package's own modules only (the legacy import and export use it
    /// directly, with COPY); everything else goes through the typed queries.
    package let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Every active worktree with its project's default branch, in a stable order; with
    /// `host`, only that host's and those no host has adopted yet.
    public func activeWorktrees(host: String? = nil) throws -> [RegisteredWorktree] {
        let result = try connection.execute("""
            SELECT w.id, p.name, w.name, w.path, p.default_branch, w.host_id
            FROM worktrees w
            JOIN projects p ON p.id = w.project_id
            WHERE w.active AND ($1::uuid IS NULL OR w.host_id = $1::uuid OR w.host_id IS NULL)
            ORDER BY p.name, w.name, w.id
            """, [host])
        return try (0..<result.count).map { row in
            RegisteredWorktree(
                id: try result.decode(row, 0), projectName: try result.decode(row, 1),
                name: try result.decode(row, 2), path: try result.decode(row, 3),
                defaultBranch: try result.decode(row, 4), hostID: try result.decode(row, 5, as: String?.self))
        }
    }

    /// Writes git state for many worktrees: one parameterized statement per batch, all
    /// batches in one transaction. Returns how many rows were updated.
    @discardableResult
    public func write(_ updates: [GitStateUpdate]) throws -> Int {
        guard !updates.isEmpty else { return 0 }
        return try connection.transaction {
            try inBatches(updates) { try update($0, onlyChanged: false) }.count
        }
    }

    /// Runs `body` on consecutive slices of at most ``batchSize`` and joins the results.
    func inBatches<Element, Result>(
        _ elements: [Element], _ body: (ArraySlice<Element>) throws -> [Result]
    ) rethrows -> [Result] {
        try batches(elements).flatMap(body)
    }

    /// Consecutive slices of at most ``batchSize``.
    func batches<Element>(_ elements: [Element]) -> [ArraySlice<Element>] {
        stride(from: elements.startIndex, to: elements.endIndex, by: Self.batchSize).map {
            elements[$0..<min($0 + Self.batchSize, elements.endIndex)]
        }
    }

    /// The batched git-state UPDATE (the merge facts included); `onlyChanged` skips rows whose
    /// stored state is equal.
    /// Returns the ids of the rows it wrote.
    func update(_ batch: ArraySlice<GitStateUpdate>, onlyChanged: Bool) throws -> [String] {
        let result = try connection.execute(
            onlyChanged ? Self.updateChangedStatement : Self.updateStatement,
            [
                batch.map(\.worktreeID), batch.map(\.uncommittedFilesCount), batch.map(\.aheadOfTrunk),
                batch.map(\.behindTrunk), batch.map(\.lastCommitHash), batch.map(\.lastCommitMessage),
                batch.map(\.readAt), batch.map(\.mergedAt), batch.map(\.mergedBy), batch.map(\.mergeCommitHash),
            ])
        return try (0..<result.count).map { try result.decode($0, 0) }
    }

    private static let updateStatement = baseUpdate + "\nRETURNING w.id"

    private static let baseUpdate = """
        UPDATE worktrees AS w SET
            has_uncommitted_changes = u.files > 0,
            uncommitted_files_count = u.files,
            ahead_of_trunk = u.ahead,
            behind_trunk = u.behind,
            last_commit_hash = u.hash,
            last_commit_message = u.message,
            last_sync_at = u.read_at,
            merged_at = u.merged_at,
            merged_by = u.merged_by,
            merge_commit_hash = u.merge_hash
        FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::integer[],
                    $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[])
            AS u(id, files, ahead, behind, hash, message, read_at, merged_at, merged_by, merge_hash)
        WHERE w.id = u.id
        """

    private static let updateChangedStatement = baseUpdate + """

          AND w.active
          AND (w.uncommitted_files_count, w.ahead_of_trunk, w.behind_trunk,
               w.last_commit_hash, w.last_commit_message, w.merged_at, w.merged_by, w.merge_commit_hash)
              IS DISTINCT FROM (u.files, u.ahead, u.behind, u.hash, u.message, u.merged_at, u.merged_by, u.merge_hash)
        RETURNING w.id
        """
}

extension Registry {
    /// The one way to reach the registry: connect (the settings follow libpq's conventions:
    /// `PG*`, `~/.pgpass`, a URL or key=value string) and check that its schema is the one this
    /// binary knows. `migrate` (which applies the schema) and the first-run import (which may
    /// find none yet) pass `checkingSchema: false` and check it themselves afterwards.
    public static func open(
        _ settings: ConnectionSettings, applicationName: String = "imi-sync", checkingSchema: Bool = true
    ) throws -> Registry {
        let connection = try PostgresConnection(settings: settings, applicationName: applicationName)
        if checkingSchema { try SchemaMigrator(connection: connection).requireSchema() }
        return Registry(connection: connection)
    }
}
