import ArgumentParser
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import SyncAgent
import WorktreeMembership

/// `imi-sync once`: a manual refresh of every active worktree's git state.
struct Once: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "once",
        abstract: "Read every active worktree's git state and write it to the registry.",
        discussion: """
            Worktrees are read in parallel with libgit2 (never by running git) and written in \
            batched, parameterized statements. A worktree that is missing or broken is \
            reported with its reason and keeps its stored state; the run still exits 0. \
            Only rows whose state changed are rewritten (and listeners told, NOTIFY \
            imi_worktree_state); the others get last_sync_at. A state the registry refuses \
            (a revoked grant, row-level security, a read-only database) is reported and the \
            exit code is 1.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func run() throws {
        let logger = global.makeLogger()
        // libgit2's start-up (it parses the system's CA certificates, ~10 ms) runs while the
        // registry connection is made; it is over before anything reads a repository.
        let gitReady = DispatchGroup()
        DispatchQueue.global().async(group: gitReady) { GitLibrary.initialize() }
        let config = try global.resolvedConfig()
        // The schema is checked by OnceSync, after the first-run legacy import that may create it.
        let connection = try Registry.open(config.connectionSettings, checkingSchema: false).connection
        gitReady.wait()
        let report = try OnceSync(
            connection: connection, logger: logger, host: HostScope(name: config.hostName.value),
            legacyPath: config.legacyPath.value).run()
        print(json ? OnceOutput.json(report) : OnceOutput.table(report))
        // A state the registry refused is not in it: say so in the exit code too.
        if !report.refused.isEmpty { throw ExitStatus.problemsReported }
    }
}
