/// What the registry needs to know about one repository and its worktrees: the values `scan`
/// turns into projects and worktree rows. Read with libgit2's repository and worktree API, never
/// written; paths as libgit2 resolved them, without a trailing `/`.
public struct RepositoryInspection: Sendable, Equatable {
    /// The repository's common directory (`.git` of the main clone, or the bare repository).
    public var commonDirectory: String
    /// A bare repository has no main worktree of its own.
    public var isBare: Bool
    /// `git remote get-url origin` (with `url.*.insteadOf` applied); `nil` without an origin.
    public var originURL: String?
    /// The branch `refs/remotes/origin/HEAD` names (`origin/` stripped); `nil` when unset.
    public var originDefaultBranch: String?
    /// The main clone; `nil` for a bare repository.
    public var main: Worktree?
    /// `git worktree list` without the main clone, in git's order of administrative names.
    public var linked: [Worktree]

    public init(
        commonDirectory: String, isBare: Bool, originURL: String?, originDefaultBranch: String?, main: Worktree?,
        linked: [Worktree]
    ) {
        self.commonDirectory = commonDirectory
        self.isBare = isBare
        self.originURL = originURL
        self.originDefaultBranch = originDefaultBranch
        self.main = main
        self.linked = linked
    }

    /// Every worktree, the main clone first.
    public var worktrees: [Worktree] { (main.map { [$0] } ?? []) + linked }

    /// One worktree as `git worktree list --porcelain` describes it.
    public struct Worktree: Sendable, Equatable {
        /// Its administrative name (`.git/worktrees/<name>`); `nil` for the main clone.
        public var administrativeName: String?
        /// Its top directory.
        public var path: String
        /// Its own git directory: `.git` for the main clone, `.git/worktrees/<name>` for a
        /// linked one. It stays put when `git worktree move` moves the directory.
        public var gitDirectory: String
        /// What HEAD names (as its administrative directory keeps it, also for a prunable or
    /// locked worktree); `nil` when HEAD is unreadable.
        public var head: Head?
        public var condition: Condition

        public init(administrativeName: String?, path: String, gitDirectory: String, head: Head?, condition: Condition) {
            self.administrativeName = administrativeName
            self.path = path
            self.gitDirectory = gitDirectory
            self.head = head
            self.condition = condition
        }
    }

    /// What HEAD names.
    public enum Head: Sendable, Equatable {
        /// A branch (`refs/heads/` stripped); `commit` is `nil` while the branch is unborn.
        case branch(String, commit: String?)
        /// A detached HEAD at `commit`.
        case detached(commit: String)

        /// The branch, `nil` when detached.
        public var branch: String? {
            if case .branch(let name, _) = self { name } else { nil }
        }
    }

    /// Whether a linked worktree is usable, as `git worktree list` marks it.
    public enum Condition: Sendable, Equatable {
        /// Its directory and administrative files are in place.
        case valid
        /// Git still lists it but its directory is gone: `git worktree prune` would remove it.
        case prunable
        /// Its directory is gone but it is locked (on removable media, say): kept, not usable.
        case locked(reason: String)
        /// Its administrative files or HEAD cannot be read; `detail` says why.
        case unreadable(detail: String)
        /// Its administrative directory's `gitdir` names a directory whose `.git` does not name
        /// that administrative directory back (a forged or stale `gitdir`): not a worktree of
        /// this repository, whatever libgit2 says. `detail` says how the link is broken.
        case notLinked(detail: String)
    }
}
