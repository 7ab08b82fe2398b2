import Foundation
import Logging
import PostgresClient
import LegacyMigration
import RegistryClient
import WorktreeMembership

/// First run on a machine that still has the legacy SQLite registry: when the PostgreSQL
/// registry has no projects (or no schema yet) and the legacy file exists, apply the schema
/// and import it before syncing, and log what the import did.
package struct LegacyBootstrap {
    package var connection: PostgresConnection
    package var logger: Logger
    /// The resolved legacy registry (`[database.fallback] path`, else the default locations).
    package var legacyPath: String
    /// The machine importing it: its worktrees are this host's.
    package var host: HostScope

    /// The import's report, or `nil` when there was nothing to do. A legacy file that cannot
    /// be imported is logged and left alone: the sync goes on with the registry as it is.
    @discardableResult
    package func runIfNeeded() throws -> LegacyImportReport? {
        let path = legacyPath
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let hasSchema: Bool = try connection.execute("SELECT to_regclass('projects') IS NOT NULL").decode(0, 0)
        if hasSchema, try connection.execute("SELECT EXISTS (SELECT 1 FROM projects)").decode(0, 0, as: Bool.self) {
            return nil
        }
        logger.notice(
            "registry is empty and a legacy registry exists; importing it first",
            metadata: ["legacy.path": "\(path)"])
        do {
            _ = try SchemaMigrator(connection: connection).migrate()
            let hostID = try host.register(on: Registry(connection: connection))
            let report = try LegacyImporter(connection: connection, legacy: try LegacyRegistry(path: path))
                .run(.init(hostID: hostID))
            for table in report.tables {
                logger.notice(
                    "imported legacy \(table.source)",
                    metadata: [
                        "legacy.path": "\(path)", "legacy.table": "\(table.source)",
                        "rows.read": "\(table.read)", "rows.imported": "\(table.imported)",
                        "rows.repaired": "\(table.repaired)", "rows.quarantined": "\(table.quarantined)",
                    ])
            }
            if report.quarantined > 0 {
                logger.warning(
                    "some legacy rows could not be imported as they were; they are kept in legacy_quarantine",
                    metadata: ["rows.quarantined": "\(report.quarantined)"])
            }
            return report
        } catch let error as LegacyError where error.code == .source {
            logger.error(
                "cannot import the legacy registry; continuing with the registry as it is",
                metadata: ["legacy.path": "\(path)", "error": "\(error)"])
            return nil
        }
    }
}
