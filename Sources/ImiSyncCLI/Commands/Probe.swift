import LinuxPlatform
import ArgumentParser
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import RegistryDocuments
import SyncAgent
import WorktreeProbing

/// `imi-sync probe PATH…`: read worktrees' git state without touching any database.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Print the git state of worktree directories (no database needed).",
        discussion: """
            Shows exactly what `once` and `run` would write for these paths. Paths are read \
            in parallel; a path that cannot be read (or whose probe blocks, e.g. on a FIFO \
            named .gitignore) is reported and the exit code is 1.
            """)

    @Argument(help: "Worktree directories.", completion: .directory)
    var paths: [String]

    @Option(name: .long, help: "The project's default branch, the trunk fallback when origin/HEAD is not set.")
    var defaultBranch = "main"

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func run() throws {
        GitLibrary.initialize()
        let prober = WorktreeProber()
        let outcomes = prober.probeAll(
            paths.map { RegisteredWorktree(id: "", projectName: "", name: $0, path: $0, defaultBranch: defaultBranch) })
        let report = OnceSync.Report(outcomes: outcomes, rowsWritten: 0, elapsed: .zero)
        if json {
            print(OnceOutput.json(report))
        } else {
            var table = TextTable(
                headers: ["PATH", "STATUS", "UNCOMMITTED", "AHEAD", "BEHIND", "HEAD"],
                rightAligned: [2, 3, 4])
            for outcome in outcomes {
                let state = outcome.state
                table.rows.append([
                    outcome.worktree.path, outcome.status,
                    state.map { String($0.uncommittedFilesCount) } ?? "-",
                    state.flatMap(\.aheadOfTrunk).map(String.init) ?? "-",
                    state.flatMap(\.behindTrunk).map(String.init) ?? "-",
                    state.flatMap(\.lastCommitHash).map { String($0.prefix(12)) } ?? "-",
                ])
            }
            print(table.render())
            for outcome in outcomes { if let failure = outcome.failure { printError("imi-sync: \(failure)") } }
        }
        if outcomes.contains(where: { $0.failure != nil }) { throw ExitStatus.problemsReported }
    }
}
