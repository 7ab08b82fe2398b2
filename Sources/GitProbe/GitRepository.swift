internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One opened repository for the span of a single probe.
///
/// Owns the `git_repository` handle and frees it in `deinit`; every other libgit2 object is
/// borrowed inside one method and freed there by `defer`, so nothing outlives the probe. A
/// `git_repository` must not be shared between threads, which is why each probe opens its own.
final class GitRepository {
    /// The path as the caller gave it, for error messages.
    let path: String
    let handle: OpaquePointer

    /// Opens the worktree whose top directory is `path`; never searches parent directories.
    convenience init(openingWorktreeAt path: String) throws(GitProbeError) {
        try self.init(openingWorktreeAtBytes: Array(path.utf8))
    }

    /// Opens the worktree at a path given as bytes (a submodule's name need not be UTF-8).
    init(openingWorktreeAtBytes pathBytes: [UInt8]) throws(GitProbeError) {
        let path = String(decoding: pathBytes, as: UTF8.self)
        // libgit2 reads `.git`, `HEAD`, `commondir` and `gitdir` whole with a blocking open:
        // a 2 GB `.git` or a FIFO named HEAD is refused here, bounded, before it looks.
        try RepositoryFiles.check(path)
        var opened: OpaquePointer?
        // NO_SEARCH: a plain directory inside some other checkout must not be mistaken for that
        // checkout, the registry records worktree roots only.
        let flags = GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue
        let rc = (pathBytes + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { name in
                git_repository_open_ext(&opened, name.baseAddress, flags, nil)
            }
        }
        guard rc == 0, let opened else {
            let code: GitProbeError.Code =
                switch rc {
                case GIT_ENOTFOUND.rawValue: .notARepository
                case GIT_EOWNER.rawValue: .libgit2
                default: .brokenRepository
                }
            throw .libgit2(code, path: path, operation: "git_repository_open_ext", returnCode: rc)
        }
        // From here on `deinit` owns the handle, also when the checks below throw.
        self.path = path
        self.handle = opened

        guard git_repository_is_bare(handle) == 0 else {
            throw GitProbeError(
                code: .notARepository, path: path,
                operation: "git_repository_open_ext: bare repository, no worktree")
        }
        // libgit2 happily opens a `.git` directory itself and reports its parent's worktree;
        // git refuses to run status there, and the registry must not record it as a worktree.
        if let gitDirectory = git_repository_path(handle),
            (pathBytes + [0]).withUnsafeBufferPointer({ bytes in
                bytes.withMemoryRebound(to: CChar.self) { Self.sameFile(gitDirectory, $0.baseAddress!) }
            })
        {
            throw GitProbeError(
                code: .notARepository, path: path,
                operation: "git_repository_open_ext: a git directory, not a worktree")
        }
    }

    /// Takes ownership of a handle libgit2 opened (a linked worktree, the common repository).
    init(adopting handle: OpaquePointer, path: String) {
        self.handle = handle
        self.path = path
    }

    /// Opens the repository at `path`, bare or not, a worktree top or a git directory; never
    /// searches parent directories.
    static func opening(repositoryAt path: String) throws(GitProbeError) -> GitRepository {
        var opened: OpaquePointer?
        let rc = git_repository_open_ext(&opened, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        guard rc == 0, let opened else {
            let code: GitProbeError.Code = rc == GIT_ENOTFOUND.rawValue ? .notARepository : .brokenRepository
            throw .libgit2(code, path: path, operation: "git_repository_open_ext", returnCode: rc)
        }
        return GitRepository(adopting: opened, path: path)
    }

    deinit {
        git_repository_free(handle)
    }

    /// What HEAD points at.
    struct Head {
        /// The branch HEAD names (`refs/heads/` stripped); `nil` when detached.
        var branch: String?
        /// The commit HEAD resolves to; `nil` when the branch is unborn.
        var commit: git_oid?
    }

    /// Reads HEAD without peeling further than the commit it names. `reference` names another
    /// HEAD-like reference: `worktrees/<name>/HEAD` is a linked worktree's HEAD read from the
    /// main repository, without opening the worktree.
    func head(reference: String = "HEAD") throws(GitProbeError) -> Head {
        var headRef: OpaquePointer?
        let rc = git_reference_lookup(&headRef, handle, reference)
        guard rc == 0, let headRef else {
            throw .libgit2(.brokenRepository, path: path, operation: "read HEAD", returnCode: rc)
        }
        defer { git_reference_free(headRef) }

        guard git_reference_type(headRef) == GIT_REFERENCE_SYMBOLIC else {
            guard let target = git_reference_target(headRef) else {
                throw GitProbeError(code: .brokenRepository, path: path, operation: "read HEAD")
            }
            return Head(branch: nil, commit: target.pointee)
        }

        let branch = git_reference_symbolic_target(headRef).flatMap { target in
            Self.branchName(fromRefName: String(cString: target))
        }
        var resolved: OpaquePointer?
        let resolveRC = git_reference_resolve(&resolved, headRef)
        if resolveRC == GIT_ENOTFOUND.rawValue {
            return Head(branch: branch, commit: nil)  // unborn: no commit on the branch yet
        }
        guard resolveRC == 0, let resolved else {
            throw .libgit2(
                .brokenRepository, path: path, operation: "resolve HEAD", returnCode: resolveRC)
        }
        defer { git_reference_free(resolved) }
        guard let target = git_reference_target(resolved) else {
            throw GitProbeError(code: .brokenRepository, path: path, operation: "resolve HEAD")
        }
        return Head(branch: branch, commit: target.pointee)
    }

    /// Reads the index (what a status does first), so an index libgit2 cannot read fails here.
    func loadIndex() throws(GitProbeError) {
        var index: OpaquePointer?
        let rc = git_repository_index(&index, handle)
        guard rc == 0, let index else {
            throw .classified(path: path, operation: "git_repository_index", returnCode: rc)
        }
        git_index_free(index)
    }

    /// `git log -1 --format=%s` for `commit`.
    func subject(of commit: git_oid) throws(GitProbeError) -> String {
        var object: OpaquePointer?
        var oid = commit
        let rc = git_commit_lookup(&object, handle, &oid)
        guard rc == 0, let object else {
            throw .libgit2(
                .brokenRepository, path: path, operation: "git_commit_lookup HEAD", returnCode: rc)
        }
        defer { git_commit_free(object) }
        guard let raw = git_commit_message_raw(object) else { return "" }
        // A commit made with i18n.commitEncoding carries an `encoding` header; git log
        // re-encodes header and message to UTF-8 first and shows them as stored when that
        // fails, so the same happens here.
        if let name = git_commit_message_encoding(object).map({ String(cString: $0) }),
            !CommitEncoding.isUTF8(name),
            CommitEncoding.utf8(PathBytes.of(git_commit_raw_header(object)), from: name) != nil,
            let converted = CommitEncoding.utf8(PathBytes.of(raw), from: name)
        {
            return CommitSubject.subject(ofRawMessage: converted)
        }
        // git_commit_summary squashes whitespace differently from git's %s, see CommitSubject.
        return CommitSubject.subject(ofRawMessage: raw)
    }

    /// The first of `refNames` that resolves to an object id, with that id.
    ///
    /// A name that is missing, dangling (a symbolic ref to nothing), malformed or unreadable
    /// counts as not resolving, as `git rev-parse` would treat it.
    func firstResolving(_ refNames: [String]) -> (name: String, target: git_oid)? {
        for name in refNames {
            var oid = git_oid()
            if git_reference_name_to_id(&oid, handle, name) == 0 {
                return (name, oid)
            }
        }
        return nil
    }

    /// `git rev-list --count upstream..local` and `local..upstream`.
    func aheadBehind(
        local: git_oid, upstream: git_oid
    ) throws(GitProbeError) -> (ahead: Int, behind: Int) {
        var ahead = 0
        var behind = 0
        var localOid = local
        var upstreamOid = upstream
        let rc = git_graph_ahead_behind(&ahead, &behind, handle, &localOid, &upstreamOid)
        guard rc == 0 else {
            throw .classified(path: path, operation: "git_graph_ahead_behind", returnCode: rc)
        }
        return (ahead, behind)
    }

    /// True when both paths name the same existing file or directory.
    static func sameFile(_ first: UnsafePointer<CChar>, _ second: UnsafePointer<CChar>) -> Bool {
        var firstInfo = stat()
        var secondInfo = stat()
        guard stat(first, &firstInfo) == 0, stat(second, &secondInfo) == 0 else { return false }
        return firstInfo.st_dev == secondInfo.st_dev && firstInfo.st_ino == secondInfo.st_ino
    }

    /// `refs/heads/topic` → `topic`; anything outside `refs/heads/` is not a branch.
    static func branchName(fromRefName name: String) -> String? {
        let prefix = "refs/heads/"
        guard name.hasPrefix(prefix) else { return nil }
        return String(name.dropFirst(prefix.count))
    }

    /// Lower-case hex of `oid`, as `git rev-parse` prints it.
    static func hex(_ oid: git_oid) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return withUnsafeBytes(of: oid.id) { bytes in
            var text = [UInt8]()
            text.reserveCapacity(bytes.count * 2)
            for byte in bytes {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0f)])
            }
            return String(decoding: text, as: UTF8.self)
        }
    }
}
