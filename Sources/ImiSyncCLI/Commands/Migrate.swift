import LinuxPlatform
import ArgumentParser
import Foundation
import PostgresClient
import LegacyMigration
import RegistryClient
import Synchronization
import SyncConfiguration
import WorktreeMembership

/// `imi-sync migrate`: applies the registry schema, then imports the legacy SQLite registry.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the registry schema and import the legacy SQLite registry.",
        discussion: """
            Pending files from migrations/ (embedded in this binary) are applied in order, each \
            in its own transaction, under an advisory lock; versions and checksums are recorded \
            in imi_schema_migrations. A changed, already-applied file is refused.

            Then the legacy registry (--from, default [database.fallback] path in config.toml, else $XDG_DATA_HOME/imi/database.db or iMi's ~/.config/iMi/iMi.db, whichever exists) is opened \
            read-only and imported in one transaction: repositories, worktree types, worktrees \
            and agent activities. Running it again imports only rows not imported before and \
            never overwrites. Rows that cannot be imported as they are go to the \
            legacy_quarantine table; the report lists them with reasons.
            """,
        subcommands: [
            MigrateVerify.self, MigrateRollback.self, MigrateExportSQLite.self, MigrateArchive.self,
        ])

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("The legacy SQLite registry.", valueName: "path"))
    var from: String?

    @Flag(name: .long, help: "Import, report, then roll back: nothing is written.")
    var dryRun = false

    @Flag(name: .long, help: "Fail (writing nothing) when any row would be quarantined.")
    var strict = false

    @Flag(name: .long, help: "Only apply the schema; do not import a legacy SQLite registry.")
    var schemaOnly = false

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    func validate() throws {
        if schemaOnly && (from != nil || dryRun || strict) {
            throw ValidationError("--schema-only cannot be combined with --from, --dry-run or --strict")
        }
    }

    func run() throws {
        _ = global.makeLogger()
        let schema: SchemaMigrator.Report
        var report: LegacyImportReport?
        // The legacy file is checked first: bad input leaves the database untouched.
        let legacy = schemaOnly ? nil : try LegacyRegistry(path: legacyPath)
        let config = try global.resolvedConfig()
        let connection = try Registry.open(config.connectionSettings, checkingSchema: false).connection
        schema = try SchemaMigrator(connection: connection).migrate()
        if let legacy {
            // The legacy file's worktrees live on this machine: they become this host's.
            let hostID = try HostScope(name: config.hostName.value).register(on: Registry(connection: connection))
            let progress = standardErrorIsTerminal ? ProgressLine() : nil
            defer { progress?.clear() }
            var handler: (@Sendable (LegacyImporter.Progress) -> Void)?
            if let progress {
                handler = { @Sendable phase in progress.show(phase) }
            }
            report = try LegacyImporter(connection: connection, legacy: legacy).run(
                .init(dryRun: dryRun, strict: strict, hostID: hostID), progress: handler)
        }
        if json {
            print(MigrateOutput.json(schema: schema, report: report))
        } else {
            print(MigrateOutput.schemaText(schema))
            if let report { print(MigrateOutput.table(report)) }
        }
    }

    /// `--from`, else `[database.fallback] path` in config.toml, else the first default
    /// location that exists (`$XDG_DATA_HOME/imi/database.db`, then `~/.config/iMi/iMi.db`).
    var legacyPath: String {
        if let from { return from }
        return (try? global.resolvedConfig().legacyPath.value)
            ?? ResolvedConfig.defaultLegacyRegistry(environment: ProcessInfo.processInfo.environment).value
    }
}

/// One self-overwriting status line on standard error, for terminals only.
final class ProgressLine: Sendable {
    private let lastShown = Mutex(ContinuousClock.now - .seconds(1))

    func show(_ progress: LegacyImporter.Progress) {
        lastShown.withLock { lastShown in
            let now = ContinuousClock.now
            let text: String
            switch progress {
            case .reading(let table, let rows):
                guard now - lastShown > .milliseconds(100) else { return }
                text = "reading \(table): \(rows) rows"
            case .importing(let table):
                text = "importing \(table)…"
            }
            lastShown = now
            FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
        }
    }

    func clear() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
