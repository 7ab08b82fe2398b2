import Foundation
import PostgresClient
import LegacyMigration
import RegistryClient
import RegistryDocuments

/// Text and JSON renderings of what `migrate` did.
enum MigrateOutput {
    static func schemaText(_ report: SchemaMigrator.Report) -> String {
        if report.applied.isEmpty {
            return "schema is up to date (\(report.alreadyApplied.count) migrations applied earlier)"
        }
        return report.applied.map { "applied \($0)" }.joined(separator: "\n")
    }

    static func table(_ report: LegacyImportReport) -> String {
        var lines: [String] = []
        let outcome = report.dryRun
            ? "dry run, rolled back: nothing was written"
            : "committed in \(String(format: "%.2f", report.elapsedSeconds)) s"
        lines.append("legacy registry \(report.source) (\(outcome))")
        var table = TextTable(
            headers: ["table", "read", "imported", "already there", "repaired", "quarantined"],
            rightAligned: [1, 2, 3, 4, 5])
        for row in report.tables {
            let imported = row.derived > 0 ? "\(row.imported) (\(row.derived) derived)" : "\(row.imported)"
            table.rows.append([
                "\(row.source) → \(row.target)", "\(row.read)", imported, "\(row.alreadyPresent)",
                "\(row.repaired)", "\(row.quarantined)",
            ])
        }
        lines.append(table.render())
        let repairs = report.tables.flatMap { row in row.repairs.map { (row.source, $0) } }
        if !repairs.isEmpty {
            lines.append("repairs:")
            lines += repairs.map { "  \($0.0): \($0.1.reason) (\($0.1.count))" }
        }
        let quarantined = report.tables.flatMap { row in row.quarantineReasons.map { (row.source, $0) } }
        if !quarantined.isEmpty {
            lines.append("quarantined (rows kept in table legacy_quarantine):")
            lines += quarantined.map { "  \($0.0): \($0.1.reason) (\($0.1.count))" }
        }
        return lines.joined(separator: "\n")
    }

    struct Document: Encodable {
        var applied: [String]
        var alreadyApplied: [String]
        var legacyImport: LegacyImportReport?
    }

    static func json(schema: SchemaMigrator.Report, report: LegacyImportReport?) -> String {
        encode(Document(applied: schema.applied, alreadyApplied: schema.alreadyApplied, legacyImport: report))
    }

    static func encode(_ value: some Encodable) -> String {
        JSONOutput.render(value)
    }
}
