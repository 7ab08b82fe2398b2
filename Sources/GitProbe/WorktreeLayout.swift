internal import CGit2

/// What a file watcher needs to know about one worktree: where its git directories are, which
/// directories git ignores, which ignored directories still hold tracked files, its
/// submodules' git directories, and the ignore file it reads from outside the repository.
/// Read-only, like the probe. Paths are bytes (file names need not be UTF-8); directories end
/// without `/`.
///
/// Holds one open repository so many questions cost one open. Not `Sendable`: a libgit2
/// repository handle belongs to one thread at a time.
public final class WorktreeLayout {
    /// The worktree's top directory as libgit2 resolved it.
    public let workdir: [UInt8]
    /// The worktree's own git directory (`.git/` for a main checkout, `.git/worktrees/<name>/`
    /// for a linked one): HEAD and the index live here.
    public let gitDirectory: [UInt8]
    /// The repository's common directory (refs, packed-refs, info/, config).
    public let commonDirectory: [UInt8]
    private let repository: GitRepository
    private var index: OpaquePointer?
    private var indexLoaded = false

    /// Opens the worktree whose top directory is `worktreePath`.
    public convenience init(worktreePath: String) throws(GitProbeError) {
        try self.init(worktreePathBytes: Array(worktreePath.utf8))
    }

    /// Opens the worktree whose top directory is `worktreePathBytes`.
    public init(worktreePathBytes: [UInt8]) throws(GitProbeError) {
        GitLibrary.initialize()
        try RepositoryFiles.check(String(decoding: worktreePathBytes, as: UTF8.self))
        let repository = try GitRepository(openingWorktreeAtBytes: worktreePathBytes)
        self.repository = repository
        gitDirectory = Self.trimmed(git_repository_path(repository.handle))
        commonDirectory = Self.trimmed(git_repository_commondir(repository.handle))
        workdir = Self.trimmed(git_repository_workdir(repository.handle))
    }

    deinit {
        git_index_free(index)
    }

    /// What HEAD names, as ``RepositoryInspection`` reports it; `nil` when unreadable.
    public func head() -> RepositoryInspection.Head? {
        try? repository.head().inspected
    }

    /// Whether git ignores `relativePath` (relative to the worktree top). Unreadable rules
    /// count as "not ignored", so the watcher errs on watching.
    public func isIgnored(relativePath: [UInt8], isDirectory: Bool) -> Bool {
        var ignored: Int32 = 0
        let query = relativePath + (isDirectory ? [UInt8(ascii: "/"), 0] : [0])
        let rc = query.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { name in
                git_ignore_path_is_ignored(&ignored, repository.handle, name.baseAddress)
            }
        }
        return rc == 0 && ignored != 0
    }

    /// Whether the index tracks a file under the directory `relativeDirectory`: an ignored
    /// directory holding a tracked file (`git add -f build/keep.txt`) still changes git state.
    /// The index is re-read when it changed on disk since the last question.
    public func tracksFiles(under relativeDirectory: [UInt8]) -> Bool {
        guard let index = currentIndex() else { return false }
        let prefix = relativeDirectory + [UInt8(ascii: "/"), 0]
        var position = 0
        return prefix.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { name in
                git_index_find_prefix(&position, index, name.baseAddress) == 0
            }
        }
    }

    /// The git directory and common directory of every checked-out submodule, nested ones
    /// included: a commit or checkout inside a submodule changes only those, yet the
    /// superproject's status shows the submodule as modified.
    public func submoduleDirectories(depthLimit: Int = 4) -> [(gitDirectory: [UInt8], commonDirectory: [UInt8])] {
        guard depthLimit > 0, let index = currentIndex() else { return [] }
        var found: [(gitDirectory: [UInt8], commonDirectory: [UInt8])] = []
        for position in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, position),
                entry.pointee.mode == GIT_FILEMODE_COMMIT.rawValue, let path = entry.pointee.path
            else { continue }
            let directory = workdir + [UInt8(ascii: "/")] + PathBytes.of(path)
            // An uninitialised submodule has no repository yet; nothing of it can change.
            guard let submodule = try? WorktreeLayout(worktreePathBytes: directory),
                submodule.workdir == directory
            else { continue }
            found.append((submodule.gitDirectory, submodule.commonDirectory))
            found += submodule.submoduleDirectories(depthLimit: depthLimit - 1)
        }
        return found
    }

    /// The ignore file git reads from outside the repository: `core.excludesFile`, else
    /// `$XDG_CONFIG_HOME/git/ignore` (which may not exist yet).
    public func excludesFile() -> [UInt8]? {
        var config: OpaquePointer?
        if git_repository_config_snapshot(&config, repository.handle) == 0, let config {
            defer { git_config_free(config) }
            var buffer = git_buf()
            defer { git_buf_dispose(&buffer) }
            if git_config_get_path(&buffer, config, "core.excludesfile") == 0, let text = buffer.ptr {
                return PathBytes.of(text)
            }
        }
        guard let xdg = GitLibrary.configSearchDirectories(level: .xdg).first else { return nil }
        return xdg + Array("/ignore".utf8)
    }

    /// Drops the index read for ``tracksFiles(under:)`` and ``submoduleDirectories(depthLimit:)``.
    /// The repository keeps what it loaded until it is freed; a watcher keeps a few layouts
    /// open, so it calls this after each walk to keep memory to the worktrees' count, not
    /// their sizes (a 100,000-file index is about 10 MB).
    public func releaseIndex() {
        git_index_free(index)
        index = nil
        indexLoaded = false
        git_repository_set_index(repository.handle, nil)
    }

    private func currentIndex() -> OpaquePointer? {
        if !indexLoaded {
            indexLoaded = true
            if git_repository_index(&index, repository.handle) != 0 { index = nil }
        } else if let index {
            // force = 0: re-read only when the file changed on disk.
            _ = git_index_read(index, 0)
        }
        return index
    }

    private static func trimmed(_ path: UnsafePointer<CChar>?) -> [UInt8] {
        guard let path else { return [] }
        var bytes = PathBytes.of(path)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        return bytes
    }
}
