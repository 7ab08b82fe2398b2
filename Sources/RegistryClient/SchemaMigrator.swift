import PostgresClient

/// Applies the numbered SQL files embedded in the binary, each in its own transaction, under
/// a transaction-level advisory lock, recording version and checksum in `imi_schema_migrations`.
public struct SchemaMigrator {
    /// One numbered SQL file.
    public struct Migration: Sendable {
        public var version: Int
        public var name: String
        public var sql: String

        public init(version: Int, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        public var applied: [String]
        public var alreadyApplied: [String]
    }

    /// Which embedded migrations a database has: what `migrate` and `doctor` compare, as
    /// sets, so a version missing in the middle is seen (not only the highest).
    public struct Status: Sendable, Equatable {
        /// Versions recorded in `imi_schema_migrations`; `nil` when imi-sync never migrated it.
        public var applied: [Int]?
        /// Embedded migrations not applied yet.
        public var pending: [String]
        /// Recorded versions this binary does not carry (a newer imi-sync applied them).
        public var unknown: [Int]

        public var isCurrent: Bool { applied != nil && pending.isEmpty }

        public init(applied: [Int]?, pending: [String], unknown: [Int]) {
            self.applied = applied
            self.pending = pending
            self.unknown = unknown
        }
    }

    /// Any constant both imi-sync processes agree on; serializes concurrent migrators.
    private static let advisoryLockKey: Int64 = 7_243_018_812_007_734_001

    private let connection: PostgresConnection
    private let forward: [Migration]

    public init(connection: PostgresConnection, migrations: [Migration] = SchemaMigrator.embedded) {
        self.connection = connection
        self.forward = migrations.sorted { $0.version < $1.version }
    }

    /// The newest schema version this binary knows.
    public var latestVersion: Int { forward.last?.version ?? 0 }

    /// Applies every pending migration; a no-op when all are applied. Refuses to continue
    /// when an applied file differs from the one embedded here.
    public func migrate() throws -> Report {
        let mayBeHandApplied = try locked {
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS imi_schema_migrations (
                    version     integer PRIMARY KEY,
                    name        text NOT NULL,
                    checksum    text NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now(),
                    applied_by  text NOT NULL DEFAULT current_user
                )
                """)
            // Nothing recorded: a fresh database, or one a person migrated by hand with psql.
            return try recordedChecksums().isEmpty
        }
        var report = Report(applied: [], alreadyApplied: [])
        for migration in forward {
            // Read again under the lock: another migrator may have applied it meanwhile.
            let applied = try locked { () -> Bool in
                let recorded = try recordedChecksums()
                let checksum = try self.checksum(of: migration)
                if mayBeHandApplied, recorded[migration.version] == nil, try isPresent(migration) {
                    // Applied by hand: running an older file again over a newer schema would
                    // fail (a view cannot lose the columns a later file added), so only record it.
                    try record(migration, checksum: checksum)
                    return false
                }
                if let existing = recorded[migration.version] {
                    guard existing == checksum else {
                        throw RegistryError(
                            .schema,
                            "migration \(migration.name) was changed after it was applied "
                                + "(recorded sha256 \(existing.prefix(12)), this binary has "
                                + "\(checksum.prefix(12))); write a new numbered migration instead")
                    }
                    return false
                }
                try connection.executeScript(StaticScript(migration.sql))
                try record(migration, checksum: checksum)
                return true
            }
            if applied { report.applied.append(migration.name) } else { report.alreadyApplied.append(migration.name) }
        }
        return report
    }

    /// Runs migrations/rollback.sql: removes every table, view and function of the registry.
    public func rollback() throws {
        try locked { try connection.executeScript(StaticScript(Self.rollbackScript)) }
    }

    private func record(_ migration: Migration, checksum: String) throws {
        try connection.execute(
            "INSERT INTO imi_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            [migration.version, migration.name, checksum])
    }

    /// An object each embedded file creates, by which a file applied by hand is recognised.
    public static let landmarks: [Int: (kind: String, name: String)] = [
        1: ("table", "projects"), 2: ("function", "get_registry_stats()"),
        4: ("function", "imi_notify_registry_changed()"), 5: ("table", "hosts"),
        6: ("table", "worktree_change_sets"), 7: ("column", "worktrees.agent_lease_expires_at"),
        8: ("pinned function", "imi_current_host()"),
        9: ("column", "worktree_change_sets.stale_since"),
        10: ("function", "imi_worktree_lifecycle_status(timestamptz,boolean,integer,integer)"),
        11: ("inlined view", "v_worktrees_detail"),
        12: ("function", "imi_registry_versions()"),
        13: ("function", "imi_overlaps(text,uuid,text[])"),
    ]

    /// Whether the landmark of `migration` exists (always false for a file without one).
    private func isPresent(_ migration: Migration) throws -> Bool {
        try arePresent([migration])[0]
    }

    /// Whether the landmark of each of `migrations` exists, read in one statement: every
    /// command checks the schema before its work, and a round trip per landmark was a
    /// dozen of them. The statement's text is made of the fixed tests below; the names are
    /// parameters.
    private func arePresent(_ migrations: [Migration]) throws -> [Bool] {
        var tests: [String] = []
        var names: [String] = []
        func next(_ name: String) -> String {
            names.append(name)
            return "$\(names.count)::text"
        }
        for migration in migrations {
            guard let landmark = Self.landmarks[migration.version] else {
                tests.append("false")
                continue
            }
            switch landmark.kind {
            case "table":
                tests.append("to_regclass(\(next(landmark.name))) IS NOT NULL")
            case "column":
                let parts = landmark.name.split(separator: ".").map(String.init)
                tests.append("""
                    EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                            WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = \(next(parts[0]))
                              AND a.attname = \(next(parts[1])) AND NOT a.attisdropped)
                    """)
            case "pinned function":
                // The function exists and runs with a search_path of its own, not the caller's.
                tests.append("""
                    EXISTS (SELECT 1 FROM pg_proc p, unnest(p.proconfig) AS s (setting)
                            WHERE p.oid = to_regprocedure(\(next(landmark.name))) AND starts_with(s.setting, 'search_path='))
                    """)
            case "inlined view":
                // The view computes its status itself rather than calling a function per row. A
                // view that is gone altogether is not this migration's to report: `missingObjects`
                // names it.
                let view = next(landmark.name)
                tests.append("""
                    (to_regclass(\(view)) IS NULL
                     OR strpos(pg_get_viewdef(to_regclass(\(view))), 'imi_worktree_lifecycle_status') = 0)
                    """)
            default:
                tests.append("to_regprocedure(\(next(landmark.name))) IS NOT NULL")
            }
        }
        guard !tests.isEmpty else { return [] }
        let row = try connection.execute("SELECT " + tests.joined(separator: ", "), names)
        return try tests.indices.map { try row.decode(0, $0) }
    }

    /// The applied versions against the embedded ones.
    public func status() throws -> Status {
        let exists: Bool = try connection.execute(
            "SELECT to_regclass('imi_schema_migrations') IS NOT NULL").decode(0, 0)
        guard exists else {
            return Status(applied: nil, pending: forward.map(\.name), unknown: [])
        }
        let rows = try connection.execute("SELECT version FROM imi_schema_migrations ORDER BY version")
        let applied: [Int] = try (0..<rows.count).map { try rows.decode($0, 0) }
        let known = Set(forward.map(\.version))
        return Status(
            applied: applied,
            pending: forward.filter { !applied.contains($0.version) }.map(\.name),
            unknown: applied.filter { !known.contains($0) })
    }

    /// Throws a `.schema` error naming the fix when the registry tables are not there, or an
    /// embedded migration has not been applied (by `migrate` or by hand).
    public func requireSchema() throws {
        let marked = forward.filter { Self.landmarks[$0.version] != nil }
        let missing = try zip(marked, arePresent(marked)).filter { !$0.1 }.map(\.0)
        guard !missing.isEmpty else { return }
        let what = missing.count == forward.count
            ? "the registry schema is missing"
            : "the registry schema lacks " + missing.map(\.name).joined(separator: ", ")
        throw RegistryError(
            .schema,
            "\(what) in \(connection.settings.redactedDescription): run `imi-sync migrate --schema-only`")
    }

    /// The tables' columns, views and functions imi-sync reads or writes that the database
    /// lacks (e.g. a column dropped by hand), as `table.column` or `name()`; empty when all
    /// are there. Read from the catalogs, which every role may read whatever its grants.
    public func missingObjects() throws -> [String] {
        let result = try connection.execute("""
            SELECT r.t || '.' || r.c FROM (VALUES \(Self.requiredColumns)) AS r(t, c)
            WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                              WHERE a.attrelid = to_regclass(r.t) AND a.attname = r.c AND NOT a.attisdropped)
            UNION ALL
            SELECT f FROM unnest(ARRAY[\(Self.requiredFunctions)]) AS f WHERE to_regprocedure(f) IS NULL
            """)
        return try (0..<result.count).map { try result.decode($0, 0) }
    }

    /// (table or view, column) pairs the product's statements name.
    static let requiredColumns = [
        ("projects", ["id", "name", "remote_origin", "default_branch", "trunk_path", "metadata", "active"]),
        ("worktree_types", ["id", "name", "branch_prefix", "worktree_prefix"]),
        ("worktrees", [
            "id", "project_id", "type_id", "name", "branch_name", "path", "agent_id", "has_uncommitted_changes",
            "uncommitted_files_count", "ahead_of_trunk", "behind_trunk", "last_commit_hash",
            "last_commit_message", "last_sync_at", "metadata", "active", "updated_at", "merged_at", "merged_by",
            "merge_commit_hash",
        ]),
        ("agent_activities", ["id", "agent_id", "worktree_id", "activity_type", "created_at"]),
        ("v_inflight_work", ["worktree_id", "project_name", "worktree_name", "status", "last_sync_at", "merged_at"]),
    ].flatMap { table, columns in columns.map { "('\(table)', '\($0)')" } }.joined(separator: ", ")

    static let requiredFunctions = [
        "get_registry_stats()", "get_inflight_work(uuid)", "imi_worktree_status(boolean,integer,integer)",
        "cleanup_old_activities(integer)", "prune_inactive_worktrees(integer)",
        "imi_worktree_lifecycle_status(timestamptz,boolean,integer,integer)",
    ].map { "'\($0)'" }.joined(separator: ", ")

    private func recordedChecksums() throws -> [Int: String] {
        let result = try connection.execute("SELECT version, checksum FROM imi_schema_migrations")
        var recorded: [Int: String] = [:]
        for row in 0..<result.count {
            recorded[try result.decode(row, 0)] = try result.decode(row, 1, as: String.self)
        }
        return recorded
    }

    /// SHA-256 of the file, computed by the server so no crypto library is needed here.
    private func checksum(of migration: Migration) throws -> String {
        try connection.execute("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", [migration.sql]).decode(0, 0)
    }

    /// Runs `body` in one transaction that first takes the migrators' lock. A transaction-level
    /// advisory lock: nothing of it outlives the transaction, so it serializes migrators behind a
    /// transaction-pooling PgBouncer too, where a session lock would stay on a server connection.
    private func locked<T>(_ body: () throws -> T) throws -> T {
        try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock($1)", [Self.advisoryLockKey])
            return try body()
        }
    }
}
