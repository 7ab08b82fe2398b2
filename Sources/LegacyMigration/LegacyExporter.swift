#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PostgresClient
import RegistryClient

/// Writes what PostgreSQL holds now as a legacy-format SQLite registry (the tables the Rust
/// iMi CLI reads), rows created after the migration included: the plan's full rollback.
///
/// Legacy ids, paths and activity types kept in `metadata` are written back, so importing
/// the file again gives the same rows. Reads one consistent snapshot through a cursor and
/// writes through prepared statements: memory does not grow with the row count. The file is
/// built beside the target and renamed into place only when complete.
public struct LegacyExporter {
    /// What was written, and what the legacy format cannot hold.
    public struct Report: Sendable, Codable, Equatable {
        public var path: String
        /// Rows written per legacy table.
        public var written: [String: Int]
        /// Rows left out, with why (legacy names are unique where PostgreSQL allows
        /// repeats among inactive rows).
        public var skipped: [String: Int]
    }


    /// RFC 3339 in UTC with microseconds, as the legacy CLI writes them.
    private static func timestamp(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    }

    /// Per legacy table: the SELECT over the registry and the INSERT into the file.
    static let tables: [(name: String, select: String, insert: String)] = [
        ("repositories",
         """
         SELECT coalesce(p.metadata->>'legacy_id', p.id::text), p.name,
                CASE WHEN right(p.trunk_path, length(p.default_branch) + 7) = '/trunk-' || p.default_branch
                          AND length(p.trunk_path) > length(p.default_branch) + 7
                     THEN left(p.trunk_path, -(length(p.default_branch) + 7)) ELSE p.trunk_path END,
                p.remote_origin, p.default_branch, \(timestamp("p.created_at")), \(timestamp("p.updated_at")),
                CASE WHEN p.active THEN '1' ELSE '0' END
         FROM projects p ORDER BY p.active DESC, p.created_at, p.id
         """,
         "INSERT OR IGNORE INTO repositories VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CAST(?8 AS INTEGER))"),
        ("worktree_types",
         """
         SELECT t.id::text, t.name, t.branch_prefix, t.worktree_prefix, t.description,
                CASE WHEN t.is_builtin THEN '1' ELSE '0' END, \(timestamp("t.created_at"))
         FROM worktree_types t ORDER BY t.id
         """,
         "INSERT OR IGNORE INTO worktree_types VALUES (CAST(?1 AS INTEGER), ?2, ?3, ?4, ?5, CAST(?6 AS INTEGER), ?7)"),
        ("worktrees",
         """
         SELECT coalesce(w.metadata->>'legacy_id', w.id::text), p.name, w.name, w.branch_name, t.name, w.path,
                \(timestamp("w.created_at")), \(timestamp("w.updated_at")),
                CASE WHEN w.active THEN '1' ELSE '0' END, w.agent_id
         FROM worktrees w JOIN projects p ON p.id = w.project_id JOIN worktree_types t ON t.id = w.type_id
         ORDER BY w.active DESC, w.created_at, w.id
         """,
         "INSERT OR IGNORE INTO worktrees VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CAST(?9 AS INTEGER), ?10)"),
        ("agent_activities",
         """
         SELECT coalesce(a.metadata->>'legacy_id', a.id::text), a.agent_id,
                coalesce(w.metadata->>'legacy_id', w.id::text),
                coalesce(a.metadata->>'legacy_activity_type', a.activity_type), a.file_path, a.description,
                \(timestamp("a.created_at"))
         FROM agent_activities a JOIN worktrees w ON w.id = a.worktree_id
         """,
         "INSERT OR IGNORE INTO agent_activities VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
    ]

    public let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Writes the file at `path`, which must not exist yet. The target is checked before
    /// anything is read, and the partial file is removed on every failure.
    public func export(to path: String) throws -> Report {
        try Self.checkTarget(path)
        try SchemaMigrator(connection: connection).requireSchema()
        let partial = path + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: partial)
        var finished = false
        defer { if !finished { try? FileManager.default.removeItem(atPath: partial) } }
        var report = Report(path: path, written: [:], skipped: [:])
        let file = try LegacySQLiteConnection(path: partial, mode: .create)
        try file.execute("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        try file.execute(LegacySchema.tables)
        try file.execute("BEGIN")
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { if connection.isHealthy { _ = try? connection.execute("ROLLBACK") } }
        for table in Self.tables {
            let (written, read) = try copy(table.select, into: file, insert: table.insert)
            report.written[table.name] = written
            if read > written { report.skipped[table.name] = read - written }
        }
        try file.execute("COMMIT")
        try file.execute("PRAGMA journal_mode = DELETE")
        // rename(2) replaces an existing file silently; the target was checked above, and
        // link(2) would refuse, but the partial file must go in any case.
        guard rename(partial, path) == 0 else {
            throw LegacyError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        finished = true
        return report
    }

    /// The target must be a new path (not even a dangling symbolic link) in a directory that
    /// exists and can be written.
    static func checkTarget(_ path: String) throws {
        guard !path.isEmpty else {
            throw LegacyError(.invalidInput, "export-sqlite needs a file to create; --to is empty")
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            let what = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "a file"
            throw LegacyError(.invalidInput, "\(path) already exists (\(what)); export-sqlite writes a new file only")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let parent = directory.isEmpty ? "." : directory
        var parentInfo = stat()
        guard stat(parent, &parentInfo) == 0, parentInfo.st_mode & S_IFMT == S_IFDIR else {
            throw LegacyError(.io, "cannot create \(path): its directory \(parent) does not exist")
        }
        guard access(parent, W_OK | X_OK) == 0 else {
            throw LegacyError(.io, "cannot create \(path): no permission to write in \(parent)")
        }
    }

    /// Streams one SELECT through a cursor into the file; returns (written, read).
    private func copy(_ select: String, into file: LegacySQLiteConnection, insert: String) throws -> (Int, Int) {
        let statement = try file.prepare(insert)
        try connection.execute("DECLARE legacy_export NO SCROLL CURSOR FOR \(select)")
        defer { _ = try? connection.execute("CLOSE legacy_export") }
        var read = 0
        var written = 0
        while true {
            let batch = try connection.execute("FETCH FORWARD 5000 FROM legacy_export")
            if batch.count == 0 { break }
            for row in 0..<batch.count {
                for column in 0..<batch.columnCount {
                    statement.bind(column + 1, batch.text(row, column))
                }
                try statement.run()
                written += file.changes
                read += 1
            }
        }
        return (written, read)
    }
}
