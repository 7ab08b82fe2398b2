#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GitProbe
import Logging

/// What the watcher tells the agent.
enum WatchSignal: Sendable, Equatable {
    /// Something changed in these worktrees (their files, HEAD, index or refs).
    case changed(Set<String>)
    /// The kernel queue overflowed: events were lost, every worktree must be rescanned.
    case overflow
    /// The worktree's top directory was deleted or moved away; its watches are gone.
    case rootGone(String)
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
    /// No inotify instance could be created at all.
    case unavailable
}

/// One inotify instance for every worktree, read on its own thread.
///
/// Watches each directory of a worktree that git does not ignore (an ignored `node_modules/`
/// costs nothing), the worktree's git directory (HEAD, index), the common directory
/// (packed-refs) and everything under its `refs/`. Directories are added as they appear and
/// dropped as they go. Nothing is ever written into a repository.
final class WorktreeWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private let inotify: Inotify?
    private var table = WatchTable()
    private var roots: [String: String] = [:]
    /// Open ignore rules of the worktrees that saw new directories lately. Each holds a
    /// libgit2 repository (caches included), so only a few stay open, not one per worktree.
    private var rules: [(id: String, rules: WorktreeIgnoreRules)] = []
    private static let openRulesLimit = 4
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

    // MARK: Adding and removing worktrees

    /// Watches `worktree` (again): its tree minus ignored directories, its git directories.
    func watch(_ worktree: WatchedWorktree) -> WatchOutcome {
        lock.lock()
        defer { lock.unlock() }
        guard inotify != nil else { return .unavailable }
        removeLocked(worktree.id)
        let opened: WorktreeIgnoreRules
        do {
            opened = try WorktreeIgnoreRules(worktreePath: worktree.path)
        } catch {
            var info = stat()
            let exists = stat(worktree.path, &info) == 0
            return exists ? .notAWorktree(reason: error.description) : .missing(reason: error.description)
        }
        roots[worktree.id] = worktree.path
        var pending = [(path: String, role: WatchTable.Role)]()
        pending += directories(under: worktree.path, relative: "", rules: opened).map { ($0, .tree) }
        pending.append((opened.gitDirectory, .gitDirectory))
        if opened.commonDirectory != opened.gitDirectory {
            pending.append((opened.commonDirectory, .refs))
        }
        pending += refDirectories(opened.commonDirectory + "/refs").map { ($0, .refs) }
        for (index, item) in pending.enumerated() {
            do {
                try addLocked(item.path, owner: worktree.id, role: item.role)
            } catch where error.errno == ENOSPC {
                return .limitReached(needed: pending.count - index)
            } catch {
                // ENOENT/EACCES: the directory vanished or is unreadable; it cannot change git state.
                continue
            }
        }
        return .watching(watches: table.watchCount(of: worktree.id))
    }

    /// Stops watching `id`; shared watches stay while another worktree owns them.
    func unwatch(id: String) {
        lock.withLock { removeLocked(id) }
    }

    private func removeLocked(_ id: String) {
        for watch in table.removeOwner(id) { inotify?.removeWatch(watch) }
        roots[id] = nil
        rules.removeAll { $0.id == id }
    }

    private func addLocked(_ path: String, owner: String, role: WatchTable.Role) throws(SystemCallError) {
        guard let inotify else { return }
        if let limit = watchLimitOverride, table.count >= limit {
            throw SystemCallError(call: "inotify_add_watch", errno: ENOSPC, detail: path)
        }
        let watch = try inotify.addWatch(path)
        table.add(watch, path: path, owner: owner, role: role)
    }

    /// The ignore rules of `id`, reusing a recently opened handle.
    private func rulesLocked(_ id: String, root: String) -> WorktreeIgnoreRules? {
        if let index = rules.firstIndex(where: { $0.id == id }) {
            let entry = rules.remove(at: index)
            rules.append(entry)
            return entry.rules
        }
        guard let opened = try? WorktreeIgnoreRules(worktreePath: root) else { return nil }
        rules.append((id, opened))
        if rules.count > Self.openRulesLimit { rules.removeFirst() }
        return opened
    }

    // MARK: Walking directories

    /// `path` and every directory below it that is not `.git` and not ignored by git.
    private func directories(under path: String, relative: String, rules: WorktreeIgnoreRules) -> [String] {
        var found = [path]
        var queue = [(path, relative)]
        while let (directory, relativeDirectory) = queue.popLast() {
            for name in subdirectoryNames(of: directory) where name != ".git" {
                let childRelative = relativeDirectory.isEmpty ? name : relativeDirectory + "/" + name
                if rules.isIgnored(relativePath: childRelative + "/") { continue }
                let child = directory + "/" + name
                found.append(child)
                queue.append((child, childRelative))
            }
        }
        return found
    }

    private func refDirectories(_ path: String) -> [String] {
        var found: [String] = []
        var queue = [path]
        while let directory = queue.popLast() {
            var info = stat()
            guard lstat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            found.append(directory)
            queue += subdirectoryNames(of: directory).map { directory + "/" + $0 }
        }
        return found
    }

    /// Names of the real subdirectories of `path` (symbolic links are not followed).
    private func subdirectoryNames(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var info = stat()
                isDirectory = lstat(path + "/" + name, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            }
            if isDirectory { names.append(name) }
        }
        return names
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
            var descriptors = [
                pollfd(fd: inotify.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            do {
                _ = try SystemCall.poll(&descriptors, timeoutMilliseconds: -1)
            } catch {
                logger.error("inotify reader stopped", metadata: ["error": "\(error)"])
                return
            }
            if descriptors[1].revents != 0 { wake.drain() }
            if descriptors[0].revents == 0 { continue }
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

    /// Turns raw events into signals, adding and dropping watches as directories come and go.
    private func handleLocked(_ events: [InotifyEvent]) -> [WatchSignal] {
        var changed = Set<String>()
        var signals: [WatchSignal] = []
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
                switch role {
                case .tree:
                    if event.isSelfGone, entry.path == roots[owner] {
                        removeLocked(owner)
                        changed.remove(owner)
                        signals.append(.rootGone(owner))
                        continue
                    }
                    changed.insert(owner)
                    let child = entry.path + "/" + event.name
                    if event.isDirectory, event.isMovedAway {
                        for watch in table.removeTree(under: child, owner: owner) {
                            inotify?.removeWatch(watch)
                        }
                    }
                    if event.isDirectory, event.isCreated, event.name != ".git",
                        let root = roots[owner], let ownerRules = rulesLocked(owner, root: root)
                    {
                        let relative = String(child.dropFirst(root.count + 1))
                        if ownerRules.isIgnored(relativePath: relative + "/") { continue }
                        for directory in directories(under: child, relative: relative, rules: ownerRules) {
                            try? addLocked(directory, owner: owner, role: .tree)
                        }
                    }
                case .gitDirectory, .refs:
                    // Lock files come and go around every ref or index update; the rename
                    // that follows is the change.
                    if event.name.hasSuffix(".lock") { continue }
                    changed.insert(owner)
                    if role == .refs, event.isDirectory, event.isCreated {
                        for directory in refDirectories(entry.path + "/" + event.name) {
                            try? addLocked(directory, owner: owner, role: .refs)
                        }
                    }
                }
            }
        }
        if !changed.isEmpty { signals.insert(.changed(changed), at: 0) }
        return signals
    }
}
