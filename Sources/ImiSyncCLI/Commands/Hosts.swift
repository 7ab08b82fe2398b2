import ArgumentParser
import Foundation
import PostgresClient
import RegistryClient
import RegistryDocuments

/// `imi-sync hosts`: the machines sharing the registry.
struct Hosts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "List the hosts sharing the registry: agent version, last seen, worktrees.",
        discussion: """
            A host is stale when its agent missed three heartbeats (heartbeat_seconds on its row, \
            set by `imi-sync run`); its rows may then be out of date.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print one JSON document instead of a table.")
    var json = false

    struct Row: Encodable {
        var id: String
        var name: String
        @NullWhenAbsent var agentVersion: String?
        var heartbeatSeconds: Int
        @NullWhenAbsent var startedAt: Date?
        @NullWhenAbsent var lastSeenAt: Date?
        var stale: Bool
        var activeWorktrees: Int
        var inflightWorktrees: Int
        var current: Bool

        init(_ host: HostRecord, current: String) {
            id = host.id
            name = host.name
            agentVersion = host.agentVersion
            heartbeatSeconds = host.heartbeatSeconds
            startedAt = host.startedAt
            lastSeenAt = host.lastSeenAt
            stale = host.stale
            activeWorktrees = host.activeWorktrees
            inflightWorktrees = host.inflightWorktrees
            self.current = host.name == current
        }
    }

    func run() throws {
        _ = global.makeLogger()
        let config = try global.resolvedConfig()
        let hosts = try Registry.open(config.connectionSettings).hosts()
        let rows = hosts.map { Row($0, current: config.hostName.value) }
        if json {
            print(JSONOutput.render(["hosts": rows]))
            return
        }
        guard !hosts.isEmpty else {
            print("no hosts yet: `imi-sync once`, `scan` or `run` registers this one (\(config.hostName.value.displayQuoted))")
            return
        }
        var table = TextTable(
            headers: ["HOST", "AGENT", "LAST SEEN", "WORKTREES", "IN FLIGHT"], rightAligned: [3, 4])
        let now = Date()
        table.rows = rows.map { row in
            [
                row.name.displayQuoted + (row.current ? " (this host)" : ""), row.agentVersion?.displayQuoted ?? "-",
                age(sinceEpoch: row.lastSeenAt?.timeIntervalSince1970, now: now) + (row.stale ? ", stale" : ""),
                String(row.activeWorktrees), String(row.inflightWorktrees),
            ]
        }
        print(table.render())
    }
}
