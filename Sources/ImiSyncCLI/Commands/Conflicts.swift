import ArgumentParser
import Foundation
import PostgresClient
import RegistryClient
import RegistryDocuments

/// `imi-sync conflicts`: the pairs of in-flight worktrees that change the same paths.
struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "List pairs of worktrees that change the same files, and whether merging them conflicts.",
        discussion: """
            Read from v_worktree_overlaps, which `once` and `run` keep: a worktree's change set is \
            what differs between merge-base(HEAD, trunk) and what `git add -A` would record; for two \
            worktrees of one project on the same host the two working states are merged in memory \
            (libgit2, nothing written to the repository). CONFLICT is "yes" or "no" from that merge, \
            "unknown" for worktrees on different hosts or not merged yet. Exit 0 with no conflict, \
            2 when any pair conflicts.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only this project.")
    var project: String?

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    func run() throws {
        _ = global.makeLogger()
        let rows = try global.openRegistry().overlaps(project: project)
        let pairs = OverlapDocument.pairs(rows)
        if json {
            print(JSONOutput.render(["pairs": pairs]))
        } else if pairs.isEmpty {
            print("no two active worktrees change the same file" + (project.map { " in \($0.displayQuoted)" } ?? ""))
        } else {
            var table = TextTable(headers: ["PROJECT", "WORKTREE A", "WORKTREE B", "PATH", "CONFLICT"])
            for pair in pairs {
                for path in pair.paths {
                    table.rows.append([
                        pair.project.displayQuoted, Self.label(pair.worktreeA), Self.label(pair.worktreeB),
                        path.path.displayQuoted,
                        path.conflict.map { $0 ? "yes" : "no" } ?? "unknown",
                    ])
                }
            }
            print(table.render())
            let conflicting = pairs.filter { $0.conflict == true }.count
            print("\n\(pairs.count) \(pairs.count == 1 ? "pair overlaps" : "pairs overlap"), \(conflicting) would conflict")
        }
        if pairs.contains(where: { $0.conflict == true }) { throw ExitCode(2) }
    }

    /// The worktree's name and its host, each quoted for display.
    static func label(_ side: OverlapDocument.Side) -> String {
        side.worktree.displayQuoted + (side.host.map { " (\($0.displayQuoted))" } ?? "")
            + (side.staleSince.map { " [stale since \(Self.timestamp($0))]" } ?? "")
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
    }

}
