import ArgumentParser
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import WorktreeMembership

/// `imi-sync scan`: make the registry's projects and worktrees match the disk.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Find the repositories and worktrees under the roots and register them.",
        discussion: """
            Roots: the arguments, else [registry] roots in config.toml, else IMI_SYSTEM_PATHS \
            (':' or ';' separated), else ~/code. Directories holding .git are read with libgit2 \
            (a linked worktree counts when it and git's record of it name each other, and is newly \
            registered only below a root); hidden and git-ignored \
            directories, .git and symbolic links are not descended, nor is anything deeper than \
            [registry] scan_depth (default 6).

            A repository is a project, identified by its origin URL (else its main clone's \
            path). A worktree's type is the one whose worktree_prefix starts its directory name \
            (the main clone is trunk; no prefix: feat). A worktree that moved keeps its row; one \
            of this host gone from disk and from git is deactivated, never deleted; one git still \
            lists without its directory (prunable) is reported missing. Only this host's rows \
            (--host) are read or written; nothing is ever written into a repository.

            Exit status: 0 when the scan ran (skipped directories are listed, not errors), 1 \
            when a root does not exist.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Directories to scan instead of the configured roots.", valueName: "root"))
    var roots: [String] = []

    @Flag(name: .long, help: "Report what would change without writing to the registry.")
    var dryRun = false

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func run() throws {
        let logger = global.makeLogger()
        GitLibrary.initialize()
        let config = try global.resolvedConfig()
        let scan = MembershipScan(
            connecting: { try Registry.open(config.connectionSettings, checkingSchema: false).connection },
            logger: logger, host: HostScope(name: config.hostName.value), depthLimit: config.scanDepth.value, dryRun: dryRun)
        let report = try scan.run(roots: MembershipScan.canonical(roots.isEmpty ? config.roots.value : roots))
        print(json ? ScanOutput.json(report) : ScanOutput.table(report))
        if report.skipped.contains(where: { $0.reason == .missingRoot }) { throw ExitStatus.problemsReported }
    }
}
