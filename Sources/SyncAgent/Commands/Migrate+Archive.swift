import ArgumentParser
import Foundation
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

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("The legacy SQLite registry.", valueName: "path"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("The archive directory to create.", valueName: "dir"))
    var to: String?

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    func run() throws {
        let logger = global.makeLogger()
        let environment = ProcessInfo.processInfo.environment
        let report: LegacyArchiver.Report
        do {
            var connection: PostgresConnection?
            do {
                connection = try global.connect()
            } catch {
                logger.notice("archiving without registry counts", metadata: ["error": "\(error)"])
            }
            let archiver = LegacyArchiver(
                legacyPath: from ?? LegacyRegistry.defaultPath(environment: environment), connection: connection)
            report = try archiver.archive(to: to ?? LegacyArchiver.defaultDirectory(environment: environment))
        } catch {
            throw ExitStatus.report(error)
        }
        if json {
            print(MigrateOutput.encode(report))
        } else {
            print("archived into \(report.directory): \(report.files.joined(separator: ", "))")
            print("wrote \(report.archive) and read it back: \(report.verified ? "verified" : "NOT verified")")
        }
    }
}
