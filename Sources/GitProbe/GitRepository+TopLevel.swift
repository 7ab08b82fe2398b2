internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What decides whether a status is split over threads.
extension GitRepository {
    /// Size in bytes of this worktree's index file, a cheap proxy for how many files it tracks.
    func indexFileSize() -> Int? {
        guard let indexPath = indexFilePath() else { return nil }
        var info = stat()
        guard stat(indexPath, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Where this worktree's index file is.
    func indexFilePath() -> String? {
        guard let gitDirectory = git_repository_path(handle) else { return nil }
        // git_repository_path ends with "/" and is the per-worktree git dir for linked
        // worktrees, which is where their own index lives.
        return String(cString: gitDirectory) + "index"
    }
}
