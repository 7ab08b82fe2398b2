import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import OverlapForecast
import WorktreeMembership
import WorktreeProbing

/// One manual refresh: read every active worktree with libgit2, write what was read.
package struct OnceSync {
    /// What one refresh did.
    package struct Report: Sendable {
        package var outcomes: [ProbeOutcome]
        /// Rows written: those whose state changed, and those whose `last_sync_at` alone was
        /// stamped (their state was current).
        package var rowsWritten: Int
        /// Of those, the rows whose state changed (listeners were told of them).
        package var rowsChanged = 0
        /// States the registry refused, by worktree id (kept as they were; exit 1).
        package var refused: [String: WriteRefusal] = [:]
        package var elapsed: Duration
        /// The overlap forecast that followed.
        package var forecast = OverlapForecaster.Report()

        package var failures: [ProbeOutcome] { outcomes.filter { $0.failure != nil } }

        package init(
            outcomes: [ProbeOutcome], rowsWritten: Int, rowsChanged: Int = 0, refused: [String: WriteRefusal] = [:],
            elapsed: Duration, forecast: OverlapForecaster.Report = .init()
        ) {
            self.outcomes = outcomes
            self.rowsWritten = rowsWritten
            self.rowsChanged = rowsChanged
            self.refused = refused
            self.elapsed = elapsed
            self.forecast = forecast
        }
    }

    package var connection: PostgresConnection
    package var prober = WorktreeProber()
    package var logger: Logger
    /// This machine: only its worktrees (and those no host has adopted yet) are read.
    package var host: HostScope
    /// The legacy registry to import first when the PostgreSQL registry is empty; `nil`: never.
    package var legacyPath: String?

    package func run() throws -> Report {
        let clock = ContinuousClock()
        let start = clock.now
        if let legacyPath {
            try LegacyBootstrap(connection: connection, logger: logger, legacyPath: legacyPath, host: host).runIfNeeded()
        }
        try SchemaMigrator(connection: connection).requireSchema()
        let registry = Registry(connection: connection)
        let hostID = try host.register(on: registry)
        let (worktrees, adopted) = try host.worktrees(on: registry, hostID: hostID)
        logger.info(
            "probing worktrees", metadata: ["worktrees.count": "\(worktrees.count)", "adopted.count": "\(adopted)"])
        var prober = prober
        prober.scansForForecast = true
        let probing = clock.now
        let outcomes = prober.probeAll(worktrees)
        let probed = clock.now
        for outcome in outcomes {
            if let failure = outcome.failure {
                // The report lists failures for people; the log line is for `run`'s journal.
                logger.info(
                    "cannot read worktree; its stored state is kept",
                    metadata: ["worktree.id": "\(outcome.worktree.id)", "error": "\(failure)"])
            }
        }
        // The one write path for git state (as run's and the mcp refresh's): only changed
        // rows, NOTIFY imi_worktree_state for them, refusals reported per row; the rows
        // whose state was current get their last_sync_at.
        let updates = outcomes.compactMap(\.update)
        let write = try registry.writeChanged(updates)
        let changed = Set(write.changed)
        let current = updates.map(\.worktreeID).filter { !changed.contains($0) && write.refused[$0] == nil }
        // A stamp says "current at this time": the next pass writes it again, so it does not
        // wait for the WAL flush.
        let stamped = try connection.transaction(Registry.derivedWrite) { try registry.stampSynced(current, at: Date()) }
        // A worktree that could not be read keeps its stored change set, marked stale: its
        // overlaps are no longer known to be current.
        try registry.markChangeSetsStale(outcomes.compactMap { outcome in
            outcome.failure.map { StaleChangeSet(worktreeID: outcome.worktree.id, reason: $0.description) }
        })
        let targets = outcomes.compactMap { outcome in
            outcome.state.map { _ in
                OverlapForecaster.Target(worktree: outcome.worktree, inFlight: outcome.isInFlight, scan: outcome.scan)
            }
        }
        let written = clock.now
        let forecast = try OverlapForecaster(logger: logger).forecast(targets, local: worktrees, registry: registry)
        logger.debug("once", metadata: OverlapForecaster.timings([
            ("start", start), ("setup", probing), ("probes", probed), ("writes", written), ("forecast", clock.now),
        ]))
        return Report(
            outcomes: outcomes, rowsWritten: write.changed.count + stamped, rowsChanged: write.changed.count,
            refused: write.refused, elapsed: clock.now - start, forecast: forecast)
    }

    package init(
        connection: PostgresConnection, prober: WorktreeProber = WorktreeProber(), logger: Logger, host: HostScope,
        legacyPath: String? = nil
    ) {
        self.connection = connection
        self.prober = prober
        self.logger = logger
        self.host = host
        self.legacyPath = legacyPath
    }
}
