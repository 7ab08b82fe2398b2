internal import CGit2
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension GitProbe {
    /// The repository at `path` (the top of its main clone or of one of its linked worktrees,
    /// or a bare repository) with every worktree git lists for it: what `git worktree list
    /// --porcelain`, `git remote get-url origin` and `git symbolic-ref refs/remotes/origin/HEAD`
    /// print, from one libgit2 open of the repository (a linked worktree's HEAD is read there,
    /// as `worktrees/<name>/HEAD`). Read-only.
    public func inspectRepository(at path: String) throws(GitProbeError) -> RepositoryInspection {
        try RepositoryFiles.check(path)
        let opened = try GitRepository.opening(repositoryAt: path)
        // A linked worktree names the common repository, which owns the worktree list.
        let repository =
            git_repository_is_worktree(opened.handle) != 0
            ? try GitRepository.opening(repositoryAt: GitRepository.trimmed(git_repository_commondir(opened.handle)))
            : opened
        return try repository.inspection()
    }

    /// What HEAD of the repository or worktree at `path` (a worktree top or a git
    /// directory) names; `nil` when it names nothing readable.
    public func head(at path: String) throws(GitProbeError) -> RepositoryInspection.Head? {
        try RepositoryFiles.check(path)
        return try GitRepository.opening(repositoryAt: path).head().inspected
    }
}

extension GitRepository {
    /// This repository (the common one) and its worktrees.
    func inspection() throws(GitProbeError) -> RepositoryInspection {
        let commonDirectory = Self.trimmed(git_repository_commondir(handle))
        let isBare = git_repository_is_bare(handle) != 0
        var main: RepositoryInspection.Worktree?
        if !isBare {
            main = RepositoryInspection.Worktree(
                administrativeName: nil, path: Self.trimmed(git_repository_workdir(handle)),
                gitDirectory: Self.trimmed(git_repository_path(handle)), head: nil, condition: .valid)
            do {
                main?.head = try head().inspected
            } catch {
                main?.condition = .unreadable(detail: error.description)
            }
        }
        return RepositoryInspection(
            commonDirectory: commonDirectory, isBare: isBare, originURL: try originURL(),
            originDefaultBranch: originDefaultBranch(), main: main,
            linked: try linkedWorktreeNames().map {
                linkedWorktree(named: $0, commonDirectory: commonDirectory)
            })
    }

    /// `git remote get-url origin`; `nil` when there is no origin.
    func originURL() throws(GitProbeError) -> String? {
        var remote: OpaquePointer?
        let rc = git_remote_lookup(&remote, handle, "origin")
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        guard rc == 0, let remote else {
            throw .classified(path: path, operation: "git_remote_lookup origin", returnCode: rc)
        }
        defer { git_remote_free(remote) }
        return git_remote_url(remote).map { String(cString: $0) }
    }

    /// The branch `refs/remotes/origin/HEAD` points at, `origin/` stripped.
    func originDefaultBranch() -> String? {
        var reference: OpaquePointer?
        guard git_reference_lookup(&reference, handle, "refs/remotes/origin/HEAD") == 0, let reference else {
            return nil
        }
        defer { git_reference_free(reference) }
        guard git_reference_type(reference) == GIT_REFERENCE_SYMBOLIC,
            let target = git_reference_symbolic_target(reference).map({ String(cString: $0) })
        else { return nil }
        let prefix = "refs/remotes/origin/"
        return target.hasPrefix(prefix) ? String(target.dropFirst(prefix.count)) : nil
    }

    /// The administrative names under `worktrees/`, as `git_worktree_list` gives them.
    func linkedWorktreeNames() throws(GitProbeError) -> [String] {
        var names = git_strarray()
        let rc = git_worktree_list(&names, handle)
        guard rc == 0 else {
            throw .classified(path: path, operation: "git_worktree_list", returnCode: rc)
        }
        defer { git_strarray_dispose(&names) }
        return (0..<names.count).compactMap { names.strings[$0].map { String(cString: $0) } }
    }

    /// One linked worktree: its path, its condition and, when it is valid, its HEAD. It is
    /// valid only when the link holds both ways: its administrative directory's `gitdir` names
    /// `<path>/.git`, and that file names the administrative directory back (libgit2 believes
    /// `gitdir` alone, so a forged one would make any directory a worktree).
    func linkedWorktree(named name: String, commonDirectory: String) -> RepositoryInspection.Worktree {
        var worktree = RepositoryInspection.Worktree(
            administrativeName: name, path: "", gitDirectory: commonDirectory + "/worktrees/" + name,
            head: nil, condition: .valid)
        do {
            try RepositoryFiles.checkGitDirectory(worktree.gitDirectory, for: worktree.gitDirectory)
        } catch {
            worktree.condition = .unreadable(detail: error.description)
            return worktree
        }
        var handle: OpaquePointer?
        let rc = git_worktree_lookup(&handle, self.handle, name)
        guard rc == 0, let handle else {
            worktree.condition = .unreadable(
                detail: GitProbeError.libgit2(
                    .brokenRepository, path: worktree.gitDirectory, operation: "git_worktree_lookup", returnCode: rc
                ).description)
            return worktree
        }
        defer { git_worktree_free(handle) }
        worktree.path = git_worktree_path(handle).map { Self.trimmed($0) } ?? ""
        let link = RepositoryFiles.link(of: worktree.gitDirectory)
        switch link {
        case .broken(let detail):
            worktree.condition = .notLinked(detail: detail)
            return worktree
        case .unreadable(let detail):
            worktree.condition = .unreadable(detail: detail)
            return worktree
        case .holds, .gone: break
        }
        if link == .gone || git_worktree_validate(handle) != 0 || !Self.isDirectory(worktree.path) {
            var reason = git_buf()
            defer { git_buf_dispose(&reason) }
            if git_worktree_is_locked(&reason, handle) > 0 {
                let text = reason.ptr.map { String(cString: $0) } ?? ""
                worktree.condition = .locked(reason: text.trimmingCharacters(in: .whitespacesAndNewlines))
            } else {
                worktree.condition = .prunable
            }
            // Git still shows what HEAD named; its administrative directory keeps HEAD.
            worktree.head = try? GitRepository.opening(repositoryAt: worktree.gitDirectory).head().inspected
            return worktree
        }
        do {
            worktree.head = try head(reference: "worktrees/" + name + "/HEAD").inspected
        } catch {
            worktree.condition = .unreadable(detail: error.description)
        }
        return worktree
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return !path.isEmpty && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// A path libgit2 gave, without its trailing `/`.
    static func trimmed(_ path: UnsafePointer<CChar>?) -> String {
        guard let path else { return "" }
        var text = String(cString: path)
        while text.count > 1, text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

extension GitRepository.Head {
    var inspected: RepositoryInspection.Head? {
        if let branch { return .branch(branch, commit: commit.map(GitRepository.hex)) }
        return commit.map { .detached(commit: GitRepository.hex($0)) }
    }
}
