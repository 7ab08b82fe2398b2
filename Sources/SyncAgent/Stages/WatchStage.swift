import Foundation
import Logging
import RegistryClient
import SystemPackage
import LinuxPlatform

/// Watching: makes the watches of each worktree and acts on what they report (and on what
/// could not be watched): changed worktrees go to the probe stage; directories gone are
/// looked for again; worktrees that cannot be watched are polled; membership triggers go to
/// whoever follows them.
package final class WatchStage: AgentStage {
    private let context: AgentContext
    private let probe: ProbeStage
    private let forecast: ForecastStage
    private let watchLimit: Int?
    private var watcher: WorktreeWatcher?
    /// Where membership triggers go (the membership and legacy stages).
    package var onMembership: (MembershipTrigger, Duration) -> Void = { _, _ in }
    private var nextPoll: Duration = .zero
    private var nextMissingCheck: Duration = .zero
    private var overflows = 0

    package init(context: AgentContext, probe: ProbeStage, forecast: ForecastStage, watchLimit: Int?) {
        self.context = context
        self.probe = probe
        self.forecast = forecast
        self.watchLimit = watchLimit
    }

    private var configuration: AgentConfiguration { context.configuration }
    private var logger: Logger { context.logger }

    /// Creates the inotify instance and starts its reader, which posts to `inbox`.
    package func start(posting inbox: Inbox) {
        do {
            watcher = try WorktreeWatcher(logger: logger, watchLimit: watchLimit) { events in
                inbox.post(.inotify(events))
            }
            watcher?.start()
        } catch {
            logger.error("cannot create the wake-up pipe for the watcher", metadata: ["error": "\(error)"])
        }
        if let reason = watcher?.unavailableReason {
            let instances = Inotify.instanceLimit().map(String.init) ?? "unknown"
            logger.error(
                """
                cannot create an inotify instance (\(reason)); every worktree is polled every \
                \(configuration.pollInterval) instead. Raise fs.inotify.max_user_instances (now \(instances)) with \
                `sudo sysctl fs.inotify.max_user_instances=512` and restart imi-sync
                """)
        }
    }

    package func stop() {
        watcher?.stop()
    }

    package var watchCount: Int { watcher?.watchCount ?? 0 }
    package var watchLimitNow: Int? { watcher?.watchLimit }

    package var nextDeadline: Duration? {
        let worktrees = context.worktrees
        return [
            worktrees.polled.isEmpty ? nil : nextPoll,
            worktrees.ids(in: .missing).isEmpty ? nil : nextMissingCheck,
        ].compactMap { $0 }.min()
    }

    package func runDue(at now: Duration) {
        if !context.worktrees.ids(in: .missing).isEmpty, now >= nextMissingCheck {
            recheckMissing(at: now)
            nextMissingCheck = now + configuration.missingRecheck
        }
        if !context.worktrees.polled.isEmpty, now >= nextPoll {
            for id in context.worktrees.polled { probe.mark(id, at: now, immediate: true) }
            nextPoll = now + configuration.pollInterval
        }
    }

    package func forget(_ id: String) {
        watcher?.unwatch(id: id)
    }

    package var keptWorktrees: Set<String> { watcher?.watchedWorktrees ?? [] }

    package func report(into statistics: inout AgentStatus.Statistics) {
        let worktrees = context.worktrees
        statistics.polledWorktrees = worktrees.polled.count
        statistics.missingWorktrees = worktrees.count { $0 == .missing }
        statistics.unreadableWorktrees = worktrees.count { $0 == .unreadable }
        statistics.watchedWorktrees = worktrees.count - statistics.polledWorktrees - statistics.missingWorktrees
            - statistics.unreadableWorktrees
        statistics.watches = watchCount
        statistics.overflows = overflows
    }

    // MARK: Events

    /// What the reader read: classified by the watcher, then acted on.
    package func handle(_ events: [InotifyEvent], at now: Duration) {
        for signal in watcher?.handle(events) ?? [] { handle(signal, at: now) }
    }

    private func handle(_ signal: WatchSignal, at now: Duration) {
        switch signal {
        case .changed(let changes):
            let worktrees = context.worktrees
            let probeable = Set(worktrees.probeable)
            for (id, changed) in changes where probeable.contains(id) {
                // A polled worktree has directories nobody watches: only a full status is exact.
                probe.mark(id, at: now, changes: worktrees.state(of: id) == .watched ? changed : .everything)
            }
        case .overflow:
            overflows += 1
            probe.forgetMemory()
            logger.warning("the inotify queue overflowed (fs.inotify.max_queued_events); rescanning every worktree")
            watchAll(context.worktrees.registered(Array(context.worktrees.worktrees.keys)), at: now)
        case .membership(let triggers):
            for trigger in triggers { onMembership(trigger, now) }
        case .operations(let marks):
            for mark in marks { probe.noteOperation(mark, at: now) }
        case .rootGone(let id):
            guard let worktree = context.worktrees[id], context.worktrees.state(of: id) != .missing else { return }
            context.worktrees.set(id, .missing)
            probe.forget(id)
            forecast.forget(id)
            nextMissingCheck = now + configuration.missingRecheck
            logger.notice(
                "worktree directory is gone; its stored state is kept and it is watched again if it comes back",
                metadata: ["worktree.id": "\(id)", "worktree.path": "\(worktree.path)"])
        }
    }

    package func setMembershipWatches(_ watches: [FilePath: Set<MembershipWatch>]) {
        watcher?.setMembershipWatches(watches)
    }

    // MARK: Watching

    /// Makes (again) the watches of `list`; whatever happened before them was not seen, so
    /// each is probed in full.
    package func watchAll(_ list: [RegisteredWorktree], at now: Duration) {
        var limited: [(String, Int)] = []
        for worktree in list {
            probe.forgetMemory(of: worktree.id)
            let outcome = watcher?.watch(WatchedWorktree(id: worktree.id, path: worktree.path)) ?? .unavailable
            switch outcome {
            case .watching:
                context.worktrees.set(worktree.id, .watched)
                probe.mark(worktree.id, at: now, immediate: true)
            case .missing(let reason):
                let previous = context.worktrees.set(worktree.id, .missing)
                nextMissingCheck = now + configuration.missingRecheck
                if previous != .missing {
                    logger.notice(
                        "worktree directory not found; its stored state is kept and it is looked for again",
                        metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)", "error": "\(reason)"])
                }
            case .notAWorktree(let reason):
                let previous = context.worktrees.set(worktree.id, .unreadable)
                if previous != .unreadable {
                    logger.notice(
                        """
                        registered path is not a readable git worktree; its stored state is kept \
                        and it is tried again at each reconcile
                        """,
                        metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)", "error": "\(reason)"])
                }
            case .incomplete(let reason):
                context.worktrees.set(worktree.id, .polled)
                nextPoll = now + configuration.pollInterval
                probe.mark(worktree.id, at: now, immediate: true)
                logger.error(
                    "not every directory of a worktree can be watched; it is polled every \(configuration.pollInterval) instead",
                    metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)", "error": "\(reason)"])
            case .limitReached(let needed):
                context.worktrees.set(worktree.id, .polled)
                limited.append((worktree.id, needed))
                probe.mark(worktree.id, at: now, immediate: true)
            case .unavailable:
                context.worktrees.set(worktree.id, .polled)
                probe.mark(worktree.id, at: now, immediate: true)
            }
        }
        if !limited.isEmpty { reportWatchLimit(limited, at: now) }
    }

    /// Tries again the worktrees in `states` (after a reload, or unreadable ones at a reconcile).
    package func retry(_ states: [WorktreeTable.State], at now: Duration) {
        let ids = states.flatMap { context.worktrees.ids(in: $0) }
        let list = context.worktrees.registered(ids)
        if !list.isEmpty { watchAll(list, at: now) }
    }

    private func reportWatchLimit(_ limited: [(String, Int)], at now: Duration) {
        nextPoll = now + configuration.pollInterval
        let inUse = watcher?.watchCount ?? 0
        let limit = watcher?.watchLimit ?? 0
        let needed = limited.map(\.1).reduce(0, +)
        let suggestion = max(524_288, (inUse + needed) * 2)
        logger.error(
            """
            inotify watch limit reached (fs.inotify.max_user_watches = \(limit), \(inUse) in use): \
            \(limited.count) worktrees need about \(needed) more watches and are polled every \
            \(configuration.pollInterval) instead; raise it with `sudo sysctl fs.inotify.max_user_watches=\(suggestion)` \
            (persist it in /etc/sysctl.d/) and run `systemctl --user reload imi-sync`
            """)
    }

    private func recheckMissing(at now: Duration) {
        let back = context.worktrees.registered(context.worktrees.ids(in: .missing)).filter {
            FileManager.default.fileExists(atPath: $0.path)
        }
        guard !back.isEmpty else { return }
        for worktree in back {
            logger.notice("worktree directory is back; watching it again",
                          metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)"])
        }
        watchAll(back, at: now)
    }
}
