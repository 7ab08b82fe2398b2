import Foundation
import GitProbe

/// Each worktree's last merge verdict (by registry id) (``GitProbe/BranchIntegration``) and what it was decided
/// from, so a verdict is worked out again only when the worktree's branch, HEAD or trunk moved:
/// at most one in-memory merge per worktree per trunk change. Shared by the probes of one
/// ``WorktreeProber`` (they run on several threads).
package final class IntegrationCache: @unchecked Sendable {
    private let lock = NSLock()
    private var verdicts: [String: BranchIntegration] = [:]

    package init() {}

    /// The verdict for worktree `id` at `path`: the cached one while its inputs are the same,
    /// else a new one (which replaces it).
    package func integration(
        of id: String, at path: String, defaultBranch: String, probe: GitProbe, openRepositories: OpenRepositories
    ) throws(GitProbeError) -> BranchIntegration {
        let inputs = try probe.integrationInputs(
            worktreePath: path, defaultBranch: defaultBranch, openRepositories: openRepositories)
        if let cached = lock.withLock({ verdicts[id] }), cached.inputs == inputs { return cached }
        let fresh = try probe.integration(worktreePath: path, defaultBranch: defaultBranch, openRepositories: openRepositories)
        lock.withLock { verdicts[id] = fresh }
        return fresh
    }

    /// The last verdict for `id`, whatever it was decided from: for a path-level probe, which
    /// is only made while HEAD and the refs are as they were.
    package func last(_ id: String) -> BranchIntegration? {
        lock.withLock { verdicts[id] }
    }

    package func forget(_ id: String) {
        lock.withLock { _ = verdicts.removeValue(forKey: id) }
    }

    /// The worktrees a verdict is kept for.
    package var kept: Set<String> { lock.withLock { Set(verdicts.keys) } }
}
