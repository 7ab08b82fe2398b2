internal import CGit2
import Foundation

extension GitProbe {
    /// Whether the branch of the worktree whose top directory is `path` is merged into trunk,
    /// and which trunk commit merged it (docs/lifecycle.md, "How merged is decided").
    ///
    /// Strictly read-only: refs, the branch's reflog and commits are read; the one merge that
    /// a branch whose HEAD trunk does not reach needs (more to find the merge commit: at most
    /// ⌈log₂ n⌉ for n commits on trunk's first-parent line since the branch) runs in a
    /// ``MergeSandbox`` that writes to memory only. Trunk is resolved as by ``probe(path:defaultBranch:)``.
    ///
    /// - Parameters:
    ///   - openRepositories: when it holds an open handle for `path`, that handle is used and
    ///     put back; a handle opened here is not added.
    ///   - sandbox: a sandbox over this worktree's repository to merge in (its cached trees are
    ///     reused); without one, or one over another repository, a sandbox is made when needed.
    public func integration(
        worktreePath path: String, defaultBranch: String,
        openRepositories: OpenRepositories? = nil, sandbox: MergeSandbox? = nil
    ) throws(GitProbeError) -> BranchIntegration {
        try withWorktree(path, openRepositories: openRepositories) { repository throws(GitProbeError) in
            let commonDirectory = GitRepository.trimmed(git_repository_commondir(repository.handle))
            return try repository.integration(defaultBranch: defaultBranch) { () throws(GitProbeError) in
                if let sandbox, Self.sameDirectory(sandbox.commonDirectory, commonDirectory) { return sandbox }
                return try MergeSandbox(commonDirectory: commonDirectory)
            }
        }
    }

    /// The branch, HEAD and trunk a verdict of ``integration(worktreePath:defaultBranch:openRepositories:sandbox:)``
    /// would be decided from, read without deciding it: a cache key.
    public func integrationInputs(
        worktreePath path: String, defaultBranch: String, openRepositories: OpenRepositories? = nil
    ) throws(GitProbeError) -> BranchIntegration.Inputs {
        try withWorktree(path, openRepositories: openRepositories) { repository throws(GitProbeError) in
            try repository.integrationStart(defaultBranch: defaultBranch).inputs
        }
    }

    private func withWorktree<Result>(
        _ path: String, openRepositories: OpenRepositories?,
        _ body: (GitRepository) throws(GitProbeError) -> Result
    ) throws(GitProbeError) -> Result {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GitProbeError(code: .missingPath, path: path, operation: "check path exists")
        }
        if let open = openRepositories?.take(path) {
            let result = try body(open)
            openRepositories?.put(open, for: path)
            return result
        }
        return try body(try GitRepository(openingWorktreeAt: path))
    }

    private static func sameDirectory(_ first: String, _ second: String) -> Bool {
        first.withCString { one in second.withCString { two in GitRepository.sameFile(one, two) } }
    }
}
