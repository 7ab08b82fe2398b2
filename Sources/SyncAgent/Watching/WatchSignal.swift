import SystemPackage
import WorktreeProbing

/// What the watcher tells the agent.
package enum WatchSignal: Sendable, Equatable {
    /// Something changed in these worktrees (their files, HEAD, index, refs or ignore rules).
    case changed([String: WorktreeChanges])
    /// The kernel queue overflowed: events were lost, every worktree must be rescanned.
    case overflow
    /// The worktree's top directory was deleted or moved away; its watches are gone.
    case rootGone(String)
    /// Worktrees or clones may have been added, moved or removed (see ``MembershipWatch``).
    case membership(Set<MembershipTrigger>)
    /// A git operation began or ended in these worktrees' own git directories (`index.lock`,
    /// `rebase-merge/`, `rebase-apply/` appearing or going), in the order the events came.
    case operations([GitOperationMark])
}

/// One of the markers git keeps while it works in a worktree appearing (`begun`) or going.
package struct GitOperationMark: Sendable, Equatable {
    package var worktree: String
    package var marker: String
    package var begun: Bool

    package init(worktree: String, marker: String, begun: Bool) {
        self.worktree = worktree
        self.marker = marker
        self.begun = begun
    }
}

/// Where membership may have changed: somewhere under the roots, or in one repository.
package enum MembershipTrigger: Sendable, Hashable {
    /// A directory above the worktrees changed: walk the roots again.
    case roots
    /// The worktree list of the repository with this common directory may have changed.
    case repository(commonDirectory: String)
    /// The legacy SQLite registry was written (the dual-run period).
    case legacyRegistry
}

/// A directory watched for membership, and what its events mean.
package enum MembershipWatch: Sendable, Hashable {
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
package struct WatchedWorktree: Sendable, Equatable, Hashable {
    package var id: String
    package var path: String
}

/// How adding one worktree's watches went.
package enum WatchOutcome: Sendable, Equatable {
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
