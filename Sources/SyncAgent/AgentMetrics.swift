import Foundation
import Prometheus
import Synchronization

/// What `run` shows at `/metrics` (`[agent] metrics_listen`), in Prometheus' text format:
/// the edit → row latency as a histogram, and the agent's counters and gauges, read from its
/// statistics at each scrape (a counter grows by what the statistics grew since the last one).
package final class AgentMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let editToRow: DurationHistogram
    private let counters: [(Counter, @Sendable (AgentStatus.Statistics) -> Int)]
    private let gauges: [(Gauge, @Sendable (AgentStatus.Statistics) -> Double)]
    /// What each counter was raised to at the last scrape.
    private let exported = Mutex<[Int]>([])

    package init() {
        editToRow = registry.makeDurationHistogram(
            name: "imi_sync_edit_to_row_seconds",
            buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000].map { .milliseconds($0) },
            help: "From the first file event of a burst to the commit of the row it changed")
        let registry = self.registry
        func counter(_ name: String, _ help: String, labels: [(String, String)] = [], _ read: @escaping @Sendable (AgentStatus.Statistics) -> Int)
            -> (Counter, @Sendable (AgentStatus.Statistics) -> Int)
        {
            (registry.makeCounter(name: name, labels: labels, help: help), read)
        }
        counters = [
            counter("imi_sync_probes_total", "Worktree probes by kind", labels: [("kind", "full")]) { $0.probes - $0.pathProbes },
            counter("imi_sync_probes_total", "Worktree probes by kind", labels: [("kind", "path")]) { $0.pathProbes },
            counter("imi_sync_writes_total", "Batched writes of git states") { $0.flushes },
            counter("imi_sync_rows_written_total", "Rows whose git state changed") { $0.rowsWritten },
            counter("imi_sync_refused_writes_total", "Writes in which the registry refused a state") { $0.refusedFlushes },
            counter("imi_sync_reconnects_total", "Connection attempts after the first") { max(0, $0.connectAttempts - 1) },
            counter("imi_sync_inotify_overflows_total", "Kernel queue overflows (each a full rescan)") { $0.overflows },
            counter("imi_sync_heartbeats_total", "Heartbeats that refreshed last_sync_at") { $0.heartbeats },
            counter("imi_sync_forecast_passes_total", "Overlap forecast passes") { $0.forecastPasses },
            counter("imi_sync_pairs_merged_total", "Pairs of working states merged in memory") { $0.pairsMerged },
        ]
        func gauge(_ name: String, _ help: String, _ read: @escaping @Sendable (AgentStatus.Statistics) -> Double)
            -> (Gauge, @Sendable (AgentStatus.Statistics) -> Double)
        {
            (registry.makeGauge(name: name, help: help), read)
        }
        gauges = [
            gauge("imi_sync_watches", "inotify watches held") { Double($0.watches) },
            gauge("imi_sync_watched_worktrees", "Worktrees watched with inotify") { Double($0.watchedWorktrees) },
            gauge("imi_sync_polled_worktrees", "Worktrees polled (no watch left)") { Double($0.polledWorktrees) },
            gauge("imi_sync_dirty_worktrees", "Worktrees with changes not probed yet") { Double($0.dirtyWorktrees) },
            gauge("imi_sync_pending_states", "Probed states not written yet") { Double($0.pendingStates) },
            gauge("imi_sync_refused_states", "Pending states the registry refused") { Double($0.refusedStates) },
            gauge("imi_sync_blocked_worktrees", "Worktrees whose last probe was given up") { Double($0.blockedWorktrees) },
            gauge("imi_sync_database_up", "1 while the registry connection is up") { $0.databaseUp ? 1 : 0 },
            gauge("imi_sync_ready", "1 once the first full sync is done") { $0.ready ? 1 : 0 },
        ]
        exported.withLock { $0 = Array(repeating: 0, count: counters.count) }
    }

    /// A burst's first event reached the database `latency` later.
    package func observeEditToRow(_ latency: Duration) {
        editToRow.record(latency)
    }

    /// The text of one scrape for `statistics`.
    package func scrape(_ statistics: AgentStatus.Statistics) -> String {
        exported.withLock { exported in
            for (index, (counter, read)) in counters.enumerated() {
                let value = read(statistics)
                if value > exported[index] { counter.increment(by: Int64(value - exported[index])) }
                exported[index] = max(exported[index], value)
            }
        }
        for (gauge, read) in gauges { gauge.set(to: read(statistics)) }
        return registry.emitToString()
    }
}
