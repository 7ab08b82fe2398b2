import Foundation
import GitProbe
import Logging
import SystemPackage
import LinuxPlatform

/// One inotify instance for every worktree: the watch set and what its events mean.
///
/// Watches what ``WatchPlan`` lists for each worktree and keeps that list true as the tree
/// changes: directories are added as they appear and dropped as they go, the whole plan is
/// walked again when ignore rules or git config change (a `.gitignore`, `info/exclude`,
/// `core.excludesFile`, the global config), and ignored directories are looked at again when
/// the index changes. Nothing is ever written into a repository.
///
/// The parts: ``InotifyReader`` reads on its own thread and only delivers; the owner (the
/// agent loop) hands what it delivered to ``handle(_:)``, where ``WatchEventClassifier``
/// decides what the events mean from the ``WatchSet`` and this class does the walks. The
/// reader takes no lock of this class, so a long walk never keeps it from reading. The lock
/// here only lets tests call in from other threads.
package final class WorktreeWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private let inotify: Inotify?
    private let reader: InotifyReader?
    private var set = WatchSet()
    /// Open layouts of the worktrees that saw changes lately. Each holds a libgit2 repository
    /// (caches included), so only a few stay open, not one per worktree.
    private var layouts: [(id: String, layout: WorktreeLayout)] = []
    private static let openLayoutsLimit = 4
    private let globalFiles = ExternalGitFiles.global()
    private let watchLimitOverride: Int?
    private let logger: Logger

    /// Why inotify is unavailable, when it is (e.g. `max_user_instances` reached).
    package let unavailableReason: SystemCallError?

    /// - Parameters:
    ///   - watchLimit: treat this many watches as the kernel limit (tests use it to reach the
    ///     limit without changing the machine's sysctl).
    ///   - deliver: where the reader sends what it read, from its thread.
    package init(
        logger: Logger, watchLimit: Int? = nil, backlog: Int = 16_384,
        deliver: @escaping @Sendable ([InotifyEvent]) -> Void
    ) throws {
        self.logger = logger
        self.watchLimitOverride = watchLimit
        let inotify: Inotify
        do {
            inotify = try Inotify()
        } catch {
            self.inotify = nil
            reader = nil
            unavailableReason = error
            return
        }
        self.inotify = inotify
        reader = try InotifyReader(inotify: inotify, backlog: backlog, logger: logger, deliver: deliver)
        unavailableReason = nil
    }

    /// Starts reading events.
    package func start() { reader?.start() }

    /// Stops reading events and waits for the reader thread.
    package func stop() { reader?.stop() }

    /// The number of watches in use, and the kernel's limit.
    package var watchCount: Int { lock.withLock { set.count } }
    package var watchLimit: Int? { watchLimitOverride ?? Inotify.watchLimit() }

    package func watchCount(of id: String) -> Int { lock.withLock { set.watchCount(of: .worktree(id)) } }

    /// Watches on directories outside every repository (global git config, excludes files).
    package var externalWatchCount: Int { lock.withLock { set.watchCount(of: .external) } }

    /// The worktrees watched now.
    package var watchedWorktrees: Set<String> { lock.withLock { Set(set.worktrees.keys) } }

    /// Watches used for membership.
    package var membershipWatchCount: Int { lock.withLock { set.watchCount(of: .membership) } }

    // MARK: Events

    /// What events the reader delivered mean; adds and drops watches as directories come and
    /// go, and tells the reader they were handled.
    package func handle(_ events: [InotifyEvent]) -> [WatchSignal] {
        defer { reader?.consumed(events.count) }
        return lock.withLock {
            let outcome = WatchEventClassifier.classify(events, in: &set)
            for watch in outcome.orphanedWatches { inotify?.removeWatch(watch) }
            for created in outcome.createdRefDirectories {
                for refs in WatchPlan.refDirectories(under: created.path) {
                    try? addLocked(refs, owner: .worktree(created.worktree), role: .refs)
                }
            }
            for created in outcome.createdDirectories where !outcome.refresh.contains(created.worktree) {
                watchCreatedLocked(created.path, in: created.worktree)
            }
            if outcome.externalChanged { resolveExternalLocked() }
            for id in outcome.refresh where set.worktrees[id] != nil { refreshLocked(id) }
            for id in outcome.indexChanged.subtracting(outcome.refresh) where set.worktrees[id] != nil {
                recheckIndexLocked(id)
            }
            for id in outcome.rootsGone { layouts.removeAll { $0.id == id } }
            if !outcome.rootsGone.isEmpty { resolveExternalLocked() }
            return outcome.signals
        }
    }

    // MARK: Adding and removing worktrees

    /// Watches `worktree` (again) as its ``WatchPlan`` says.
    package func watch(_ worktree: WatchedWorktree) -> WatchOutcome {
        lock.lock()
        defer { lock.unlock() }
        guard inotify != nil else { return .unavailable }
        removeLocked(worktree.id)
        let layout: WorktreeLayout
        do {
            layout = try WorktreeLayout(worktreePath: worktree.path)
        } catch {
            let exists = SystemCall.exists(FilePath(worktree.path))
            return exists ? .notAWorktree(reason: error.description) : .missing(reason: error.description)
        }
        set.worktrees[worktree.id] = WatchSet.Worktree(
            root: FilePath(worktree.path), gitDirectory: FilePath(bytes: layout.gitDirectory))
        remember(layout, for: worktree.id)
        let outcome = applyLocked(WatchPlan(root: FilePath(worktree.path), layout: layout), to: worktree.id)
        if case .watching = outcome { return .watching(watches: set.watchCount(of: .worktree(worktree.id))) }
        return outcome
    }

    /// Stops watching `id`; shared watches stay while another worktree owns them.
    package func unwatch(id: String) {
        lock.withLock {
            removeLocked(id)
            resolveExternalLocked()
        }
    }

    private func removeLocked(_ id: String) {
        for watch in set.removeOwner(.worktree(id)) { inotify?.removeWatch(watch) }
        layouts.removeAll { $0.id == id }
    }

    /// Adds every directory of `plan` for `id` and drops the worktree's watches the plan no
    /// longer lists. Adding a directory already watched returns its descriptor, so nothing
    /// that stays watched is ever unwatched in between.
    private func applyLocked(_ plan: WatchPlan, to id: String) -> WatchOutcome {
        let owner = WatchOwner.worktree(id)
        var unwatchable: [String] = []
        for (index, directory) in plan.directories.enumerated() {
            do {
                try addLocked(directory.path, owner: owner, role: directory.role)
            } catch where error.errno == .noSpace {
                return .limitReached(needed: plan.directories.count - index)
            } catch where error.errno == .noSuchFileOrDirectory || directory.role == .tree {
                // Vanished, or a tree directory git cannot read either: nothing to see there.
                continue
            } catch {
                unwatchable.append("\(directory.path) (\(error.errno))")
            }
        }
        var kept: [WatchSet.Role: Set<FilePath>] = [:]
        for directory in plan.directories { kept[directory.role, default: []].insert(directory.path) }
        for role in [WatchSet.Role.tree, .gitDirectory, .refs, .info] {
            for watch in set.remove(owner, role: role, notIn: kept[role] ?? []) { inotify?.removeWatch(watch) }
        }
        let root = set.worktrees[id]?.root ?? FilePath()
        set.worktrees[id]?.ignored = Dictionary(
            plan.ignoredDirectories.map { ($0, WatchSet.relative($0, to: root)) }, uniquingKeysWith: { first, _ in first })
        set.worktrees[id]?.externalFiles = plan.externalFiles
        resolveExternalLocked()
        if !unwatchable.isEmpty {
            return .incomplete(reason: "cannot watch " + unwatchable.joined(separator: ", "))
        }
        return .watching(watches: set.watchCount(of: owner))
    }

    private func addLocked(_ path: FilePath, owner: WatchOwner, role: WatchSet.Role) throws(SystemCallError) {
        guard let inotify else { return }
        if let limit = watchLimitOverride, set.count >= limit, !set.isWatched(path) {
            throw SystemCallError(call: "inotify_add_watch", errno: .noSpace, detail: path.description)
        }
        let watch = try inotify.addWatch(path)
        set.add(watch, path: path, owner: owner, role: role)
    }

    /// Walks `id` again with fresh ignore rules (they or the git config changed).
    private func refreshLocked(_ id: String) {
        guard let root = set.worktrees[id]?.root else { return }
        layouts.removeAll { $0.id == id }
        guard let layout = try? WorktreeLayout(worktreePathBytes: root.bytes) else { return }
        remember(layout, for: id)
        let outcome = applyLocked(WatchPlan(root: root, layout: layout), to: id)
        if case .watching = outcome { return }
        logger.warning(
            "the watch set of a worktree could not be completed after its ignore rules changed",
            metadata: ["worktree.id": "\(id)", "outcome": "\(outcome)"])
    }

    /// A directory appeared in `id`'s tree: watch it and what is below, unless git ignores it.
    private func watchCreatedLocked(_ child: FilePath, in id: String) {
        guard let root = set.worktrees[id]?.root, let layout = layoutLocked(id) else { return }
        defer { layout.releaseIndex() }
        let relative = WatchSet.relative(child, to: root)
        if layout.isIgnored(relativePath: relative, isDirectory: true), !layout.tracksFiles(under: relative) {
            set.worktrees[id]?.ignored[child] = relative
            return
        }
        addTreeLocked(WatchPlan.treeDirectories(from: child, relative: relative, layout: layout), in: id, root: root)
    }

    /// The index of `id` changed: an ignored directory may hold a tracked file now, and a
    /// submodule may have been added.
    private func recheckIndexLocked(_ id: String) {
        guard let watched = set.worktrees[id], let layout = layoutLocked(id) else { return }
        defer { layout.releaseIndex() }
        let owner = WatchOwner.worktree(id)
        for (directory, relative) in watched.ignored {
            guard DirectoryListing.lstatKind(directory) == .directory else {
                set.worktrees[id]?.ignored[directory] = nil
                continue
            }
            guard layout.tracksFiles(under: relative) else { continue }
            set.worktrees[id]?.ignored[directory] = nil
            addTreeLocked(
                WatchPlan.treeDirectories(from: directory, relative: relative, layout: layout), in: id, root: watched.root)
        }
        for submodule in layout.submoduleDirectories() {
            let common = FilePath(bytes: submodule.commonDirectory)
            try? addLocked(FilePath(bytes: submodule.gitDirectory), owner: owner, role: .gitDirectory)
            try? addLocked(common, owner: owner, role: .gitDirectory)
            for refs in WatchPlan.refDirectories(under: common.appending("refs")) {
                try? addLocked(refs, owner: owner, role: .refs)
            }
        }
    }

    private func addTreeLocked(_ found: (watched: [FilePath], ignored: [FilePath]), in id: String, root: FilePath) {
        for path in found.watched { try? addLocked(path, owner: .worktree(id), role: .tree) }
        for path in found.ignored { set.worktrees[id]?.ignored[path] = WatchSet.relative(path, to: root) }
    }

    /// The layout of `id`, reusing a recently opened one.
    private func layoutLocked(_ id: String) -> WorktreeLayout? {
        if let index = layouts.firstIndex(where: { $0.id == id }) {
            let entry = layouts.remove(at: index)
            layouts.append(entry)
            return entry.layout
        }
        guard let root = set.worktrees[id]?.root, let opened = try? WorktreeLayout(worktreePathBytes: root.bytes) else {
            return nil
        }
        remember(opened, for: id)
        return opened
    }

    private func remember(_ layout: WorktreeLayout, for id: String) {
        layouts.removeAll { $0.id == id }
        layouts.append((id, layout))
        if layouts.count > Self.openLayoutsLimit { layouts.removeFirst() }
    }

    // MARK: Membership and files outside the repositories

    /// Watches exactly `watches` for membership changes (adding new ones, dropping the rest);
    /// returns how many could not be added.
    @discardableResult
    package func setMembershipWatches(_ watches: [FilePath: Set<MembershipWatch>]) -> Int {
        lock.withLock {
            guard inotify != nil else { return watches.count }
            var failed = 0
            var kept: [FilePath: Set<MembershipWatch>] = [:]
            for (path, kind) in watches {
                do {
                    try addLocked(path, owner: .membership, role: .membership)
                    kept[path] = kind
                } catch {
                    failed += 1
                }
            }
            set.membership = kept
            for watch in set.remove(.membership, role: .membership, notIn: Set(kept.keys)) {
                inotify?.removeWatch(watch)
            }
            return failed
        }
    }

    /// Watches the directories of the files git reads outside the repositories; drops the
    /// watches no file needs any more.
    private func resolveExternalLocked() {
        let files = set.worktrees.isEmpty ? [] : Set(globalFiles + set.worktrees.values.flatMap(\.externalFiles))
        set.externalInterest = ExternalGitFiles.interest(in: files)
        for directory in set.externalInterest.keys {
            try? addLocked(directory, owner: .external, role: .external)
        }
        for watch in set.remove(.external, role: .external, notIn: Set(set.externalInterest.keys)) {
            inotify?.removeWatch(watch)
        }
    }
}
