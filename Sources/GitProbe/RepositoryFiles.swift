#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The small files that say where a repository's git directories are (`.git` files, `HEAD`,
/// `commondir`, `gitdir`), checked with a bounded read before libgit2 reads them whole.
enum RepositoryFiles {
    /// Refuses `top` (a worktree top, a git directory or a bare repository) when its `.git`
    /// file, or a `HEAD`, `commondir` or `gitdir` of the git directory it leads to, is not a
    /// small regular file.
    static func check(_ top: String) throws(GitProbeError) {
        let dotGit = joined(top, ".git")
        var info = stat()
        guard stat(dotGit, &info) == 0 else {
            // No `.git`: `top` may be a git directory itself (a common directory, a bare
            // repository, an administrative directory).
            if exists(joined(top, "objects")) || exists(joined(top, "commondir")) {
                try checkGitDirectory(top, for: top)
            }
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            try checkGitDirectory(dotGit, for: top)
        case S_IFREG:
            let bytes: [UInt8]
            do {
                bytes = try SmallFile.contents(of: dotGit)
            } catch {
                throw refused(error, file: dotGit, for: top)
            }
            guard let named = SmallFile.namedPath(in: bytes, prefix: "gitdir: ", relativeTo: top) else {
                throw GitProbeError(
                    code: .notARepository, path: top, operation: "read .git file",
                    explanation: "\(dotGit) is not one `gitdir: <path>` line")
            }
            try checkGitDirectory(named, for: top)
        default:
            throw GitProbeError(
                code: .notARepository, path: top, operation: "read .git file",
                explanation: "\(dotGit) is \(SmallFile.kind(of: info.st_mode)), not a git directory or .git file")
        }
    }

    /// Refuses the git directory `directory` when its `HEAD`, `commondir` or `gitdir` is there
    /// but not a small regular file; `top` is what the error names.
    static func checkGitDirectory(_ directory: String, for top: String) throws(GitProbeError) {
        for name in ["HEAD", "commondir", "gitdir"] {
            let file = joined(directory, name)
            do {
                _ = try SmallFile.contents(of: file)
            } catch {
                if error == .missing { continue }
                throw refused(error, file: file, for: top)
            }
        }
    }

    /// git ignores a pattern file (`.gitignore`, `.gitattributes`, `info/exclude`) larger
    /// than this (`PATTERN_MAX_FILE_SIZE`, with a warning); libgit2 reads it whole and applies it.
    static let patternFileLimit: Int64 = 100 * 1024 * 1024

    /// Refuses a worktree whose top-level pattern files, or its common directory's
    /// `info/exclude` and `info/attributes`, exceed ``patternFileLimit``: git would ignore
    /// their rules and libgit2 would read them whole, so no answer would be git's. (Pattern
    /// files in subdirectories are found only by a walk, which the status makes itself.)
    static func checkPatternFiles(top: String, commonDirectory: String) throws(GitProbeError) {
        let files = [joined(top, ".gitignore"), joined(top, ".gitattributes"),
                     joined(commonDirectory, "info/exclude"), joined(commonDirectory, "info/attributes")]
        for file in files {
            var info = stat()
            guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int64(info.st_size) > patternFileLimit else {
                continue
            }
            throw GitProbeError(
                code: .fileTooLarge, path: top, operation: "check pattern files",
                explanation: "\(file) is \(Int64(info.st_size) / 1_048_576) MiB: git ignores a pattern file over 100 MiB "
                    + "and libgit2 would read it whole, so its state cannot be read as git's")
        }
    }

    private static func refused(_ refusal: SmallFile.Refusal, file: String, for top: String) -> GitProbeError {
        let code: GitProbeError.Code =
            switch refusal {
            case .tooLarge: .fileTooLarge
            case .failed: .libgit2
            case .missing, .symbolicLink, .notRegular: .notARepository
            }
        return GitProbeError(code: code, path: top, operation: "bounded read", explanation: refusal.sentence(file))
    }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func joined(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
