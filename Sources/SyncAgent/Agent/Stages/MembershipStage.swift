import RegistryClient

/// Membership kept live: the passes of ``MembershipKeeper`` when the watcher says worktrees
/// or clones may have come, moved or gone; and, during the dual-run period, the imports of
/// ``LegacyFollower`` when the old CLI writes the legacy file. When either changed rows, the
/// agent follows the registry (`onRegistryChanged`).
final class MembershipStage: AgentStage {
    private let context: AgentContext
    private let watch: WatchStage
    let keeper: MembershipKeeper
    private(set) var legacy: LegacyFollower?
    /// The rows changed: read this host's worktrees again.
    var onRegistryChanged: (Duration) -> Void = { _ in }

    init(context: AgentContext, watch: WatchStage) {
        self.context = context
        self.watch = watch
        keeper = MembershipKeeper(configuration: context.configuration.membership, logger: context.logger)
        legacy = context.configuration.followedLegacyRegistry.map { LegacyFollower(path: $0, logger: context.logger) }
    }

    /// Whether the first walk of the roots is done (or membership is off).
    var walkedOnce: Bool { keeper.walkedOnce || !context.configuration.membership.enabled }

    var nextDeadline: Duration? {
        guard context.session.isConnected else { return nil }
        return [keeper.nextDeadline, legacy?.nextDeadline].compactMap { $0 }.min()
    }

    func schedule(_ trigger: MembershipTrigger, at now: Duration) {
        if trigger == .legacyRegistry { legacy?.schedule(at: now) } else { keeper.schedule(trigger, at: now) }
    }

    /// Everything may have changed while the agent was away (connected again).
    func scheduleAll(at now: Duration) {
        keeper.schedule(.roots, at: now)
        legacy?.schedule(at: now)
    }

    func runDue(at now: Duration) {
        if let due = legacy?.nextDeadline, now >= due { followLegacy(at: now) }
        if let due = keeper.nextDeadline, now >= due { keepMembership(at: now) }
    }

    func forget(_ id: String) {}

    func reload(_ configuration: AgentConfiguration, at now: Duration) {
        keeper.configuration = configuration.membership
        keeper.schedule(.roots, at: now)
        if configuration.followedLegacyRegistry != legacy?.path {
            legacy = configuration.followedLegacyRegistry.map { LegacyFollower(path: $0, logger: context.logger) }
            legacy?.schedule(at: now)
        }
    }

    func report(into statistics: inout AgentStatus.Statistics) {
        statistics.membershipPasses = keeper.passes
        statistics.membershipChanges = keeper.changedRows
        statistics.legacyImports = legacy?.imports ?? 0
        statistics.legacyRowsImported = legacy?.importedRows ?? 0
    }

    /// Runs the membership passes due and follows the registry when they changed rows.
    private func keepMembership(at now: Duration) {
        let registered = context.worktrees.registered(Array(context.worktrees.worktrees.keys))
        let changed = context.session.withRegistry(.membership, at: now) { registry, hostID in
            try keeper.runDue(at: now, registry: registry, hostID: hostID, registered: registered)
        }
        if changed == nil, context.session.isConnected { keeper.refused(at: now) }
        updateWatches()
        if changed == true { onRegistryChanged(now) }
    }

    /// Imports what the old iMi CLI added to the legacy registry (the dual-run period).
    private func followLegacy(at now: Duration) {
        guard let legacy else { return }
        let imported = context.session.withRegistry(.legacyImport, at: now) { registry, hostID in
            try legacy.runDue(at: now, connection: registry.connection, hostID: hostID)
        }
        updateWatches()
        if imported == true { onRegistryChanged(now) }
    }

    func updateWatches() {
        var watches = keeper.watches
        if let legacy {
            let (directory, names) = legacy.watch
            watches[directory, default: []].insert(.legacyRegistry(names: names))
        }
        watch.setMembershipWatches(watches)
    }
}
