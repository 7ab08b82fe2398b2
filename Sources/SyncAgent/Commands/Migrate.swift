import ArgumentParser
import RegistryClient

/// `imi-sync migrate`: applies the registry schema (and, later, imports a legacy registry).
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the registry schema to PostgreSQL.",
        discussion: """
            Pending files from migrations/ (embedded in this binary) are applied in order, each \
            in its own transaction, under an advisory lock; versions and checksums are recorded \
            in imi_schema_migrations. Running it again is a no-op; a changed, already-applied \
            file is refused.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Only apply the schema; do not import a legacy SQLite registry.")
    var schemaOnly = false

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    func run() throws {
        _ = global.makeLogger()
        let report: SchemaMigrator.Report
        do {
            report = try SchemaMigrator(connection: try global.connect()).migrate()
        } catch {
            throw ExitStatus.report(error)
        }
        if json {
            print(#"{"applied":\#(jsonArray(report.applied)),"already_applied":\#(jsonArray(report.alreadyApplied))}"#)
        } else if report.applied.isEmpty {
            print("schema is up to date (\(report.alreadyApplied.count) migrations applied earlier)")
        } else {
            for name in report.applied { print("applied \(name)") }
        }
    }

    private func jsonArray(_ names: [String]) -> String {
        "[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }
}
