#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import LinuxPlatform
import WorktreeProbing

/// What a batch of inotify events means, decided from the ``WatchSet`` alone: no kernel, no
/// walk, no libgit2. It updates the set for what the events themselves settle (a watch the
/// kernel dropped, a worktree whose top went away, a directory moved out) and lists the rest
/// for ``WorktreeWatcher`` to do: directories to walk, worktrees to walk again, indexes to
/// look at, descriptors to remove.
package enum WatchEventClassifier {
    package struct Outcome: Equatable {
        /// What changed per worktree.
        package var changed: [String: WorktreeChanges] = [:]
        package var overflow = false
        /// Worktrees whose top directory was deleted or moved away (already forgotten).
        package var rootsGone: [String] = []
        package var membership = Set<MembershipTrigger>()
        /// Git operations begun or ended, in event order.
        package var operations: [GitOperationMark] = []
        /// Worktrees to walk again with fresh ignore rules (a `.gitignore`, `info/exclude`,
        /// the git config changed).
        package var refresh = Set<String>()
        /// Worktrees whose index changed: an ignored directory may hold a tracked file now.
        package var indexChanged = Set<String>()
        /// A file git reads outside every repository changed: every worktree is walked again.
        package var externalChanged = false
        /// Directories created in a worktree's tree, to walk and watch.
        package var createdDirectories: [Created] = []
        /// Directories created under a refs/ directory, to watch.
        package var createdRefDirectories: [Created] = []
        /// Descriptors no owner needs any more, to remove from the kernel.
        package var orphanedWatches: [Int32] = []

        /// The signals for the agent, changes first.
        package var signals: [WatchSignal] {
            var signals: [WatchSignal] = changed.isEmpty ? [] : [.changed(changed)]
            if overflow { signals.append(.overflow) }
            signals += rootsGone.map(WatchSignal.rootGone)
            if !membership.isEmpty { signals.append(.membership(membership)) }
            if !operations.isEmpty { signals.append(.operations(operations)) }
            return signals
        }
    }

    package struct Created: Equatable {
        package var worktree: String
        package var path: FilePath
    }

    package static func classify(_ events: [InotifyEvent], in set: inout WatchSet) -> Outcome {
        var outcome = Outcome()
        for event in events {
            if event.isOverflow {
                outcome.overflow = true
                continue
            }
            if event.isWatchRemoved {
                set.drop(event.watch)
                continue
            }
            guard let entry = set.entry(event.watch) else { continue }
            for (owner, role) in entry.owners {
                switch owner {
                case .membership:
                    for kind in set.membership[entry.path] ?? [] {
                        if let trigger = membershipTrigger(event, kind: kind) { outcome.membership.insert(trigger) }
                    }
                case .external:
                    if let name = event.component, set.externalInterest[entry.path]?.contains(name) == true {
                        outcome.externalChanged = true
                    }
                case .worktree(let id):
                    classify(event, in: entry.path, worktree: id, role: role, set: &set, outcome: &outcome)
                }
            }
        }
        if outcome.externalChanged {
            outcome.refresh.formUnion(set.worktrees.keys)
            for id in set.worktrees.keys { outcome.changed[id] = .everything }
        }
        return outcome
    }

    private static func classify(
        _ event: InotifyEvent, in directory: FilePath, worktree id: String, role: WatchSet.Role,
        set: inout WatchSet, outcome: inout Outcome
    ) {
        switch role {
        case .tree:
            guard let root = set.worktrees[id]?.root else { return }
            if event.isSelfGone, directory == root {
                outcome.orphanedWatches += set.removeOwner(.worktree(id))
                outcome.changed[id] = nil
                outcome.rootsGone.append(id)
                return
            }
            if outcome.changed[id]?.needsFullStatus != true {
                outcome.changed[id, default: WorktreeChanges.files([])].merge(treeChange(event, in: directory, root: root))
            }
            guard let name = event.name else { return }
            if name == gitignoreName { outcome.refresh.insert(id) }
            guard event.isDirectory, name != gitName, let component = event.component else { return }
            let child = directory.appending(component)
            if event.isMovedAway { outcome.orphanedWatches += set.removeTree(under: child, of: id) }
            if event.isCreated { outcome.createdDirectories.append(Created(worktree: id, path: child)) }
        case .gitDirectory, .refs, .info:
            if role == .gitDirectory, let name = event.name, operationMarkers.contains(name),
                directory == set.worktrees[id]?.gitDirectory
            {
                if event.isCreated {
                    outcome.operations.append(GitOperationMark(worktree: id, marker: String(decoding: name, as: UTF8.self), begun: true))
                } else if event.isDeleted || event.isMovedAway {
                    outcome.operations.append(GitOperationMark(worktree: id, marker: String(decoding: name, as: UTF8.self), begun: false))
                }
            }
            // Lock files come and go around every ref or index update; the rename that
            // follows is the change.
            if let name = event.name, name.count > 5, name.suffix(5).elementsEqual(lockSuffix) { return }
            outcome.changed[id, default: WorktreeChanges.files([])].merge(.everything)
            guard let name = event.name else { return }
            switch role {
            case .refs where event.isDirectory && event.isCreated:
                if let component = event.component {
                    outcome.createdRefDirectories.append(Created(worktree: id, path: directory.appending(component)))
                }
            case .gitDirectory where name == indexName:
                outcome.indexChanged.insert(id)
            case .gitDirectory where name == configName || name == worktreeConfigName:
                outcome.refresh.insert(id)
            case .gitDirectory where name == infoName && event.isDirectory && event.isCreated:
                outcome.refresh.insert(id)
            case .info where name == excludeName || name == sparseCheckoutName:
                outcome.refresh.insert(id)
            default:
                break
            }
        case .external, .membership:
            break
        }
    }

    /// What a tree event says changed: the file it names, or (a directory, the directory
    /// itself, `.gitignore`) something only a full status answers.
    package static func treeChange(_ event: InotifyEvent, in directory: FilePath, root: FilePath) -> WorktreeChanges {
        guard let name = event.name, !event.isDirectory, name != gitignoreName else { return .everything }
        // Byte prefixes, not FilePath components: this runs for every file event.
        let directoryBytes = bytes(of: directory)
        let rootBytes = bytes(of: root)
        guard directoryBytes.starts(with: rootBytes) else { return .everything }
        var relative = Array(directoryBytes.dropFirst(rootBytes.count).drop { $0 == UInt8(ascii: "/") })
        if !relative.isEmpty { relative.append(UInt8(ascii: "/")) }
        return .files([relative + name])
    }

    /// What `event` in a directory watched as `kind` asks of membership.
    package static func membershipTrigger(_ event: InotifyEvent, kind: MembershipWatch) -> MembershipTrigger? {
        let name = event.name
        switch kind {
        case .skeleton:
            guard event.isDirectory || name == gitName else { return nil }
            return event.isCreated || event.isMovedAway || event.isDeleted || event.isSelfGone ? .roots : nil
        case .commonDirectory(let common):
            return name == worktreesName || name == headName ? .repository(commonDirectory: common) : nil
        case .worktreesDirectory(let common):
            return event.isDirectory || event.isSelfGone ? .repository(commonDirectory: common) : nil
        case .administrative(let common):
            if event.isSelfGone { return .repository(commonDirectory: common) }
            guard let name, administrativeNames.contains(name) else { return nil }
            return .repository(commonDirectory: common)
        case .legacyRegistry(let names):
            guard let name, names.contains(name), !event.isMovedAway else { return nil }
            return .legacyRegistry
        }
    }

    private static func bytes(of path: FilePath) -> [UInt8] {
        path.withCString { pointer in
            Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer))).map { UInt8(bitPattern: $0) }
        }
    }

    // Names as the kernel reports them, compared byte for byte.
    package static let gitName = Array(".git".utf8)
    package static let gitignoreName = Array(".gitignore".utf8)
    private static let indexName = Array("index".utf8)
    private static let configName = Array("config".utf8)
    private static let worktreeConfigName = Array("config.worktree".utf8)
    private static let infoName = Array("info".utf8)
    private static let excludeName = Array("exclude".utf8)
    private static let sparseCheckoutName = Array("sparse-checkout".utf8)
    private static let lockSuffix = Array(".lock".utf8)
    /// What git keeps in a worktree's own git directory while an operation runs: the index
    /// lock (commit, checkout, stash, merge, reset…) and a rebase's state directory.
    private static let operationMarkers: Set<[UInt8]> = [
        Array("index.lock".utf8), Array("rebase-merge".utf8), Array("rebase-apply".utf8),
    ]
    private static let worktreesName = Array("worktrees".utf8)
    private static let headName = Array("HEAD".utf8)
    private static let administrativeNames: Set<[UInt8]> = [
        Array("gitdir".utf8), Array("commondir".utf8), Array("HEAD".utf8), Array("locked".utf8),
    ]
}
