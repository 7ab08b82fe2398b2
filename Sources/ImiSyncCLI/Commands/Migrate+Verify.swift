import ArgumentParser
import Foundation
import PostgresClient
import LegacyMigration
import RegistryClient
import RegistryDocuments

/// `imi-sync migrate verify`: the migration plan's validation checklist as a command.
struct MigrateVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every legacy row is in the registry or the quarantine, unchanged.",
        discussion: """
            Compares the legacy file with PostgreSQL per table: row counts, an order-independent \
            checksum of the values the import gives each row, quarantined rows; then looks for \
            dangling references, remotes or paths shared by several active rows, and the schema \
            version. Writes nothing. Exits 1 when anything differs.
            """)

    /// `--from`, `--json` and the connection options are `migrate`'s own.
    @ParentCommand var migrate: Migrate

    func run() throws {
        _ = migrate.global.makeLogger()
        let report: LegacyVerifier.Report
        let config = try migrate.global.resolvedConfig()
        let registry = try Registry.open(config.connectionSettings, checkingSchema: false)
        // The host the import recorded, so verify plans exactly as the import did.
        let hostID = try registry.hostID(named: config.hostName.value)
        report = try LegacyVerifier(
            connection: registry.connection, legacy: try LegacyRegistry(path: migrate.legacyPath), hostID: hostID
        ).run()
        if migrate.json {
            struct Document: Encodable {
                var consistent: Bool
                var differences: [String]
                var report: LegacyVerifier.Report
            }
            print(MigrateOutput.encode(
                Document(consistent: report.isConsistent, differences: report.differences, report: report)))
        } else {
            print(Self.text(report))
        }
        if !report.isConsistent { throw ExitStatus.problemsReported }
    }

    static func text(_ report: LegacyVerifier.Report) -> String {
        var table = TextTable(
            headers: ["table", "legacy rows", "imported", "quarantined", "missing", "differing", "checksums"],
            rightAligned: [1, 2, 3, 4, 5])
        for row in report.tables {
            let same = row.sourceChecksum == row.destinationChecksum
            table.rows.append([
                "\(row.source) → \(row.target)", "\(row.sourceRows)", "\(row.imported)", "\(row.quarantined)",
                "\(row.missing)", "\(row.mismatched + row.quarantineMismatched)", same ? "match" : "DIFFER",
            ])
        }
        var lines = ["verifying \(report.source) against the registry", table.render()]
        let schema = report.pendingMigrations.isEmpty
            ? "schema current" : "schema migrations not applied: " + report.pendingMigrations.joined(separator: ", ")
        lines.append(
            schema + "; orphaned worktrees \(report.orphanedWorktrees), orphaned activities \(report.orphanedActivities), "
                + "shared active remotes \(report.duplicateActiveRemotes), shared active paths \(report.duplicateActivePaths)")
        if report.isConsistent {
            lines.append("OK: every legacy row is imported or quarantined, unchanged")
        } else {
            lines += report.differences.map { "DIFFERENCE: \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}

/// `imi-sync migrate rollback --yes`: runs migrations/rollback.sql.
struct MigrateRollback: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Remove every registry table, view and function from PostgreSQL (migrations/rollback.sql).",
        discussion: """
            All registry data in PostgreSQL is deleted. The legacy SQLite file is not touched; \
            run `imi-sync migrate export-sqlite` first to keep rows created since the migration.
            """)

    @ParentCommand var migrate: Migrate

    @Flag(name: .long, help: "Confirm that the registry's data in PostgreSQL is to be deleted.")
    var yes = false

    func validate() throws {
        guard yes else {
            throw ValidationError(
                "rollback deletes every registry table and its data from PostgreSQL; pass --yes to confirm")
        }
    }

    func run() throws {
        _ = migrate.global.makeLogger()
        let connection = try migrate.global.openRegistry(checkingSchema: false).connection
        try SchemaMigrator(connection: connection).rollback()
        print("removed the registry schema from \(connection.settings.redactedDescription)")
    }
}
