internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a branch's reflog says about commits of its own.
enum ReflogOwnCommits: Equatable {
    /// It records a commit made on the branch that HEAD still holds.
    case made
    /// It goes back to the branch's creation and records only moves that make no commit.
    case none
    /// No reflog, one cut short (expired entries), a move it cannot classify, or too many
    /// commits HEAD no longer holds to check.
    case unknown
}

extension GitRepository {
    /// How many reflog entries that made commits are checked against HEAD's history before
    /// the reflog is given up as unknown (each check is a merge-base walk).
    static let reflogCommitChecks = 16

    /// A reflog larger than this (some 40,000 entries) is not read: unknown.
    static let reflogLimit = 8 * 1024 * 1024

    /// Reads `refs/heads/<branch>`'s reflog in the common directory itself, bounded and
    /// non-blocking: libgit2's `git_reflog_read` creates a missing reflog file.
    func ownCommitsInReflog(branch: String, head: git_oid) -> ReflogOwnCommits {
        let file = RepositoryFiles.joined(Self.trimmed(git_repository_commondir(handle)), "logs/refs/heads/" + branch)
        guard let bytes = try? SmallFile.contents(of: file, limit: Self.reflogLimit) else { return .unknown }
        let entries = Self.reflogEntries(bytes)
        guard let oldest = entries.first else { return .unknown }
        let complete = oldest.old == String(repeating: "0", count: 40)
        var unclassified = false
        var checks = 0
        // Newest first: the commit HEAD is now is usually the first one met.
        for entry in entries.reversed() {
            switch Self.reflogMove(entry.message, newCommit: { entry.new }) {
            case .madeCommit:
                guard checks < Self.reflogCommitChecks, let new = MergeSandbox.oid(entry.new) else {
                    unclassified = true
                    continue
                }
                checks += 1
                if git_oid_equal([new], [head]) != 0 || (try? isAncestor(new, of: head)) == true { return .made }
            case .movedOnly:
                continue
            case .unknown:
                unclassified = true
            }
        }
        return complete && !unclassified ? .none : .unknown
    }

    /// The entries of a reflog file, oldest first: `<old> <new> <name> <<email>> <time> <tz>\t<message>`
    /// per line; a line that is not one (a torn last line) is left out.
    static func reflogEntries(_ bytes: [UInt8]) -> [(old: String, new: String, message: String)] {
        bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard line.count >= 82, line[line.startIndex + 40] == UInt8(ascii: " "),
                line[line.startIndex + 81] == UInt8(ascii: " ")
            else { return nil }
            let old = String(decoding: line.prefix(40), as: UTF8.self)
            let new = String(decoding: line.dropFirst(41).prefix(40), as: UTF8.self)
            let tab = line.firstIndex(of: UInt8(ascii: "\t"))
            let message = tab.map { String(decoding: line[($0 + 1)...], as: UTF8.self) } ?? ""
            return (old, new, message)
        }
    }

    enum ReflogMove: Equatable {
        case madeCommit
        case movedOnly
        case unknown
    }

    /// What one reflog entry of a branch did, from the message git writes (git does not
    /// translate reflog messages).
    static func reflogMove(_ message: String, newCommit: () -> String) -> ReflogMove {
        // "commit: …", "commit (initial|amend|merge|cherry-pick): …", "cherry-pick: …",
        // "revert: …", "am: …".
        for prefix in ["commit", "cherry-pick", "revert", "am:"] where message.hasPrefix(prefix) {
            return .madeCommit
        }
        // "rebase (finish): refs/heads/x onto <oid>" (also "rebase -i", "pull --rebase"): a
        // branch without commits of its own is fast-forwarded to exactly <oid>.
        if message.contains(" (finish): "), let onto = message.split(separator: " ").last {
            return String(onto) == newCommit() ? .movedOnly : .madeCommit
        }
        // "merge origin/main: Merge made by the 'ort' strategy." or "pull: Merge made by …".
        if message.hasPrefix("merge ") || message.hasPrefix("pull") {
            if message.hasSuffix(": Fast-forward") { return .movedOnly }
            if message.contains(": Merge made by ") { return .madeCommit }
            return .unknown
        }
        let moves = ["branch: Created from ", "branch: Reset to ", "Branch: renamed ", "reset: moving to "]
        if moves.contains(where: message.hasPrefix) { return .movedOnly }
        return .unknown
    }

    /// When this linked worktree was created: the modification time of its administrative
    /// directory's `commondir` (written by `git worktree add`, never rewritten by git), else
    /// of its `gitdir`; `nil` for a main worktree, which has no such record.
    func linkedWorktreeCreation() -> timespec? {
        guard git_repository_is_worktree(handle) != 0 else { return nil }
        let administrative = Self.trimmed(git_repository_path(handle))
        for name in ["commondir", "gitdir"] {
            var info = stat()
            if lstat(RepositoryFiles.joined(administrative, name), &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                #if canImport(Darwin)
                    return info.st_mtimespec
                #else
                    return info.st_mtim
                #endif
            }
        }
        return nil
    }
}
