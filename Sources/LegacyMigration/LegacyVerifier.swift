import PostgresClient
import RegistryClient
/// The plan's validation checklist as code: every legacy row is in the registry (with the
/// values the import gives it) or in the quarantine, no foreign key dangles, no active remote
/// or path repeats, and the schema is current.
///
/// The legacy file is staged and planned exactly as an import would, inside a transaction
/// that is rolled back: verifying writes nothing.
public struct LegacyVerifier {
    public struct Table: Sendable, Codable, Equatable {
        public var source: String
        public var target: String
        /// Rows in the legacy file.
        public var sourceRows: Int
        /// Rows present in the registry.
        public var imported: Int
        /// Rows held in `legacy_quarantine`.
        public var quarantined: Int
        /// Rows neither imported nor quarantined.
        public var missing: Int
        /// Imported rows whose values differ from what the legacy row gives.
        public var mismatched: Int
        /// Order-independent checksum of the expected values (from the legacy file).
        public var sourceChecksum: String
        /// The same checksum over the registry's rows.
        public var destinationChecksum: String
        /// Quarantined rows whose stored source row differs from the file's.
        public var quarantineMismatched: Int
    }

    public struct Report: Sendable, Codable, Equatable {
        public var source: String
        public var tables: [Table]
        public var orphanedWorktrees: Int
        public var orphanedActivities: Int
        public var duplicateActiveRemotes: Int
        public var duplicateActivePaths: Int
        /// Embedded migrations the registry has not applied (by version, not only the newest).
        public var pendingMigrations: [String]

        /// One line per difference; empty when everything matches.
        public var differences: [String] {
            var lines: [String] = []
            for table in tables {
                if table.missing > 0 {
                    lines.append("\(table.source): \(table.missing) rows neither imported nor quarantined")
                }
                if table.mismatched > 0 {
                    lines.append("\(table.source): \(table.mismatched) imported rows differ from the legacy file")
                }
                if table.quarantineMismatched > 0 {
                    lines.append("\(table.source): \(table.quarantineMismatched) quarantined rows differ from the legacy file")
                }
            }
            if orphanedWorktrees > 0 { lines.append("\(orphanedWorktrees) worktrees reference no project") }
            if orphanedActivities > 0 { lines.append("\(orphanedActivities) activities reference no worktree") }
            if duplicateActiveRemotes > 0 {
                lines.append("\(duplicateActiveRemotes) remotes are shared by several active projects")
            }
            if duplicateActivePaths > 0 {
                lines.append("\(duplicateActivePaths) paths are shared by several active worktrees")
            }
            if !pendingMigrations.isEmpty {
                lines.append("schema migrations not applied: \(pendingMigrations.joined(separator: ", "))")
            }
            return lines
        }

        public var isConsistent: Bool { differences.isEmpty }
    }

    public let connection: PostgresConnection
    public let legacy: LegacyRegistry
    /// The host the import recorded, so the plan is the import's (`nil`: none).
    public let hostID: String?

    public init(connection: PostgresConnection, legacy: LegacyRegistry, hostID: String? = nil) {
        self.connection = connection
        self.legacy = legacy
        self.hostID = hostID
    }

    /// Columns compared per table: those the legacy row decides (not git state, not metadata).
    static let compared: [(table: LegacyTable, target: String, key: String, columns: [String])] = [
        (.repositories, "projects", "id",
         ["name", "remote_origin", "default_branch", "trunk_path", "created_at", "updated_at", "active"]),
        (.worktreeTypes, "worktree_types", "name", ["name", "branch_prefix", "worktree_prefix"]),
        (.worktrees, "worktrees", "id",
         ["project_id", "type_id", "name", "branch_name", "path", "agent_id", "created_at", "updated_at", "active"]),
        (.agentActivities, "agent_activities", "id",
         ["worktree_id", "agent_id", "activity_type", "file_path", "description", "created_at"]),
    ]

    public func run() throws -> Report {
        let migrator = SchemaMigrator(connection: connection)
        try migrator.requireSchema()
        let schema = try migrator.status()
        _ = try? connection.execute("SET temp_buffers = '256MB'")
        try connection.execute("BEGIN")
        defer { if connection.isHealthy { _ = try? connection.execute("ROLLBACK") } }
        try connection.execute("SELECT set_config('imi.import_host', $1, true)", [hostID ?? ""])
        try connection.execute("SET LOCAL TimeZone = 'UTC'")
        try connection.execute("SET LOCAL work_mem = '64MB'")
        let importer = LegacyImporter(connection: connection, legacy: legacy)
        try importer.stage(progress: nil)
        for statements in [
            LegacyImportSQL.planProjects, LegacyImportSQL.planWorktreeTypes,
            LegacyImportSQL.planWorktrees, LegacyImportSQL.planActivities,
        ] {
            for statement in statements { try connection.execute(statement) }
        }
        var tables: [Table] = []
        for (table, target, key, columns) in Self.compared {
            tables.append(try compare(table, target: target, key: key, columns: columns))
        }
        let checks = try connection.execute("""
            SELECT
              (SELECT count(*) FROM worktrees w WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = w.project_id)),
              (SELECT count(*) FROM agent_activities a WHERE NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.id = a.worktree_id)),
              (SELECT count(*) FROM (SELECT remote_origin FROM projects WHERE active AND remote_origin <> ''
                                     GROUP BY remote_origin HAVING count(*) > 1) d),
              (SELECT count(*) FROM (SELECT path FROM worktrees WHERE active GROUP BY path HAVING count(*) > 1) d)
            """)
        return Report(
            source: legacy.path, tables: tables,
            orphanedWorktrees: try checks.decode(0, 0), orphanedActivities: try checks.decode(0, 1),
            duplicateActiveRemotes: try checks.decode(0, 2), duplicateActivePaths: try checks.decode(0, 3),
            pendingMigrations: schema.pending)
    }

    private func compare(_ table: LegacyTable, target: String, key: String, columns: [String]) throws -> Table {
        let plan = "legacy_plan_\(table.name)"
        let planRow = "ROW(" + columns.map { "p.\($0)" }.joined(separator: ", ") + ")"
        let targetRow = "ROW(" + columns.map { "t.\($0)" }.joined(separator: ", ") + ")"
        let derived = table.name == "worktree_types" ? "p.derived" : "false"
        // A row merged into one registered under another id is present, not compared.
        let compared = table.name == "repositories" || table.name == "worktrees" ? "p.alias_of IS NULL" : "true"
        // Order-independent: the sum of 60-bit prefixes of each row's md5.
        func checksum(_ row: String) -> String {
            """
            coalesce(sum(('x' || substr(md5(\(row)::text), 1, 15))::bit(60)::bigint)
                FILTER (WHERE p.problem IS NULL AND p.present AND \(compared)), 0)::text
            """
        }
        let result = try connection.execute("""
            SELECT
              count(*) FILTER (WHERE NOT \(derived)),
              count(*) FILTER (WHERE p.problem IS NULL AND p.present),
              count(*) FILTER (WHERE p.problem IS NOT NULL AND q.source_row IS NOT NULL),
              count(*) FILTER (WHERE (p.problem IS NULL AND NOT p.present)
                                  OR (p.problem IS NOT NULL AND q.source_row IS NULL)),
              count(*) FILTER (WHERE p.problem IS NULL AND p.present AND \(compared) AND \(planRow) IS DISTINCT FROM \(targetRow)),
              \(checksum(planRow)),
              \(checksum(targetRow)),
              count(*) FILTER (WHERE q.source_row IS NOT NULL AND q.source_row IS DISTINCT FROM
                               \(LegacyImportSQL.sourceRow(table)))
            FROM \(plan) p
            LEFT JOIN \(target) t ON t.\(key) = p.\(key)
            LEFT JOIN \(table.stagingName) s ON s.ord = p.ord
            LEFT JOIN legacy_quarantine q ON q.source_table = '\(table.name)'
                AND q.source_id = \(LegacyImportSQL.quarantineID)
            """)
        return Table(
            source: table.name, target: target,
            sourceRows: try result.decode(0, 0), imported: try result.decode(0, 1),
            quarantined: try result.decode(0, 2), missing: try result.decode(0, 3),
            mismatched: try result.decode(0, 4),
            sourceChecksum: try result.decode(0, 5), destinationChecksum: try result.decode(0, 6),
            quarantineMismatched: try result.decode(0, 7))
    }
}
