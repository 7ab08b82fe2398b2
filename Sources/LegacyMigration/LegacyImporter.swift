import Foundation
import PostgresClient
import RegistryClient

/// Imports a legacy SQLite registry into PostgreSQL in one transaction.
///
/// Rows stream from SQLite into temporary staging tables with COPY (memory does not grow with
/// the row count), are normalized and checked in SQL (`LegacyImportSQL`), then inserted with
/// `ON CONFLICT (id) DO NOTHING`: a second run imports only rows it has not seen and never
/// overwrites. A row that cannot be imported faithfully goes to `legacy_quarantine`.
public struct LegacyImporter {
    public struct Options: Sendable {
        /// Do everything, report, then roll back.
        public var dryRun = false
        /// Refuse (and roll back) when any row would be quarantined.
        public var strict = false
        /// The host the legacy file's worktrees live on (the machine importing it); `nil`
        /// leaves them unadopted.
        public var hostID: String?

        public init(dryRun: Bool = false, strict: Bool = false, hostID: String? = nil) {
            self.dryRun = dryRun
            self.strict = strict
            self.hostID = hostID
        }
    }

    /// A phase of the import, for a progress line.
    public enum Progress: Sendable {
        case reading(table: String, rows: Int)
        case importing(table: String)
    }

    /// Serializes imports into one database (any constant both processes agree on).
    static let advisoryLockKey = "7243018812007734002"

    public let connection: PostgresConnection
    public let legacy: LegacyRegistry
    /// Tests turn the binary-COPY path off to compare it with the SQL plan.
    var allowsDirectActivityLoad = true

    public init(connection: PostgresConnection, legacy: LegacyRegistry) {
        self.connection = connection
        self.legacy = legacy
    }

    /// Runs the import; the schema must be applied already (``SchemaMigrator/migrate()``).
    /// With `--strict` and rows to quarantine, throws `.legacySource` naming the counts.
    public func run(
        _ options: Options = Options(), progress: (@Sendable (Progress) -> Void)? = nil
    ) throws -> LegacyImportReport {
        let clock = ContinuousClock()
        let start = clock.now
        try SchemaMigrator(connection: connection).requireSchema()
        // Larger temp buffers keep the staging tables in memory; settable only before the
        // session's first temporary table, so a failure here is harmless.
        _ = try? connection.execute("SET temp_buffers = '256MB'")

        var report = LegacyImportReport(
            source: legacy.path, dryRun: options.dryRun, committed: false, tables: [],
            elapsedSeconds: 0)
        try connection.execute("BEGIN")
        do {
            try stageAndImport(into: &report, hostID: options.hostID, progress: progress)
            if options.strict, report.quarantined > 0 {
                let detail = report.tables.filter { $0.quarantined > 0 }
                    .map { "\($0.source): \($0.quarantined)" }.joined(separator: ", ")
                throw LegacyError(
                    .strict,
                    "--strict: \(report.quarantined) rows of \(legacy.path) cannot be imported as "
                        + "they are (\(detail)); nothing was written. Run without --strict "
                        + "(or with --dry-run) to see the reasons")
            }
            if options.dryRun {
                try connection.execute("ROLLBACK")
            } else {
                try connection.execute("COMMIT")
                report.committed = true
            }
        } catch {
            if connection.isHealthy { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
        report.elapsedSeconds = (clock.now - start).seconds
        return report
    }

    /// Everything inside the transaction: stage, plan, insert, quarantine, count.
    func stageAndImport(
        into report: inout LegacyImportReport, hostID: String?, progress: (@Sendable (Progress) -> Void)?
    ) throws {
        // The plans read the importing host from this transaction-local setting, so their SQL
        // stays fixed text.
        try connection.execute("SELECT set_config('imi.import_host', $1, true)", [hostID ?? ""])
        try connection.execute("SET LOCAL TimeZone = 'UTC'")
        try connection.execute("SET LOCAL work_mem = '64MB'")
        try connection.execute("SET LOCAL maintenance_work_mem = '256MB'")
        try connection.execute("SELECT pg_advisory_xact_lock($1::bigint)", [Self.advisoryLockKey])
        let loader = LegacyActivityLoader(connection: connection, legacy: legacy)
        let direct = try allowsDirectActivityLoad && loader.applies()
        try stage(progress: progress, skipping: direct ? ["agent_activities"] : [])

        progress?(.importing(table: "repositories"))
        try plan(LegacySQL.planProjects)
        let projects = try connection.execute(LegacyImportSQL.insertProjects).affectedRows
        report.tables.append(try finish(.repositories, target: "projects", imported: projects))

        progress?(.importing(table: "worktree_types"))
        try plan(LegacySQL.planWorktreeTypes)
        let types = try connection.execute(LegacyImportSQL.insertWorktreeTypes).affectedRows
        report.tables.append(try finish(.worktreeTypes, target: "worktree_types", imported: types))

        progress?(.importing(table: "worktrees"))
        try plan(LegacySQL.planWorktrees)
        let worktrees = try connection.execute(LegacyImportSQL.insertWorktrees).affectedRows
        report.tables.append(try finish(.worktrees, target: "worktrees", imported: worktrees))

        progress?(.importing(table: "agent_activities"))
        var loaded: LegacyImportReport.Table?
        // Activities of a worktree registered under another id need the SQL plan's mapping.
        let aliased: Bool = try connection.execute(
            "SELECT EXISTS (SELECT 1 FROM legacy_plan_worktrees WHERE alias_of IS NOT NULL)").decode(0, 0)
        if direct, aliased {
            try stage(progress: progress, skipping: Set(LegacyTable.all.map(\.name)).subtracting(["agent_activities"]))
        } else if direct {
            try connection.execute("SAVEPOINT legacy_activities")
            do {
                loaded = try loader.load { rows in progress?(.reading(table: "agent_activities", rows: rows)) }
                try connection.execute("RELEASE SAVEPOINT legacy_activities")
            } catch let error as PostgresError where error.sqlState == "23505" {
                // Two legacy ids map to one UUID: the SQL plan quarantines the later one.
                try connection.execute("ROLLBACK TO SAVEPOINT legacy_activities")
                try stage(progress: progress, skipping: Set(LegacyTable.all.map(\.name)).subtracting(["agent_activities"]))
            }
        }
        if let loaded {
            report.tables.append(loaded)
        } else {
            try plan(LegacySQL.planActivities)
            let activities = try connection.execute(LegacyImportSQL.insertActivities).affectedRows
            report.tables.append(
                try finish(.agentActivities, target: "agent_activities", imported: activities))
        }
    }

    /// Creates the staging tables and streams every legacy table into its own.
    func stage(progress: (@Sendable (Progress) -> Void)?, skipping: Set<String> = []) throws {
        for table in LegacyTable.all where !skipping.contains(table.name) {
            try connection.execute(table.stagingDefinition)
            _ = try connection.copyIn("COPY \(table.stagingName) FROM STDIN") { writer in
                _ = try legacy.stream(table, into: writer) { rows in
                    progress?(.reading(table: table.name, rows: rows))
                }
            }
            try connection.execute("ANALYZE \(table.stagingName)")
        }
    }

    private func plan(_ statements: [String]) throws {
        for statement in statements { try connection.execute(statement) }
    }

    /// Quarantines, releases, and counts one table's plan.
    private func finish(_ table: LegacyTable, target: String, imported: Int) throws -> LegacyImportReport.Table {
        try connection.execute(LegacyImportSQL.quarantine(table))
        try connection.execute(LegacyImportSQL.releaseFromQuarantine(table))
        let plan = "legacy_plan_\(table.name)"
        let derivedColumn = table.name == "worktree_types" ? "derived" : "false"
        let counts = try connection.execute("""
            SELECT count(*) FILTER (WHERE NOT \(derivedColumn)),
                   count(*) FILTER (WHERE problem IS NULL AND present),
                   count(*) FILTER (WHERE problem IS NOT NULL),
                   count(*) FILTER (WHERE problem IS NULL AND NOT present AND cardinality(repairs) > 0),
                   count(*) FILTER (WHERE \(derivedColumn) AND NOT present)
            FROM \(plan)
            """)
        let repairs = try connection.execute("""
            SELECT r, count(*) FROM \(plan), unnest(repairs) AS r
            WHERE problem IS NULL AND NOT present GROUP BY r ORDER BY r
            """)
        let reasons = try connection.execute("""
            SELECT problem, count(*) FROM \(plan) WHERE problem IS NOT NULL GROUP BY problem ORDER BY problem
            """)
        return LegacyImportReport.Table(
            source: table.name, target: target,
            read: try counts.decode(0, 0), imported: imported,
            alreadyPresent: try counts.decode(0, 1), repaired: try counts.decode(0, 3),
            quarantined: try counts.decode(0, 2), derived: try counts.decode(0, 4),
            repairs: try Self.reasons(repairs), quarantineReasons: try Self.reasons(reasons))
    }

    private static func reasons(_ result: PostgresRows) throws -> [LegacyImportReport.Reason] {
        try (0..<result.count).map {
            LegacyImportReport.Reason(reason: try result.decode($0, 0), count: try result.decode($0, 1))
        }
    }
}

private typealias LegacySQL = LegacyImportSQL

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
