import ArgumentParser
import Foundation
import PostgresClient
import RegistryClient
import RegistryDocuments

/// `imi-sync status`: in-flight work from `v_inflight_work`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show in-flight work: worktrees that are not clean.",
        discussion: "Reads v_inflight_work; with --json prints one document.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only this project (by name).")
    var project: String?

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    struct Row: Encodable {
        var worktreeId: String
        var project: String
        var worktree: String
        var branch: String
        var path: String
        @NullWhenAbsent var agentId: String?
        var status: String
        @NullWhenAbsent var uncommittedFilesCount: Int?
        @NullWhenAbsent var aheadOfTrunk: Int?
        @NullWhenAbsent var behindTrunk: Int?
        @NullWhenAbsent var lastCommitHash: String?
        @NullWhenAbsent var lastCommitMessage: String?
        @NullWhenAbsent var lastSyncAt: Date?
        @NullWhenAbsent var host: String?
        @NullWhenAbsent var stale: Bool?

        init(_ work: InflightWorktree) {
            worktreeId = work.worktreeID
            project = work.projectName
            worktree = work.worktreeName
            branch = work.branchName
            path = work.path
            agentId = work.agentID
            status = work.status
            uncommittedFilesCount = work.uncommittedFilesCount
            aheadOfTrunk = work.aheadOfTrunk
            behindTrunk = work.behindTrunk
            lastCommitHash = work.lastCommitHash
            lastCommitMessage = work.lastCommitMessage
            lastSyncAt = work.lastSyncAt.map { Date(timeIntervalSince1970: $0) }
            host = work.host
            stale = work.stale
        }

        // Spelled out: converting thousands of keys to snake_case at run time is slow.
        enum CodingKeys: String, CodingKey {
            case project, worktree, branch, path, status, host, stale
            case worktreeId = "worktree_id", agentId = "agent_id"
            case uncommittedFilesCount = "uncommitted_files_count", aheadOfTrunk = "ahead_of_trunk"
            case behindTrunk = "behind_trunk", lastCommitHash = "last_commit_hash"
            case lastCommitMessage = "last_commit_message", lastSyncAt = "last_sync_at"
        }
    }

    func run() throws {
        _ = global.makeLogger()
        let work: [InflightWorktree]
        work = try global.openRegistry().inflightWork(projectName: project)
        if json {
            print(JSONOutput.render(["inflight": work.map(Row.init)], keysAreSnakeCase: true))
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
}
