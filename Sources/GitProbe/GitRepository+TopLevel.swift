internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the partitioned status needs to know about the top level of the worktree.
extension GitRepository {
    /// Size in bytes of this worktree's index file, a cheap proxy for how many files it tracks.
    func indexFileSize() -> Int? {
        guard let gitDirectory = git_repository_path(handle) else { return nil }
        // git_repository_path ends with "/" and is the per-worktree git dir for linked
        // worktrees, which is where their own index lives.
        let indexPath = String(cString: gitDirectory) + "index"
        var info = stat()
        guard stat(indexPath, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Every top-level name status could report something under: the entries on disk (tracked,
    /// untracked or deleted-then-recreated) and those in HEAD's root tree (deleted from both the
    /// index and disk). Index-only names are checked afterwards, see `indexTopLevelNames`.
    func topLevelNames(headCommit: git_oid?) throws(GitProbeError) -> Set<[UInt8]> {
        var names = Set<[UInt8]>()
        guard let workdir = git_repository_workdir(handle), let directory = opendir(workdir) else {
            throw GitProbeError(code: .libgit2, path: path, operation: "list worktree top level")
        }
        defer { closedir(directory) }
        // d_name is read in place: readdir's record may be shorter than `struct dirent`, so
        // copying the whole fixed-size field would read past the name's end.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        while let entry = readdir(directory) {
            let name = PathBytes.of(
                UnsafeRawPointer(entry).advanced(by: nameOffset)
                    .assumingMemoryBound(to: CChar.self))
            if name == Self.dot || name == Self.dotDot || name == Self.dotGit { continue }
            names.insert(name)
        }

        guard let headCommit else { return names }
        var commitID = headCommit
        var commit: OpaquePointer?
        let commitRC = git_commit_lookup(&commit, handle, &commitID)
        guard commitRC == 0, let commit else {
            throw .classified(path: path, operation: "git_commit_lookup HEAD", returnCode: commitRC)
        }
        defer { git_commit_free(commit) }
        var tree: OpaquePointer?
        let treeRC = git_commit_tree(&tree, commit)
        guard treeRC == 0, let tree else {
            throw .classified(path: path, operation: "git_commit_tree HEAD", returnCode: treeRC)
        }
        defer { git_tree_free(tree) }
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index),
                let name = git_tree_entry_name(entry)
            else { continue }
            names.insert(PathBytes.of(name))
        }
        return names
    }

    /// Top-level names of index entries that are not in `known`; reads the index this handle
    /// already loaded for status.
    ///
    /// Entries are sorted by path, so all entries under one name are adjacent and the set is
    /// consulted once per name, not once per file.
    func indexTopLevelNames(notIn known: Set<[UInt8]>) throws(GitProbeError) -> [[UInt8]] {
        var index: OpaquePointer?
        let rc = git_repository_index(&index, handle)
        guard rc == 0, let index else {
            throw .classified(path: path, operation: "git_repository_index", returnCode: rc)
        }
        defer { git_index_free(index) }

        var missing: [[UInt8]] = []
        var current: [UInt8] = []
        for position in 0..<git_index_entrycount(index) {
            guard let entryPath = git_index_get_byindex(index, position)?.pointee.path else {
                continue
            }
            if !current.isEmpty, Self.isUnder(entryPath, topLevel: current) { continue }
            current = Self.topLevelComponent(of: entryPath)
            if !known.contains(current) { missing.append(current) }
        }
        return missing
    }

    private static let dot = Array(".".utf8)
    private static let dotDot = Array("..".utf8)
    private static let dotGit = Array(".git".utf8)

    /// The path's first component: up to the first `/`, or the whole path.
    private static func topLevelComponent(of path: UnsafePointer<CChar>) -> [UInt8] {
        var bytes: [UInt8] = []
        var position = 0
        while path[position] != 0, path[position] != CChar(UInt8(ascii: "/")) {
            bytes.append(UInt8(bitPattern: path[position]))
            position += 1
        }
        return bytes
    }

    /// True when `path` is `topLevel` itself or lies under `topLevel/`.
    private static func isUnder(_ path: UnsafePointer<CChar>, topLevel: [UInt8]) -> Bool {
        for (offset, byte) in topLevel.enumerated() where UInt8(bitPattern: path[offset]) != byte {
            return false
        }
        let next = path[topLevel.count]
        return next == 0 || next == CChar(UInt8(ascii: "/"))
    }
}
