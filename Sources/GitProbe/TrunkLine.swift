internal import CGit2

/// Trunk's first-parent line back to where a branch's HEAD meets it: the commits trunk was
/// at, one after another, since the branch's history joined.
///
/// `commits` runs from trunk (newest) down to, not including, the first commit on the line
/// that HEAD reaches (`base`): `git rev-list --first-parent trunk ^HEAD`, cut at the first
/// commit the walk would not list. Every merge of the branch into trunk is one of them.
struct TrunkLine {
    /// Newest first; none of them is reached from HEAD.
    var commits: [git_oid]
    /// The first commit on the line HEAD reaches; `nil` when the line ends first.
    var base: git_oid?

    /// Walks `git rev-list trunk ^head` (every commit trunk has and HEAD lacks: about the
    /// behind count), then follows first parents from trunk through that set.
    init(in repository: GitRepository, from trunk: git_oid, notReachedFrom head: git_oid) throws(GitProbeError) {
        var walk: OpaquePointer?
        var rc = git_revwalk_new(&walk, repository.handle)
        guard rc == 0, let walk else {
            throw .classified(path: repository.path, operation: "git_revwalk_new", returnCode: rc)
        }
        defer { git_revwalk_free(walk) }
        var start = trunk
        var hidden = head
        rc = git_revwalk_push(walk, &start)
        if rc == 0 { rc = git_revwalk_hide(walk, &hidden) }
        guard rc == 0 else { throw .classified(path: repository.path, operation: "git_revwalk_push", returnCode: rc) }
        var unreached = Set<CommitKey>()
        var next = git_oid()
        while true {
            rc = git_revwalk_next(&next, walk)
            if rc == GIT_ITEROVER.rawValue { break }
            guard rc == 0 else { throw .classified(path: repository.path, operation: "git_revwalk_next", returnCode: rc) }
            unreached.insert(CommitKey(next))
        }

        commits = []
        var current: git_oid? = trunk
        while let oid = current, unreached.contains(CommitKey(oid)) {
            commits.append(oid)
            let commit = try repository.lookupCommit(oid)
            current = git_commit_parentcount(commit) > 0 ? git_commit_parent_id(commit, 0)?.pointee : nil
            git_commit_free(commit)
        }
        base = current
    }

    /// True when `commit` is on the line where HEAD meets it: HEAD itself is a commit trunk
    /// was at (a fast-forward), not a side branch a merge brought in.
    func passes(_ commit: git_oid) -> Bool {
        guard var base else { return false }
        var other = commit
        return git_oid_equal(&base, &other) != 0
    }

    /// The oldest of ``commits`` for which `holds` is true, found by binary search: `holds`
    /// must be true for trunk (the first) and stay true from where it first becomes true up
    /// to trunk. At most ⌈log₂ n⌉ calls for n commits.
    func oldest(where holds: (git_oid) throws(GitProbeError) -> Bool) throws(GitProbeError) -> git_oid? {
        guard !commits.isEmpty else { return nil }
        var holding = 0  // holds here
        var failing = commits.count  // does not hold here (or past the end)
        while failing - holding > 1 {
            let middle = (holding + failing) / 2
            if try holds(commits[middle]) { holding = middle } else { failing = middle }
        }
        return commits[holding]
    }
}

/// A commit id as a set element.
struct CommitKey: Hashable {
    private let head: UInt64
    private let middle: UInt64
    private let tail: UInt32

    init(_ oid: git_oid) {
        (head, middle, tail) = withUnsafeBytes(of: oid.id) { bytes in
            (bytes.loadUnaligned(as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        }
    }
}
