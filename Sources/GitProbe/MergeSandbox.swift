internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An in-memory object store over one repository's objects, for building worktrees' working
/// states and merging them without writing anything into the repository.
///
/// Reads go to the repository's own packs and loose objects (and its alternates) through
/// read-only wrappers; every object written (blobs of changed files, the trees `git add -A`
/// would record, merged blobs) goes to a mempack backend that lives as long as the sandbox.
/// Nothing is written to disk, no file in the repository is touched (not even the mtime a
/// "freshen" of an existing object would set), no index is written and no lock is taken.
///
/// Not `Sendable`: one sandbox is used by one thread. Memory grows with what is built in it
/// (``storedBytes`` counts it; files over 1 MiB are never stored); drop it after a batch or
/// when over a budget.
public final class MergeSandbox {
    let repository: OpaquePointer
    let odb: OpaquePointer
    /// The counting wrapper of the in-memory store (owned by `odb`).
    private let mempack: UnsafeMutablePointer<git_odb_backend>
    public let commonDirectory: String

    /// A sandbox over the objects of the repository whose common git directory is
    /// `commonDirectory` (`.git` of the main clone).
    public init(commonDirectory: String) throws(GitProbeError) {
        GitLibrary.initialize()
        // libgit2 caches no blobs and no trees over 4 KB by default, so every pair's merge
        // would inflate the same base trees and blobs again; they are kept (within the global
        // cache limit GitLibrary sets).
        _ = Self.cachesSmallBlobs
        _ = Self.acceptsUnstoredBlobs
        self.commonDirectory = commonDirectory
        var odb: OpaquePointer?
        var rc = git_odb_new(&odb)
        guard rc == 0, let odb else {
            throw .classified(path: commonDirectory, operation: "git_odb_new", returnCode: rc)
        }
        var mempack: UnsafeMutablePointer<git_odb_backend>?
        rc = cgit2_odb_add_counted_mempack(odb, 1000, &mempack)
        guard rc == 0, let mempack else {
            git_odb_free(odb)
            throw .classified(path: commonDirectory, operation: "git_mempack_new", returnCode: rc)
        }
        for (offset, objects) in Self.objectDirectories(commonDirectory).enumerated() {
            var pack: UnsafeMutablePointer<git_odb_backend>?
            if git_odb_backend_pack(&pack, objects) == 0, let pack {
                _ = cgit2_odb_add_readonly(odb, pack, Int32(100 - 2 * offset), objects + "/pack")
            }
            var loose: UnsafeMutablePointer<git_odb_backend>?
            if git_odb_backend_loose(&loose, objects, -1, 0, 0, 0) == 0, let loose {
                _ = cgit2_odb_add_readonly(odb, loose, Int32(99 - 2 * offset), nil)
            }
        }
        var repository: OpaquePointer?
        rc = git_repository_wrap_odb(&repository, odb)
        guard rc == 0, let repository else {
            git_odb_free(odb)
            throw .classified(path: commonDirectory, operation: "git_repository_wrap_odb", returnCode: rc)
        }
        self.repository = repository
        self.odb = odb
        self.mempack = mempack
    }

    /// Bytes written into this sandbox's in-memory store so far (blobs, trees, merged blobs):
    /// what it holds, since nothing is ever removed from it.
    public var storedBytes: Int { cgit2_counted_bytes(mempack) }

    private static let cachesSmallBlobs: Bool = {
        cgit2_opts_set_cache_object_limit(GIT_OBJECT_BLOB, 64 * 1024) == 0
            && cgit2_opts_set_cache_object_limit(GIT_OBJECT_TREE, 1024 * 1024) == 0
    }()

    /// A file above ``WorktreeFile/storeLimit`` enters a working state's tree by its id alone,
    /// its blob never written anywhere; libgit2's strict object creation would refuse a tree
    /// naming an object no store has. The product never writes objects into a repository, so
    /// the check guards nothing here; a merge that needs such a blob fails (`GIT_ENOTFOUND`)
    /// and its verdict stays unknown.
    private static let acceptsUnstoredBlobs: Bool = {
        cgit2_opts_set_int(Int32(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION.rawValue), 0) == 0
    }()

    deinit {
        git_repository_free(repository)
        git_odb_free(odb)
    }

    /// `objects/` and the directories `objects/info/alternates` names (one level, as git
    /// reads them for a normal repository).
    private static func objectDirectories(_ commonDirectory: String) -> [String] {
        let objects = commonDirectory + "/objects"
        var directories = [objects]
        if let bytes = try? SmallFile.contents(of: objects + "/info/alternates"),
            let text = String(validating: bytes, as: UTF8.self)
        {
            for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
                directories.append(line.hasPrefix("/") ? String(line) : objects + "/" + line)
            }
        }
        return directories
    }

    /// The size of the index file of the worktree at `path` (0 when it cannot be read): how
    /// expensive a scan of it is.
    public static func indexFileSize(ofWorktreeAt path: String) -> Int {
        GitLibrary.initialize()
        return (try? GitRepository(openingWorktreeAt: path))?.indexFileSize() ?? 0
    }

    /// The common git directory of the worktree at `path` (what a sandbox is made over).
    public static func commonDirectory(ofWorktreeAt path: String) throws(GitProbeError) -> String {
        GitLibrary.initialize()
        let worktree = try GitRepository(openingWorktreeAt: path)
        return GitRepository.trimmed(git_repository_commondir(worktree.handle))
    }

    /// Worktrees whose working states this sandbox built, by path (so another thread's
    /// sandbox knows what to build before merging).
    var built: Set<String> = []

    /// Whether merges run over the paths both sides changed when that is exact (tests turn
    /// it off to compare with the full merge).
    var narrowsMerges = true
    /// Merges the narrow merge answered.
    var narrowedMerges = 0
    /// Each side's changes against an ancestor tree, by the two trees' ids.
    var sideChanges: [String: SideChanges] = [:]
    /// Trees of a few paths of a tree, by the tree's id and the paths.
    var narrowTrees: [String: git_oid] = [:]

    // MARK: Merging

    /// The paths `git merge-tree --write-tree --name-only` would report conflicted when merging
    /// the two working states, each taken as a commit on top of its HEAD: libgit2's in-memory
    /// three-way tree merge from `merge-base(HEAD a, HEAD b)`, with rename detection; over
    /// the paths both sides changed alone where that is exact (``narrowConflictingPaths(_:_:)``).
    public func conflictingPaths(_ a: WorkingState, _ b: WorkingState) throws(GitProbeError) -> [[UInt8]] {
        if narrowsMerges, let narrowed = try narrowConflictingPaths(a, b) { return narrowed }
        return try withTrees(a, b) { ancestor, ours, theirs throws(GitProbeError) in
            try mergeConflicts(ancestor: ancestor, ours: ours, theirs: theirs, path: a.worktreePath)
        }
    }

    /// What ``conflictingPaths(_:_:)`` answers, from merging only the paths both sides
    /// changed; `nil` when that would not be exact (a side deleted a path or changed its
    /// type, so renames could join paths; a file on one side is a directory on the other;
    /// no merge base). Cheap: each side's changes and narrow trees are kept.
    public func narrowConflictingPaths(_ a: WorkingState, _ b: WorkingState) throws(GitProbeError) -> [[UInt8]]? {
        let answer = try withTrees(a, b) { ancestor, ours, theirs throws(GitProbeError) -> [[UInt8]]? in
            guard let ancestor else { return nil }
            return try narrowConflicts(ancestor: ancestor, ours: ours, theirs: theirs, path: a.worktreePath)
        }
        if answer != nil { narrowedMerges += 1 }
        return answer
    }

    /// The pair's trees: `merge-base(HEAD a, HEAD b)`'s (`nil` without one) and the two
    /// working states'.
    private func withTrees<Answer>(
        _ a: WorkingState, _ b: WorkingState,
        _ body: (OpaquePointer?, OpaquePointer, OpaquePointer) throws(GitProbeError) -> Answer
    ) throws(GitProbeError) -> Answer {
        var ancestor: OpaquePointer?
        if let headA = a.headCommit, let headB = b.headCommit, let base = try mergeBase(headA, headB, path: a.worktreePath) {
            ancestor = try treeOfCommit(base, path: a.worktreePath)
        }
        defer { git_tree_free(ancestor) }
        guard let ours = Self.oid(a.tree), let theirs = Self.oid(b.tree) else {
            throw GitProbeError(code: .brokenRepository, path: a.worktreePath, operation: "parse working tree id")
        }
        let ourTree = try lookupTree(ours, path: a.worktreePath)
        defer { git_tree_free(ourTree) }
        let theirTree = try lookupTree(theirs, path: b.worktreePath)
        defer { git_tree_free(theirTree) }
        return try body(ancestor, ourTree, theirTree)
    }

    /// The conflicted paths of libgit2's in-memory three-way merge of two trees.
    func mergeConflicts(
        ancestor: OpaquePointer?, ours: OpaquePointer, theirs: OpaquePointer, path: String
    ) throws(GitProbeError) -> [[UInt8]] {
        var options = git_merge_options()
        git_merge_options_init(&options, UInt32(GIT_MERGE_OPTIONS_VERSION))
        // Resolve-undo entries are for a checkout to undo an automatic resolution; only the
        // conflicts are read here.
        options.flags |= GIT_MERGE_SKIP_REUC.rawValue
        var merged: OpaquePointer?
        let rc = git_merge_trees(&merged, repository, ancestor, ours, theirs, &options)
        guard rc == 0, let merged else {
            throw .classified(path: path, operation: "git_merge_trees (in memory)", returnCode: rc)
        }
        defer { git_index_free(merged) }
        guard git_index_has_conflicts(merged) != 0 else { return [] }
        var iterator: OpaquePointer?
        guard git_index_conflict_iterator_new(&iterator, merged) == 0, let iterator else { return [] }
        defer { git_index_conflict_iterator_free(iterator) }
        var paths = Set<[UInt8]>()
        var base: UnsafePointer<git_index_entry>?
        var our: UnsafePointer<git_index_entry>?
        var their: UnsafePointer<git_index_entry>?
        while git_index_conflict_next(&base, &our, &their, iterator) == 0 {
            for entry in [base, our, their] {
                if let name = entry?.pointee.path { paths.insert(PathBytes.of(name)) }
            }
        }
        return paths.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Merge bases already found, by the two commits (one pair of HEADs serves many pairs of
    /// worktrees); `.some(nil)`: the histories have no common commit.
    private var mergeBases: [String: git_oid?] = [:]

    private func mergeBase(_ first: String, _ second: String, path: String) throws(GitProbeError) -> git_oid? {
        let key = first < second ? first + second : second + first
        if let known = mergeBases[key] { return known }
        guard var one = Self.oid(first), var other = Self.oid(second) else {
            throw GitProbeError(code: .brokenRepository, path: path, operation: "parse commit id")
        }
        var found = git_oid()
        let rc = git_merge_base(&found, repository, &one, &other)
        let base: git_oid?
        if rc == 0 { base = found } else if rc == GIT_ENOTFOUND.rawValue { base = nil } else {
            throw .classified(path: path, operation: "git_merge_base", returnCode: rc)
        }
        mergeBases[key] = .some(base)
        return base
    }

    // MARK: Objects

    func treeOfCommit(_ oid: git_oid, path: String) throws(GitProbeError) -> OpaquePointer {
        var commitOid = oid
        var commit: OpaquePointer?
        var rc = git_commit_lookup(&commit, repository, &commitOid)
        guard rc == 0, let commit else { throw .classified(path: path, operation: "git_commit_lookup", returnCode: rc) }
        defer { git_commit_free(commit) }
        var tree: OpaquePointer?
        rc = git_commit_tree(&tree, commit)
        guard rc == 0, let tree else { throw .classified(path: path, operation: "git_commit_tree", returnCode: rc) }
        return tree
    }

    func lookupTree(_ oid: git_oid, path: String) throws(GitProbeError) -> OpaquePointer {
        var treeOid = oid
        var tree: OpaquePointer?
        let rc = git_tree_lookup(&tree, repository, &treeOid)
        guard rc == 0, let tree else { throw .classified(path: path, operation: "git_tree_lookup", returnCode: rc) }
        return tree
    }

    static func oid(_ hex: String) -> git_oid? {
        var oid = git_oid()
        return git_oid_fromstr(&oid, hex) == 0 ? oid : nil
    }

    static func exists(_ path: [UInt8]) -> Bool {
        var info = stat()
        return withCString(path) { lstat($0, &info) } == 0
    }

    static func withCString<Result>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> Result) -> Result {
        (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }
}
