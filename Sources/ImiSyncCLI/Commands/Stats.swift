import ArgumentParser
import Foundation
import PostgresClient
import RegistryClient
import RegistryDocuments

/// `imi-sync stats`: registry counts and in-flight figures, from `get_registry_stats()`.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show registry counts and in-flight figures.",
        discussion: """
            The JSON keys include the plan's `imi stats --json` counts (repositories, worktrees, \
            worktree_types), the hosts sharing the registry and how many are stale (their agent \
            missed three heartbeats).
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document instead of text.")
    var json = false

    /// The plan's `imi stats --json` keys plus in-flight figures.
    struct Document: Encodable {
        var repositories: Int
        var projectsTotal: Int
        var worktrees: Int
        var worktreesTotal: Int
        var worktreeTypes: Int
        var activities: Int
        var uncommitted: Int
        var ahead: Int
        var behind: Int
        var diverged: Int
        var neverSynced: Int
        @NullWhenAbsent var lastSyncAt: Date?
        var staleHosts: Int
        /// Per host: its active and in-flight worktrees, and whether its agent is stale.
        var hosts: [Host]

        struct Host: Encodable {
            var name: String
            var worktrees: Int
            var inflight: Int
            var stale: Bool
        }

        init(_ stats: RegistryStats, hosts: [HostRecord]) {
            self.hosts = hosts.map { Host(name: $0.name, worktrees: $0.activeWorktrees, inflight: $0.inflightWorktrees, stale: $0.stale) }
            staleHosts = hosts.count { $0.stale }
            repositories = stats.activeProjects
            projectsTotal = stats.totalProjects
            worktrees = stats.activeWorktrees
            worktreesTotal = stats.totalWorktrees
            worktreeTypes = stats.worktreeTypes
            activities = stats.totalActivities
            uncommitted = stats.uncommittedWorktrees
            ahead = stats.aheadWorktrees
            behind = stats.behindWorktrees
            diverged = stats.divergedWorktrees
            neverSynced = stats.neverSyncedWorktrees
            lastSyncAt = stats.lastSyncAt.map { Date(timeIntervalSince1970: $0) }
        }
    }

    func run() throws {
        _ = global.makeLogger()
        let stats: RegistryStats
        let registry = try global.openRegistry()
        stats = try registry.stats()
        let hosts = try registry.hosts()
        if json {
            print(JSONOutput.render(Document(stats, hosts: hosts)))
            return
        }
        var table = TextTable(headers: ["", "COUNT"], rightAligned: [1])
        table.rows = [
            ["projects (active / all)", "\(stats.activeProjects) / \(stats.totalProjects)"],
            ["worktrees (active / all)", "\(stats.activeWorktrees) / \(stats.totalWorktrees)"],
            ["worktree types", "\(stats.worktreeTypes)"],
            ["agent activities", "\(stats.totalActivities)"],
            ["with uncommitted changes", "\(stats.uncommittedWorktrees)"],
            ["ahead of trunk", "\(stats.aheadWorktrees)"],
            ["behind trunk", "\(stats.behindWorktrees)"],
            ["diverged", "\(stats.divergedWorktrees)"],
            ["never synced", "\(stats.neverSyncedWorktrees)"],
            ["last sync", age(sinceEpoch: stats.lastSyncAt)],
            ["hosts (stale)", "\(hosts.count) (\(hosts.count { $0.stale }))"],
        ]
        for host in hosts {
            table.rows.append([
                "  \(host.name.displayQuoted)\(host.stale ? " (stale)" : "")",
                "\(host.activeWorktrees) worktrees, \(host.inflightWorktrees) in flight",
            ])
        }
        print(table.render())
    }
}
