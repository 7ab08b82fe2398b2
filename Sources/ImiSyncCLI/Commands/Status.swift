import ArgumentParser
import Foundation
import PostgresClient
import RegistryClient
import RegistryDocuments

/// `imi-sync status`: in-flight work from `v_inflight_work`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show in-flight work: worktrees that are not clean.",
        discussion: "Reads v_inflight_work; with --json prints one document.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only this project (by name).")
    var project: String?

    @Flag(name: .long, help: "List merged worktrees instead: candidates for removal.")
    var merged = false

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func run() throws {
        _ = global.makeLogger()
        let registry = try global.openRegistry()
        if merged {
            return try showMerged(registry.mergedWorktrees(project: project))
        }
        let work = try registry.inflightWork(projectName: project)
        if json {
            print(JSONOutput.render(["inflight": work.map(InflightDocument.Row.init)], keysAreSnakeCase: true))
            return
        }
        guard !work.isEmpty else {
            print("no in-flight work: every synced worktree is clean")
            return
        }
        var table = TextTable(
            headers: ["PROJECT", "WORKTREE", "HOST", "STATUS", "UNCOMMITTED", "AHEAD", "BEHIND", "AGENT", "SYNCED"],
            rightAligned: [4, 5, 6])
        let now = Date()
        table.rows = work.map { item in
            let host: String = (item.host?.displayQuoted ?? "-") + (item.stale == true ? " (stale)" : "")
            let counts: [String] = [item.uncommittedFilesCount, item.aheadOfTrunk, item.behindTrunk].map { $0.map(String.init) ?? "-" }
            let names: [String] = [item.projectName.displayQuoted, item.worktreeName.displayQuoted, host, item.status.displayQuoted]
            return names + counts + [item.agentID?.displayQuoted ?? "-", age(sinceEpoch: item.lastSyncAt, now: now)]
        }
        print(table.render())
    }

    /// Merged worktrees: path, host, how long ago, the merge commit. Removing them is the
    /// user's call; `maintain --prune-merged-days` only deactivates rows whose directory is gone.
    private func showMerged(_ merged: [MergedWorktree]) {
        if json {
            print(JSONOutput.render(["merged": merged.map(InflightDocument.Merged.init)]))
            return
        }
        guard !merged.isEmpty else {
            print("no merged worktrees")
            return
        }
        var table = TextTable(headers: ["PROJECT", "WORKTREE", "HOST", "MERGED", "COMMIT", "PATH"])
        let now = Date()
        table.rows = merged.map { item in
            let host: String = (item.host?.displayQuoted ?? "-") + (item.stale == true ? " (stale)" : "")
            let dirty = (item.uncommittedFilesCount ?? 0) > 0 ? ", uncommitted changes" : ""
            return [
                item.projectName.displayQuoted, item.worktreeName.displayQuoted, host,
                age(sinceEpoch: item.mergedAt.timeIntervalSince1970, now: now) + dirty,
                item.mergeCommitHash.map { String($0.prefix(12)) } ?? "-", item.path.displayQuoted,
            ]
        }
        print(table.render())
    }
}
