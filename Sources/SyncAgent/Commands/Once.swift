import ArgumentParser
import Foundation
import GitProbe
import PostgresClient
import RegistryClient

/// `imi-sync once`: a manual refresh of every active worktree's git state.
struct Once: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read every active worktree's git state and write it to the registry.",
        discussion: """
            Worktrees are read in parallel with libgit2 (never by running git) and written in \
            batched, parameterized statements. A worktree that is missing or broken is \
            reported with its reason and keeps its stored state; the run still exits 0.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func run() throws {
        let logger = global.makeLogger()
        GitLibrary.initialize()
        let config = try global.resolvedConfig()
        let connection = try PostgresConnection(settings: config.connectionSettings)
        let report = try OnceSync(
            connection: connection, logger: logger, host: HostScope(name: config.hostName.value),
            legacyPath: config.legacyPath.value).run()
        print(json ? OnceOutput.json(report) : OnceOutput.table(report))
    }
}
