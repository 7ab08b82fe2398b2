import ArgumentParser
import Foundation
import PostgresClient
import LegacyMigration
import RegistryClient

/// `imi-sync migrate export-sqlite --to PATH`: the registry as a legacy SQLite file.
struct MigrateExportSQLite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-sqlite",
        abstract: "Write what PostgreSQL holds now as a legacy-format SQLite registry.",
        discussion: """
            For the plan's full rollback: rows created after the migration are included, and \
            legacy ids and activity types kept in metadata are written back. PATH must not exist.
            """)

    /// `--json` and the connection options are `migrate`'s own.
    @ParentCommand var migrate: Migrate

    @Option(name: .long, help: ArgumentHelp("The SQLite file to create.", valueName: "path"))
    var to: String

    func run() throws {
        _ = migrate.global.makeLogger()
        let report: LegacyExporter.Report
        report = try LegacyExporter(connection: try migrate.global.openRegistry(checkingSchema: false).connection).export(to: to)
        if migrate.json {
            print(MigrateOutput.encode(report))
            return
        }
        print("wrote \(report.path)")
        for (table, count) in report.written.sorted(by: { $0.key < $1.key }) {
            let skipped = report.skipped[table].map {
                ", \($0) left out: the legacy format needs unique names" } ?? ""
            print("  \(table): \(count) rows\(skipped)")
        }
    }
}
