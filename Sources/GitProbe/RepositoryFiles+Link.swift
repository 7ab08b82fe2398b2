#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The two-way link between a linked worktree and its administrative directory, which libgit2
/// takes on the word of `gitdir` alone.
extension RepositoryFiles {
    /// Whether a linked worktree and its administrative directory name each other.
    enum Link: Equatable {
        /// `gitdir` names `<worktree>/.git`, and that file names the administrative directory.
        case holds
        /// The `.git` file (or `gitdir`) is gone: git calls the worktree prunable.
        case gone
        /// They do not name each other (a forged or stale `gitdir`); `detail` says how.
        case broken(detail: String)
        /// A file of the link cannot be read; `detail` says why.
        case unreadable(detail: String)
    }

    /// The link between the administrative directory `administrative` and the worktree its
    /// `gitdir` names. Both files are read bounded, never through a symbolic link.
    static func link(of administrative: String) -> Link {
        let gitdirFile = joined(administrative, "gitdir")
        let gitdir: [UInt8]
        do {
            gitdir = try SmallFile.contents(of: gitdirFile, followingLinks: false)
        } catch {
            return link(error, file: gitdirFile)
        }
        guard let dotGit = SmallFile.namedPath(in: gitdir, relativeTo: administrative), dotGit.hasSuffix("/.git") else {
            return .broken(detail: "\(gitdirFile) does not name a worktree's .git file")
        }
        let worktree = String(dotGit.dropLast("/.git".count))
        let back: [UInt8]
        do {
            back = try SmallFile.contents(of: dotGit, followingLinks: false)
        } catch {
            if case .notRegular(let kind) = error, kind == SmallFile.kind(of: S_IFDIR) {
                return .broken(detail: "\(dotGit) is the git directory of a repository of its own, not a link to \(administrative)")
            }
            return link(error, file: dotGit)
        }
        guard let named = SmallFile.namedPath(in: back, prefix: "gitdir: ", relativeTo: worktree.isEmpty ? "/" : worktree)
        else {
            return .broken(detail: "\(dotGit) is not one `gitdir: <path>` line")
        }
        // The same text names the same directory, which exists (its `gitdir` was just read):
        // resolving both, a `readlink` per component, is needed only when the texts differ.
        guard named == administrative
            || SmallFile.resolved(administrative).map({ SmallFile.resolved(named) == $0 }) == true
        else {
            return .broken(detail: "\(dotGit) names \(named), not \(administrative)")
        }
        return .holds
    }

    private static func link(_ refusal: SmallFile.Refusal, file: String) -> Link {
        switch refusal {
        case .missing: .gone
        case .failed: .unreadable(detail: refusal.sentence(file))
        case .symbolicLink, .notRegular, .tooLarge: .broken(detail: refusal.sentence(file))
        }
    }
}
