import Foundation
import GitProbe
import Logging
import SystemPackage

/// What the watcher tells the agent.
enum WatchSignal: Sendable, Equatable {
    /// Something changed in these worktrees (their files, HEAD, index, refs or ignore rules).
    case changed([String: WorktreeChanges])
    /// The kernel queue overflowed: events were lost, every worktree must be rescanned.
    case overflow
    /// The worktree's top directory was deleted or moved away; its watches are gone.
    case rootGone(String)
    /// Worktrees or clones may have been added, moved or removed (see ``MembershipWatch``).
    case membership(Set<MembershipTrigger>)
}

/// Where membership may have changed: somewhere under the roots, or in one repository.
enum MembershipTrigger: Sendable, Hashable {
    /// A directory above the worktrees changed: walk the roots again.
    case roots
    /// The worktree list of the repository with this common directory may have changed.
    case repository(commonDirectory: String)
    /// The legacy SQLite registry was written (the dual-run period).
    case legacyRegistry
}

/// A directory watched for membership, and what its events mean.
enum MembershipWatch: Sendable, Hashable {
    /// A directory of the roots above every worktree: a directory or `.git` appearing or
    /// going means a clone or worktree was added, moved or removed.
    case skeleton
    /// A repository's common directory: `worktrees/` appearing or going, and the main
    /// clone's HEAD (its branch).
    case commonDirectory(String)
    /// `<common>/worktrees/`: an administrative directory added or removed.
    case worktreesDirectory(String)
    /// `<common>/worktrees/<name>/`: its gitdir, HEAD or lock written.
    case administrative(String)
    /// The directory of the legacy SQLite registry: these names (the file, its WAL and
    /// journal) written.
    case legacyRegistry(names: Set<[UInt8]>)
}

/// A worktree to watch: its registry id and top directory.
struct WatchedWorktree: Sendable, Equatable, Hashable {
    var id: String
    var path: String
}

/// How adding one worktree's watches went.
enum WatchOutcome: Sendable, Equatable {
    case watching(watches: Int)
    /// The directory is not there; looked for again until it comes back.
    case missing(reason: String)
    /// The directory is there but is not a readable git worktree; retried on reconcile.
    case notAWorktree(reason: String)
    /// The watch limit was reached; `needed` more watches would have covered it.
    case limitReached(needed: Int)
    /// A directory whose changes matter could not be watched (`reason` says which and why);
    /// the worktree must be polled.
    case incomplete(reason: String)
    /// No inotify instance could be created at all.
    case unavailable
}

/// One inotify instance for every worktree, read on its own thread.
///
/// Watches what ``WatchPlan`` lists for each worktree and keeps that list true as the tree
/// changes: directories are added as they appear and dropped as they go, the whole plan is
/// walked again when ignore rules or git config change (a `.gitignore`, `info/exclude`,
/// `core.excludesFile`, the global config), and ignored directories are looked at again when
/// the index changes. Nothing is ever written into a repository.
final class WorktreeWatcher: @unchecked Sendable {
    /// What the watcher keeps per worktree besides its watches.
    private struct Watched {
        var root: FilePath
        /// Ignored directories without tracked files, with their path relative to `root`.
        var ignored: [FilePath: [UInt8]] = [:]
        var externalFiles: [FilePath] = []
    }

    private let lock = NSLock()
    private let inotify: Inotify?
    private var table = WatchTable()
    private var worktrees: [String: Watched] = [:]
    /// Open layouts of the worktrees that saw changes lately. Each holds a libgit2 repository
    /// (caches included), so only a few stay open, not one per worktree.
    private var layouts: [(id: String, layout: WorktreeLayout)] = []
    private static let openLayoutsLimit = 4
    /// Files outside every repository that git reads for all worktrees (global and system
    /// config); `core.excludesFile` is per worktree, in ``Watched/externalFiles``.
    private let globalFiles: [FilePath]
    /// For each watched external directory, the names in it that lead to a file git reads.
    private var externalInterest: [FilePath: Set<FilePath.Component>] = [:]
    private static let externalOwner = "\u{0}external"
    private static let membershipOwner = "\u{0}membership"
    /// What each membership watch is on.
    private var membershipWatches: [FilePath: Set<MembershipWatch>] = [:]
    private let watchLimitOverride: Int?
    private let emit: @Sendable (WatchSignal) -> Void
    private let logger: Logger
    private let wake: WakeSignal
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)
    private let readGate = NSCondition()
    private var readingSuspended = false
    private var thread: Thread?

    /// Why inotify is unavailable, when it is (e.g. `max_user_instances` reached).
    let unavailableReason: SystemCallError?

    /// - Parameter watchLimit: treat this many watches as the kernel limit (tests use it to
    ///   reach the limit without changing the machine's sysctl).
    init(logger: Logger, watchLimit: Int? = nil, emit: @escaping @Sendable (WatchSignal) -> Void) throws {
        self.logger = logger
        self.emit = emit
        self.watchLimitOverride = watchLimit
        self.wake = try WakeSignal()
        globalFiles = Self.globalConfigFiles()
        do {
            inotify = try Inotify()
            unavailableReason = nil
        } catch {
            inotify = nil
            unavailableReason = error
            return
        }
        let thread = Thread { [self] in readLoop() }
        thread.name = "imi-sync inotify"
        self.thread = thread
        thread.start()
    }

    /// Stops the reader thread and waits for it.
    func stop() {
        lock.lock()
        let wasStopping = stopping
        stopping = true
        lock.unlock()
        guard !wasStopping, thread != nil else { return }
        resumeReading()
        wake.wake()
        stopped.wait()
    }

    /// The number of watches in use, and the kernel's limit.
    var watchCount: Int { lock.withLock { table.count } }
    var watchLimit: Int? { watchLimitOverride ?? Inotify.watchLimit() }

    func watchCount(of id: String) -> Int { lock.withLock { table.watchCount(of: id) } }

    /// Watches on directories outside every repository (global git config, excludes files).
    var externalWatchCount: Int { watchCount(of: Self.externalOwner) }

    // MARK: Adding and removing worktrees

    /// Watches `worktree` (again) as its ``WatchPlan`` says.
    func watch(_ worktree: WatchedWorktree) -> WatchOutcome {
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
        worktrees[worktree.id] = Watched(root: FilePath(worktree.path))
        remember(layout, for: worktree.id)
        let outcome = applyLocked(WatchPlan(root: FilePath(worktree.path), layout: layout), to: worktree.id)
        if case .watching = outcome { return .watching(watches: table.watchCount(of: worktree.id)) }
        return outcome
    }

    /// Stops watching `id`; shared watches stay while another worktree owns them.
    func unwatch(id: String) {
        lock.withLock {
            removeLocked(id)
            resolveExternalLocked()
        }
    }

    private func removeLocked(_ id: String) {
        for watch in table.removeOwner(id) { inotify?.removeWatch(watch) }
        worktrees[id] = nil
        layouts.removeAll { $0.id == id }
    }

    /// Adds every directory of `plan` for `owner` and drops the owner's watches the plan no
    /// longer lists. Adding a directory already watched returns its descriptor, so nothing
    /// that stays watched is ever unwatched in between.
    private func applyLocked(_ plan: WatchPlan, to owner: String) -> WatchOutcome {
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
        var kept: [WatchTable.Role: Set<FilePath>] = [:]
        for directory in plan.directories { kept[directory.role, default: []].insert(directory.path) }
        for role in [WatchTable.Role.tree, .gitDirectory, .refs, .info] {
            for watch in table.remove(owner, role: role, notIn: kept[role] ?? []) { inotify?.removeWatch(watch) }
        }
        let root = worktrees[owner]?.root ?? FilePath()
        worktrees[owner]?.ignored = Dictionary(
            plan.ignoredDirectories.map { ($0, Self.relative($0, to: root)) }, uniquingKeysWith: { first, _ in first })
        worktrees[owner]?.externalFiles = plan.externalFiles
        resolveExternalLocked()
        if !unwatchable.isEmpty {
            return .incomplete(reason: "cannot watch " + unwatchable.joined(separator: ", "))
        }
        return .watching(watches: table.watchCount(of: owner))
    }

    private func addLocked(_ path: FilePath, owner: String, role: WatchTable.Role) throws(SystemCallError) {
        guard let inotify else { return }
        if let limit = watchLimitOverride, table.count >= limit, !table.isWatched(path) {
            throw SystemCallError(call: "inotify_add_watch", errno: .noSpace, detail: path.description)
        }
        let watch = try inotify.addWatch(path)
        table.add(watch, path: path, owner: owner, role: role)
    }

    /// Walks `owner` again with fresh ignore rules (they or the git config changed).
    private func refreshLocked(_ owner: String) {
        guard let root = worktrees[owner]?.root else { return }
        layouts.removeAll { $0.id == owner }
        guard let layout = try? WorktreeLayout(worktreePathBytes: root.bytes) else { return }
        remember(layout, for: owner)
        let outcome = applyLocked(WatchPlan(root: root, layout: layout), to: owner)
        if case .watching = outcome { return }
        logger.warning(
            "the watch set of a worktree could not be completed after its ignore rules changed",
            metadata: ["worktree.id": "\(owner)", "outcome": "\(outcome)"])
    }

    /// The index of `owner` changed: an ignored directory may hold a tracked file now, and
    /// a submodule may have been added.
    private func recheckIndexLocked(_ owner: String) {
        guard let watched = worktrees[owner], let layout = layoutLocked(owner) else { return }
        defer { layout.releaseIndex() }
        for (directory, relative) in watched.ignored {
            guard DirectoryListing.lstatKind(directory) == .directory else {
                worktrees[owner]?.ignored[directory] = nil
                continue
            }
            guard layout.tracksFiles(under: relative) else { continue }
            worktrees[owner]?.ignored[directory] = nil
            let found = WatchPlan.treeDirectories(from: directory, relative: relative, layout: layout)
            for path in found.watched { try? addLocked(path, owner: owner, role: .tree) }
            for path in found.ignored { worktrees[owner]?.ignored[path] = Self.relative(path, to: watched.root) }
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

    /// The layout of `id`, reusing a recently opened one.
    private func layoutLocked(_ id: String) -> WorktreeLayout? {
        if let index = layouts.firstIndex(where: { $0.id == id }) {
            let entry = layouts.remove(at: index)
            layouts.append(entry)
            return entry.layout
        }
        guard let root = worktrees[id]?.root, let opened = try? WorktreeLayout(worktreePathBytes: root.bytes) else {
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

    // MARK: Membership

    /// Watches exactly `watches` for membership changes (adding new ones, dropping the rest);
    /// returns how many could not be added.
    @discardableResult
    func setMembershipWatches(_ watches: [FilePath: Set<MembershipWatch>]) -> Int {
        lock.withLock {
            guard inotify != nil else { return watches.count }
            var failed = 0
            var kept: [FilePath: Set<MembershipWatch>] = [:]
            for (path, kind) in watches {
                do {
                    try addLocked(path, owner: Self.membershipOwner, role: .membership)
                    kept[path] = kind
                } catch {
                    failed += 1
                }
            }
            membershipWatches = kept
            for watch in table.remove(Self.membershipOwner, role: .membership, notIn: Set(kept.keys)) {
                inotify?.removeWatch(watch)
            }
            return failed
        }
    }

    /// Watches used for membership.
    var membershipWatchCount: Int { watchCount(of: Self.membershipOwner) }

    /// What `event` in the membership-watched `directory` asks for.
    private func membershipTriggers(_ event: InotifyEvent, in directory: FilePath) -> [MembershipTrigger] {
        (membershipWatches[directory] ?? []).compactMap { membershipTrigger(event, kind: $0) }
    }

    private func membershipTrigger(_ event: InotifyEvent, kind: MembershipWatch) -> MembershipTrigger? {
        let name = event.name
        switch kind {
        case .skeleton:
            guard event.isDirectory || name == Self.gitName else { return nil }
            return event.isCreated || event.isMovedAway || event.isDeleted || event.isSelfGone ? .roots : nil
        case .commonDirectory(let common):
            return name == Self.worktreesName || name == Self.headName ? .repository(commonDirectory: common) : nil
        case .worktreesDirectory(let common):
            return event.isDirectory || event.isSelfGone ? .repository(commonDirectory: common) : nil
        case .administrative(let common):
            if event.isSelfGone { return .repository(commonDirectory: common) }
            guard let name, Self.administrativeNames.contains(name) else { return nil }
            return .repository(commonDirectory: common)
        case .legacyRegistry(let names):
            guard let name, names.contains(name), !event.isMovedAway else { return nil }
            return .legacyRegistry
        }
    }

    // MARK: Files outside the repositories

    /// Global config files libgit2 reads: `~/.gitconfig`, `$XDG_CONFIG_HOME/git/{config,
    /// attributes}` and `/etc/gitconfig` (whether they exist yet or not).
    private static func globalConfigFiles() -> [FilePath] {
        var files: [FilePath] = []
        for directory in GitLibrary.configSearchDirectories(level: .global) {
            files.append(FilePath(bytes: directory).appending(".gitconfig"))
        }
        for directory in GitLibrary.configSearchDirectories(level: .xdg) {
            files += ["config", "attributes"].map { FilePath(bytes: directory).appending($0) }
        }
        for directory in GitLibrary.configSearchDirectories(level: .system) {
            files.append(FilePath(bytes: directory).appending("gitconfig"))
        }
        return files
    }

    /// Watches, for each external file git reads, its directory, or the nearest existing
    /// ancestor until the file's directory is created; drops watches no file needs any more.
    private func resolveExternalLocked() {
        var interest: [FilePath: Set<FilePath.Component>] = [:]
        let targets = worktrees.isEmpty ? [] : Set(globalFiles + worktrees.values.flatMap(\.externalFiles))
        for target in targets {
            var directory = target.removingLastComponent()
            var next = target.lastComponent
            while DirectoryListing.lstatKind(directory) != .directory, !directory.isEmpty, directory != "/" {
                next = directory.lastComponent
                directory = directory.removingLastComponent()
            }
            if let next { interest[directory, default: []].insert(next) }
        }
        externalInterest = interest
        for directory in interest.keys {
            try? addLocked(directory, owner: Self.externalOwner, role: .external)
        }
        for watch in table.remove(Self.externalOwner, role: .external, notIn: Set(interest.keys)) { inotify?.removeWatch(watch) }
    }

    // MARK: Reading events

    /// Tests hold the reader back to let the kernel queue overflow.
    func suspendReading() {
        readGate.withLock { readingSuspended = true }
    }

    func resumeReading() {
        readGate.withLock {
            readingSuspended = false
            readGate.broadcast()
        }
    }

    private func readLoop() {
        defer { stopped.signal() }
        guard let inotify else { return }
        while true {
            readGate.withLock {
                while readingSuspended { readGate.wait() }
            }
            if lock.withLock({ stopping }) { return }
            let ready: (descriptor: Bool, other: Bool)
            do {
                ready = try SystemCall.waitReadable(inotify.descriptor, or: wake.descriptor)
            } catch {
                logger.error("inotify reader stopped", metadata: ["error": "\(error)"])
                return
            }
            if ready.other { wake.drain() }
            if !ready.descriptor { continue }
            let signals: [WatchSignal]
            do {
                let events = try inotify.readEvents()
                signals = lock.withLock { handleLocked(events) }
            } catch {
                logger.error("cannot read inotify events", metadata: ["error": "\(error)"])
                return
            }
            signals.forEach(emit)
        }
    }

    /// What a batch of events asks for besides "these worktrees changed".
    private struct FollowUp {
        var refresh = Set<String>()
        var indexChanged = Set<String>()
        var externalChanged = false
    }

    /// Turns raw events into signals, adding and dropping watches as directories come and go.
    private func handleLocked(_ events: [InotifyEvent]) -> [WatchSignal] {
        var changed: [String: WorktreeChanges] = [:]
        var signals: [WatchSignal] = []
        var followUp = FollowUp()
        var triggers = Set<MembershipTrigger>()
        for event in events {
            if event.isOverflow {
                signals.append(.overflow)
                continue
            }
            if event.isWatchRemoved {
                table.drop(event.watch)
                continue
            }
            guard let entry = table.entry(event.watch) else { continue }
            for (owner, role) in entry.owners {
                if owner == Self.membershipOwner {
                    triggers.formUnion(membershipTriggers(event, in: entry.path))
                    continue
                }
                if owner == Self.externalOwner {
                    if let name = event.component, externalInterest[entry.path]?.contains(name) == true {
                        followUp.externalChanged = true
                    }
                    continue
                }
                switch role {
                case .tree:
                    if event.isSelfGone, entry.path == worktrees[owner]?.root {
                        removeLocked(owner)
                        changed[owner] = nil
                        signals.append(.rootGone(owner))
                        continue
                    }
                    if changed[owner]?.needsFullStatus != true {
                        changed[owner, default: WorktreeChanges.files([])].merge(treeChange(event, in: entry.path, owner: owner))
                    }
                    handleTreeEvent(event, in: entry.path, owner: owner, followUp: &followUp)
                case .gitDirectory, .refs, .info:
                    // Lock files come and go around every ref or index update; the rename
                    // that follows is the change.
                    if let name = event.name, name.count > 5, name.suffix(5).elementsEqual(Self.lockSuffix) { continue }
                    changed[owner, default: WorktreeChanges.files([])].merge(.everything)
                    handleGitEvent(event, in: entry.path, role: role, owner: owner, followUp: &followUp)
                case .external, .membership:
                    break
                }
            }
        }
        if followUp.externalChanged {
            resolveExternalLocked()
            followUp.refresh.formUnion(worktrees.keys)
            for owner in worktrees.keys { changed[owner] = .everything }
        }
        for owner in followUp.refresh where worktrees[owner] != nil { refreshLocked(owner) }
        for owner in followUp.indexChanged.subtracting(followUp.refresh) where worktrees[owner] != nil {
            recheckIndexLocked(owner)
        }
        if !changed.isEmpty { signals.insert(.changed(changed), at: 0) }
        if !triggers.isEmpty { signals.append(.membership(triggers)) }
        return signals
    }

    /// What a tree event says changed: the file it names, or (a directory, the directory
    /// itself, `.gitignore`) something only a full status answers.
    private func treeChange(_ event: InotifyEvent, in directory: FilePath, owner: String) -> WorktreeChanges {
        guard let name = event.name, !event.isDirectory, name != Self.gitignoreName,
            let root = worktrees[owner]?.root
        else { return .everything }
        // Byte prefixes, not FilePath components: this runs for every file event.
        let directoryBytes = Self.bytes(of: directory)
        let rootBytes = Self.bytes(of: root)
        guard directoryBytes.starts(with: rootBytes) else { return .everything }
        var relative = Array(directoryBytes.dropFirst(rootBytes.count).drop { $0 == UInt8(ascii: "/") })
        if !relative.isEmpty { relative.append(UInt8(ascii: "/")) }
        return .files([relative + name])
    }

    private static func bytes(of path: FilePath) -> [UInt8] {
        path.withCString { pointer in
            Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer))).map { UInt8(bitPattern: $0) }
        }
    }

    private func handleTreeEvent(
        _ event: InotifyEvent, in directory: FilePath, owner: String, followUp: inout FollowUp
    ) {
        guard let name = event.name else { return }
        if name == Self.gitignoreName { followUp.refresh.insert(owner) }
        guard event.isDirectory, name != Self.gitName, let root = worktrees[owner]?.root,
            let component = event.component
        else { return }
        let child = directory.appending(component)
        if event.isMovedAway {
            for watch in table.removeTree(under: child, owner: owner) { inotify?.removeWatch(watch) }
            if let ignored = worktrees[owner]?.ignored {
                worktrees[owner]?.ignored = ignored.filter { !$0.key.starts(with: child) }
            }
        }
        guard event.isCreated, let layout = layoutLocked(owner) else { return }
        defer { layout.releaseIndex() }
        let relative = Self.relative(child, to: root)
        if layout.isIgnored(relativePath: relative, isDirectory: true), !layout.tracksFiles(under: relative) {
            worktrees[owner]?.ignored[child] = relative
            return
        }
        let found = WatchPlan.treeDirectories(from: child, relative: relative, layout: layout)
        for path in found.watched { try? addLocked(path, owner: owner, role: .tree) }
        for path in found.ignored { worktrees[owner]?.ignored[path] = Self.relative(path, to: root) }
    }

    private func handleGitEvent(
        _ event: InotifyEvent, in directory: FilePath, role: WatchTable.Role, owner: String,
        followUp: inout FollowUp
    ) {
        guard let name = event.name else { return }
        switch role {
        case .refs where event.isDirectory && event.isCreated:
            guard let component = event.component else { return }
            for refs in WatchPlan.refDirectories(under: directory.appending(component)) {
                try? addLocked(refs, owner: owner, role: .refs)
            }
        case .gitDirectory where name == Self.indexName:
            followUp.indexChanged.insert(owner)
        case .gitDirectory where name == Self.configName || name == Self.worktreeConfigName:
            followUp.refresh.insert(owner)
        case .gitDirectory where name == Self.infoName && event.isDirectory && event.isCreated:
            followUp.refresh.insert(owner)
        case .info where name == Self.excludeName || name == Self.sparseCheckoutName:
            followUp.refresh.insert(owner)
        default:
            break
        }
    }

    /// `path`'s bytes relative to `root`, as git names paths (no leading `/`).
    private static func relative(_ path: FilePath, to root: FilePath) -> [UInt8] {
        var components = path.components.dropFirst(root.components.count).map(\.bytes)
        var bytes: [UInt8] = []
        if let first = components.first {
            bytes = first
            components.removeFirst()
        }
        for component in components { bytes += [UInt8(ascii: "/")] + component }
        return bytes
    }

    // Names as the kernel reports them, compared byte for byte.
    private static let gitName = Array(".git".utf8)
    private static let gitignoreName = Array(".gitignore".utf8)
    private static let indexName = Array("index".utf8)
    private static let configName = Array("config".utf8)
    private static let worktreeConfigName = Array("config.worktree".utf8)
    private static let infoName = Array("info".utf8)
    private static let excludeName = Array("exclude".utf8)
    private static let sparseCheckoutName = Array("sparse-checkout".utf8)
    private static let lockSuffix = Array(".lock".utf8)
    private static let worktreesName = Array("worktrees".utf8)
    private static let headName = Array("HEAD".utf8)
    private static let administrativeNames: Set<[UInt8]> = [
        Array("gitdir".utf8), Array("commondir".utf8), Array("HEAD".utf8), Array("locked".utf8),
    ]
}
