internal import CGit2
import Foundation

/// Deciding whether the worktree's branch is merged into trunk (docs/lifecycle.md, "How merged
/// is decided"). Everything here reads: refs, the reflog, commits. The one merge runs in a
/// ``MergeSandbox``, whose writes go to memory.
extension GitRepository {
    /// HEAD and trunk, as read for a verdict.
    struct IntegrationStart {
        var inputs: BranchIntegration.Inputs
        var head: Head
        var trunk: (name: String, target: git_oid)?
    }

    /// Reads HEAD and resolves trunk exactly as the probe does for ahead/behind.
    func integrationStart(defaultBranch: String) throws(GitProbeError) -> IntegrationStart {
        let head = try head()
        let trunk = firstResolving(GitProbe.trunkCandidates(defaultBranch))
        let inputs = BranchIntegration.Inputs(
            branch: head.branch, headCommit: head.commit.map(Self.hex), trunkRef: trunk?.name,
            trunkCommit: trunk.map { Self.hex($0.target) })
        return IntegrationStart(inputs: inputs, head: head, trunk: trunk)
    }

    /// The verdict; `sandbox` is asked for only when HEAD has commits trunk does not reach.
    func integration(
        defaultBranch: String, sandbox: () throws(GitProbeError) -> MergeSandbox
    ) throws(GitProbeError) -> BranchIntegration {
        let start = try integrationStart(defaultBranch: defaultBranch)
        func notMerged(_ reason: BranchIntegration.NotMergedReason) -> BranchIntegration {
            BranchIntegration(inputs: start.inputs, verdict: .notMerged(reason))
        }
        guard let branch = start.head.branch else { return notMerged(.detachedHead) }
        guard let head = start.head.commit else { return notMerged(.unbornBranch) }
        guard let trunk = start.trunk else { return notMerged(.noTrunk) }
        guard !isTrunk(branch, defaultBranch: defaultBranch, trunkRef: trunk.name) else { return notMerged(.isTrunk) }

        // A branch whose reflog goes back to its creation and records no commit made on it
        // has none of its own, wherever trunk is (even if trunk was rewritten under it).
        let reflog = ownCommitsInReflog(branch: branch, head: head)
        if reflog == .none { return notMerged(.noOwnCommits) }

        if try isAncestor(head, of: trunk.target) {
            let line = try TrunkLine(in: self, from: trunk.target, notReachedFrom: head)
            let evidence: BranchIntegration.OwnCommitsEvidence
            if reflog == .made {
                evidence = .reflog
            } else if !line.passes(head) {
                evidence = .offTrunkFirstParentLine
            } else if try committedAfterWorktreeCreation(head) {
                evidence = .committedAfterWorktreeCreated
            } else {
                return notMerged(.noOwnCommits)
            }
            // After a fast-forward HEAD is on the line itself; else the oldest commit reaching it.
            let commit =
                try line.passes(head)
                ? head
                : line.oldest { candidate throws(GitProbeError) in try isAncestor(head, of: candidate) } ?? trunk.target
            return BranchIntegration(
                inputs: start.inputs, verdict: .merged(try merge(commit, method: .ancestor, evidence: evidence)))
        }

        // HEAD has commits trunk does not reach: the branch has commits of its own.
        let sandbox = try sandbox()
        guard try sandbox.mergeChangesNothing(merging: head, into: trunk.target, path: path) else {
            return notMerged(.unmergedWork)
        }
        let line = try TrunkLine(in: self, from: trunk.target, notReachedFrom: head)
        let commit =
            try line.oldest { candidate throws(GitProbeError) in
                try sandbox.mergeChangesNothing(merging: head, into: candidate, path: path)
            } ?? trunk.target
        return BranchIntegration(
            inputs: start.inputs,
            verdict: .merged(try merge(commit, method: .integrated, evidence: .commitsTrunkLacks)))
    }

    /// True when `branch` is trunk: the default branch, or the branch trunk's ref names
    /// (`refs/remotes/origin/HEAD` → `origin/master` → `master`).
    func isTrunk(_ branch: String, defaultBranch: String, trunkRef: String) -> Bool {
        if branch == defaultBranch { return true }
        var name = trunkRef
        var reference: OpaquePointer?
        if git_reference_lookup(&reference, handle, trunkRef) == 0, let reference {
            if git_reference_type(reference) == GIT_REFERENCE_SYMBOLIC,
                let target = git_reference_symbolic_target(reference)
            {
                name = String(cString: target)
            }
            git_reference_free(reference)
        }
        for prefix in ["refs/remotes/origin/", "refs/heads/"] where name.hasPrefix(prefix) {
            return String(name.dropFirst(prefix.count)) == branch
        }
        return false
    }

    /// `git merge-base --is-ancestor ancestor commit`.
    func isAncestor(_ ancestor: git_oid, of commit: git_oid) throws(GitProbeError) -> Bool {
        var first = ancestor
        var second = commit
        if git_oid_equal(&first, &second) != 0 { return true }
        let rc = git_graph_descendant_of(handle, &second, &first)
        guard rc >= 0 else { throw .classified(path: path, operation: "git_graph_descendant_of", returnCode: rc) }
        return rc == 1
    }

    /// True when `commit` was committed in a later second than this linked worktree was
    /// created; false for a main worktree (it keeps no creation time) and on a tie.
    func committedAfterWorktreeCreation(_ commit: git_oid) throws(GitProbeError) -> Bool {
        guard let created = linkedWorktreeCreation() else { return false }
        let object = try lookupCommit(commit)
        defer { git_commit_free(object) }
        return Int64(git_commit_time(object)) > Int64(created.tv_sec)
    }

    /// The merge record of `commit`: its committer and committer time.
    func merge(
        _ commit: git_oid, method: BranchIntegration.Method, evidence: BranchIntegration.OwnCommitsEvidence
    ) throws(GitProbeError) -> BranchIntegration.Merge {
        let object = try lookupCommit(commit)
        defer { git_commit_free(object) }
        var name = ""
        var email = ""
        if let signature = git_commit_committer(object) {
            let encoding = git_commit_message_encoding(object).map { String(cString: $0) }
            name = Self.headerText(signature.pointee.name, encoding: encoding)
            email = Self.headerText(signature.pointee.email, encoding: encoding)
        }
        return BranchIntegration.Merge(
            commit: Self.hex(commit), committedAt: Date(timeIntervalSince1970: TimeInterval(git_commit_time(object))),
            committerName: name, committerEmail: email, method: method, evidence: evidence)
    }

    /// A commit header field as `git log` shows it: re-encoded to UTF-8 from the commit's
    /// `encoding` when that works, else as stored.
    static func headerText(_ text: UnsafePointer<CChar>?, encoding: String?) -> String {
        guard let text else { return "" }
        let bytes = PathBytes.of(text)
        if let encoding, !CommitEncoding.isUTF8(encoding), let converted = CommitEncoding.utf8(bytes, from: encoding) {
            return String(decoding: converted, as: UTF8.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func lookupCommit(_ oid: git_oid) throws(GitProbeError) -> OpaquePointer {
        var id = oid
        var commit: OpaquePointer?
        let rc = git_commit_lookup(&commit, handle, &id)
        guard rc == 0, let commit else { throw .classified(path: path, operation: "git_commit_lookup", returnCode: rc) }
        return commit
    }
}
