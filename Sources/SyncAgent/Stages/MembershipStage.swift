import RegistryClient

/// Membership kept live: the passes of ``MembershipKeeper`` when the watcher says worktrees
/// or clones may have come, moved or gone; and, during the dual-run period, the imports of
/// ``LegacyFollower`` when the old CLI writes the legacy file. When either changed rows, the
/// agent follows the registry (`onRegistryChanged`).
package final class MembershipStage: AgentStage {
    private let context: AgentContext
    private let watch: WatchStage
    package let keeper: MembershipKeeper
    package private(set) var legacy: LegacyFollower?
    /// The rows changed: read this host's worktrees again.
    package var onRegistryChanged: (Duration) -> Void = { _ in }

    package init(context: AgentContext, watch: WatchStage) {
        self.context = context
        self.watch = watch
        keeper = MembershipKeeper(configuration: context.configuration.membership, logger: context.logger)
        legacy = context.configuration.followedLegacyRegistry.map { LegacyFollower(path: $0, logger: context.logger) }
    }

    /// Whether the first walk of the roots is done (or membership is off).
    package var walkedOnce: Bool { keeper.walkedOnce || !context.configuration.membership.enabled }

    package var nextDeadline: Duration? {
        guard context.session.isConnected else { return nil }
        return [keeper.nextDeadline, legacy?.nextDeadline].compactMap { $0 }.min()
    }

    package func schedule(_ trigger: MembershipTrigger, at now: Duration) {
        if trigger == .legacyRegistry { legacy?.schedule(at: now) } else { keeper.schedule(trigger, at: now) }
    }

    /// Everything may have changed while the agent was away (connected again).
    package func scheduleAll(at now: Duration) {
        keeper.schedule(.roots, at: now)
        legacy?.schedule(at: now)
    }

    package func runDue(at now: Duration) {
        if let due = legacy?.nextDeadline, now >= due { followLegacy(at: now) }
        if let due = keeper.nextDeadline, now >= due { keepMembership(at: now) }
    }

    package func forget(_ id: String) {}

    package func reload(_ configuration: AgentConfiguration, at now: Duration) {
        keeper.configuration = configuration.membership
        keeper.schedule(.roots, at: now)
        if configuration.followedLegacyRegistry != legacy?.path {
            legacy = configuration.followedLegacyRegistry.map { LegacyFollower(path: $0, logger: context.logger) }
            legacy?.schedule(at: now)
        }
    }

    package func report(into statistics: inout AgentStatus.Statistics) {
        statistics.membershipPasses = keeper.passes
        statistics.membershipChanges = keeper.changedRows
        statistics.legacyImports = legacy?.imports ?? 0
        statistics.legacyRowsImported = legacy?.importedRows ?? 0
    }

    /// Runs the membership passes due and follows the registry when they changed rows.
    private func keepMembership(at now: Duration) {
        let registered = context.worktrees.registered(Array(context.worktrees.worktrees.keys))
        let access = context.session.withRegistry(.membership, at: now) { registry, hostID in
            try keeper.runDue(at: now, registry: registry, hostID: hostID, registered: registered)
        }
        switch access {
        case .done(let changed):
            updateWatches()
            if changed { onRegistryChanged(now) }
        case .refused, .busy:
            // Walk again later, waiting longer after each refusal in a row.
            keeper.refused(at: now)
            updateWatches()
        case .notConnected, .lost:
            // Every pass is scheduled again when the session connects.
            updateWatches()
        }
    }

    /// Imports what the old iMi CLI added to the legacy registry (the dual-run period).
    private func followLegacy(at now: Duration) {
        guard let legacy else { return }
        let imported = context.session.withRegistry(.legacyImport, at: now) { registry, hostID in
            try legacy.runDue(at: now, connection: registry.connection, hostID: hostID)
        }
        updateWatches()
        if imported.value == true { onRegistryChanged(now) }
    }

    package func updateWatches() {
        var watches = keeper.watches
        if let legacy {
            let (directory, names) = legacy.watch
            watches[directory, default: []].insert(.legacyRegistry(names: names))
        }
        watch.setMembershipWatches(watches)
    }
}
