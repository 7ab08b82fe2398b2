import ArgumentParser
import Foundation
import PostgresClient
import LegacyMigration
import RegistryClient

/// `imi-sync migrate archive [--to DIR]`: the plan's Phase 7.
struct MigrateArchive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Archive the legacy SQLite registry: consistent copy, CSVs, README, tar.gz.",
        discussion: """
            DIR (default ~/backups/imi-migration-YYYYMMDD) receives database.db (SQLite's backup \
            API: consistent even while the old CLI has the file open), one CSV per legacy table \
            and a README with date, versions and counts; DIR.tar.gz is then written and read \
            back to check it. The legacy file itself is only read.
            """)

    /// `--from`, `--json` and the connection options are `migrate`'s own.
    @ParentCommand var migrate: Migrate

    @Option(name: .long, help: ArgumentHelp("The archive directory to create.", valueName: "dir"))
    var to: String?

    func run() throws {
        let logger = migrate.global.makeLogger()
        let environment = ProcessInfo.processInfo.environment
        let report: LegacyArchiver.Report
        var connection: PostgresConnection?
        do {
            connection = try migrate.global.openRegistry(checkingSchema: false).connection
        } catch {
            logger.notice("archiving without registry counts", metadata: ["error": "\(error)"])
        }
        let archiver = LegacyArchiver(
            legacyPath: migrate.legacyPath, connection: connection)
        report = try archiver.archive(to: to ?? LegacyArchiver.defaultDirectory(environment: environment))
        if migrate.json {
            print(MigrateOutput.encode(report))
        } else {
            print("archived into \(report.directory): \(report.files.joined(separator: ", "))")
            print("wrote \(report.archive) and read it back: \(report.verified ? "verified" : "NOT verified")")
        }
    }
}
