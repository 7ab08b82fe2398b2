import ArgumentParser
import Foundation
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

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("The SQLite file to create.", valueName: "path"))
    var to: String

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    func run() throws {
        _ = global.makeLogger()
        let report: LegacyExporter.Report
        do {
            report = try LegacyExporter(connection: try global.connect()).export(to: to)
        } catch {
            throw ExitStatus.report(error)
        }
        if json {
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
