internal import CGit2

/// What a file watcher needs to know about one worktree: where its git directories are and
/// which of its directories git ignores. Read-only, like the probe.
///
/// Holds one open repository so many `isIgnored` questions cost one open. Not `Sendable`: a
/// libgit2 repository handle belongs to one thread at a time.
public final class WorktreeIgnoreRules {
    /// The worktree's own git directory (`.git/` for a main checkout, `.git/worktrees/<name>/`
    /// for a linked one): HEAD and the index live here. Ends without `/`.
    public let gitDirectory: String
    /// The repository's common directory (refs, packed-refs, objects). Ends without `/`.
    public let commonDirectory: String
    private let repository: GitRepository

    /// Opens the worktree whose top directory is `worktreePath`.
    public init(worktreePath: String) throws(GitProbeError) {
        GitLibrary.initialize()
        let repository = try GitRepository(openingWorktreeAt: worktreePath)
        self.repository = repository
        gitDirectory = Self.trimmed(git_repository_path(repository.handle).map { String(cString: $0) })
        commonDirectory = Self.trimmed(
            git_repository_commondir(repository.handle).map { String(cString: $0) })
    }

    /// Whether git ignores `relativePath` (relative to the worktree top; a directory may end
    /// in `/`). Unreadable rules count as "not ignored", so the watcher errs on watching.
    public func isIgnored(relativePath: String) -> Bool {
        var ignored: Int32 = 0
        guard git_ignore_path_is_ignored(&ignored, repository.handle, relativePath) == 0 else {
            return false
        }
        return ignored != 0
    }

    private static func trimmed(_ path: String?) -> String {
        guard var path, !path.isEmpty else { return "" }
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
