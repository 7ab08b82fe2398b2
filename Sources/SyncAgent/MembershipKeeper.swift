import Foundation
import GitProbe
import Logging
import RegistryClient
import SystemPackage
import LinuxPlatform
import WorktreeMembership

/// The agent's membership stage: when the watcher says worktrees or clones may have come,
/// moved or gone, it compares the disk with this host's rows (the rules of `scan`) and
/// writes the difference. A change under the roots walks them again; a change in one
/// repository's worktree list reads only that repository.
package final class MembershipKeeper {
    package var configuration: AgentConfiguration.Membership
    private let logger: Logger
    private let probe = GitProbe(splitsLargeWorktrees: false)
    private var rootsDue: Duration?
    private var repositoriesDue: [String: Duration] = [:]
    /// Directories skipped as not (yet) a repository, and how often they were looked at again.
    private var retries: [String: Int] = [:]
    private static let retryLimit = 20
    /// Membership watches: the roots' skeleton, and each repository's directories.
    private var skeletonWatches: [FilePath: Set<MembershipWatch>] = [:]
    private var repositoryWatches: [String: [FilePath: Set<MembershipWatch>]] = [:]
    private var warnedRoots: Set<String> = []
    /// Passes run, and the rows they registered, repaired, reactivated or deactivated.
    package private(set) var passes = 0
    package private(set) var changedRows = 0
    /// Whether the first walk of the roots is done (the agent is ready only after it).
    package private(set) var walkedOnce = false

    package init(configuration: AgentConfiguration.Membership, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    package var watches: [FilePath: Set<MembershipWatch>] {
        repositoryWatches.values.reduce(into: skeletonWatches) { all, watches in
            all.merge(watches) { $0.union($1) }
        }
    }

    package var nextDeadline: Duration? {
        guard configuration.enabled else { return nil }
        return ([rootsDue].compactMap { $0 } + Array(repositoriesDue.values)).min()
    }

    package func schedule(_ trigger: MembershipTrigger, at now: Duration) {
        let due = now + configuration.settle
        switch trigger {
        case .roots:
            rootsDue = min(rootsDue ?? due, due)
        case .repository(let common):
            // A walk of the roots reads every repository anyway.
            guard rootsDue == nil else { return }
            repositoriesDue[common] = min(repositoriesDue[common] ?? due, due)
        case .legacyRegistry:
            break  // LegacyFollower's
        }
    }

    /// The registry refused a pass (a missing grant, a conflicting writer): walk again later,
    /// waiting twice as long after each refusal in a row, at most a minute.
    package func refused(at now: Duration) {
        repositoriesDue = [:]
        walkedOnce = true
        let delay = min(configuration.retry * (1 << min(refusals, 7)), .seconds(60))
        refusals += 1
        rootsDue = now + delay
    }

    private var refusals = 0

    /// Runs the passes due at `now` against `registry`; returns whether any row changed.
    /// `registered` are this host's rows, whose repositories are read wherever they are.
    package func runDue(
        at now: Duration, registry: Registry, hostID: String, registered: [RegisteredWorktree]
    ) throws -> Bool {
        guard configuration.enabled else { return false }
        var changed = false
        if let due = rootsDue, now >= due {
            rootsDue = nil
            repositoriesDue = [:]
            changed = try walkRoots(at: now, registry: registry, hostID: hostID, registered: registered)
        }
        for (common, due) in repositoriesDue where now >= due {
            repositoriesDue[common] = nil
            changed = try readRepository(common, at: now, registry: registry, hostID: hostID) || changed
        }
        refusals = 0
        return changed
    }

    private func walkRoots(
        at now: Duration, registry: Registry, hostID: String, registered: [RegisteredWorktree]
    ) throws -> Bool {
        var discovery = RepositoryDiscovery(depthLimit: configuration.depthLimit).run(roots: configuration.roots)
        for skip in discovery.skipped where skip.reason == .missingRoot && warnedRoots.insert(skip.path).inserted {
            logger.warning(
                "a membership root does not exist; new clones there are not registered until it does",
                metadata: ["root": "\(skip.path)"])
        }
        // The repositories of rows registered outside the roots are kept true as well.
        var known = Set(discovery.repositories.flatMap { $0.worktrees.map(\.path) })
        var commons = Set(discovery.repositories.map(\.commonDirectory))
        for worktree in registered where !known.contains(worktree.path) && MembershipScan.exists(worktree.path) {
            guard let inspection = try? probe.inspectRepository(at: worktree.path),
                commons.insert(inspection.commonDirectory).inserted
            else { continue }
            known.formUnion(inspection.worktrees.map(\.path))
            discovery.repositories.append(inspection)
        }
        walkedOnce = true
        scheduleRetries(discovery.skipped, at: now)
        skeletonWatches = Dictionary(
            discovery.skeleton.map { (FilePath($0), Set([MembershipWatch.skeleton])) }, uniquingKeysWith: { first, _ in first })
        repositoryWatches = [:]
        for repository in discovery.repositories { watch(repository.commonDirectory) }
        return try reconcile(discovery, registry: registry, hostID: hostID)
    }

    private func readRepository(_ common: String, at now: Duration, registry: Registry, hostID: String) throws -> Bool {
        let inspection: RepositoryInspection
        do {
            inspection = try probe.inspectRepository(at: common)
        } catch {
            // The repository itself is gone: its rows under the roots are judged by a walk.
            repositoryWatches[common] = nil
            schedule(.roots, at: now)
            return false
        }
        watch(common)
        // The roots as well: a new linked worktree is registered only below one.
        return try reconcile(
            Discovery(roots: configuration.roots, repositories: [inspection]), registry: registry, hostID: hostID)
    }

    private func reconcile(_ discovery: Discovery, registry: Registry, hostID: String) throws -> Bool {
        passes += 1
        let report = try MembershipScan.reconcile(discovery, registry: registry, hostID: hostID)
        var count = report.deactivated.count
        for found in report.found where found.outcome != .unchanged && found.outcome != .updated {
            count += 1
            logger.notice(
                "worktree \(found.outcome.rawValue)",
                metadata: [
                    "worktree.path": "\(found.path)", "project": "\(found.project)",
                    "worktree.previous_path": "\(found.previousPath ?? "")",
                ])
        }
        for row in report.deactivated {
            logger.notice(
                "worktree deactivated: gone from disk and from git",
                metadata: ["worktree.id": "\(row.id)", "worktree.path": "\(row.path)"])
        }
        changedRows += count
        return report.changesRegistry
    }

    /// Watches a repository's common directory, its `worktrees/` and each administrative
    /// directory in it (listed from disk: one being created is not in git's list yet).
    private func watch(_ common: String) {
        var watches: [FilePath: Set<MembershipWatch>] = [FilePath(common): [.commonDirectory(common)]]
        let worktrees = FilePath(common).appending("worktrees")
        if let entries = try? DirectoryListing.entries(of: worktrees) {
            watches[worktrees] = [.worktreesDirectory(common)]
            for entry in entries where entry.kind == .directory {
                watches[worktrees.appending(entry.name)] = [.administrative(common)]
            }
        }
        repositoryWatches[common] = watches
    }

    /// A clone in progress is not a repository yet: look again shortly, a bounded number
    /// of times per directory.
    private func scheduleRetries(_ skipped: [ScanSkip], at now: Duration) {
        let pending = Set(skipped.filter { $0.reason == .notARepository || $0.reason == .unreadable }.map(\.path))
        retries = retries.filter { pending.contains($0.key) }
        var again = false
        for path in pending {
            let count = retries[path, default: 0]
            guard count < Self.retryLimit else { continue }
            retries[path] = count + 1
            again = true
        }
        if again { rootsDue = min(rootsDue ?? now + configuration.retry, now + configuration.retry) }
    }
}
