internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The literal paths a split status deals out to its threads.
extension GitRepository {
    /// Paths that together cover everything status could report, none inside another: the
    /// top-level names (on disk, in HEAD's root tree, in the index), then the largest of them
    /// replaced by its children while it holds more than half a thread's share of the index.
    ///
    /// A directory is opened up only when that cannot change what status reports: it is a real
    /// directory on disk with index entries under it (so git never shows it as one untracked
    /// line), is no blob in HEAD, and holds no `.git` of its own. Its children are then the
    /// names on disk, in HEAD's tree and in the index, so nothing under it is left out.
    ///
    /// Each path comes with the number of index entries at or under it.
    func statusUnits(headCommit: git_oid?, index: OpaquePointer, parts: Int) throws(GitProbeError) -> [[UInt8]: Int] {
        guard let workdirName = git_repository_workdir(handle) else {
            throw GitProbeError(code: .libgit2, path: path, operation: "list worktree top level")
        }
        let workdir = PathBytes.of(workdirName)
        let headTree = try tree(of: headCommit)
        defer { git_tree_free(headTree) }

        guard var units = children(of: [], workdir: workdir, headTree: headTree, index: index) else {
            throw GitProbeError(code: .libgit2, path: path, operation: "list worktree top level")
        }
        let total = max(Int(git_index_entrycount(index)), 1)
        var kept = Set<[UInt8]>()
        for _ in 0..<Self.maxOpenedDirectories {
            guard let (largest, count) = units.filter({ !kept.contains($0.key) }).max(by: { $0.value < $1.value }),
                count * 2 * parts > total
            else { break }
            if let inner = children(of: largest, workdir: workdir, headTree: headTree, index: index) {
                units[largest] = nil
                units.merge(inner) { first, _ in first }
            } else {
                kept.insert(largest)
            }
        }
        return units
    }

    /// Enough to balance two to four threads on trees like `src/module/...`.
    private static let maxOpenedDirectories = 8

    /// The children of `directory` (empty: the top) with the number of index entries under
    /// each; `nil` when the directory may not be opened up (see `statusUnits`).
    private func children(
        of directory: [UInt8], workdir: [UInt8], headTree: OpaquePointer?, index: OpaquePointer
    ) -> [[UInt8]: Int]? {
        let slash = UInt8(ascii: "/")
        let prefix = directory.isEmpty ? [] : directory + [slash]
        var units: [[UInt8]: Int] = [:]

        // Index entries are sorted by path, so those under `prefix` are one run.
        var position = 0
        if !directory.isEmpty {
            let found = (prefix + [0]).withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { git_index_find_prefix(&position, index, $0.baseAddress) }
            }
            guard found == 0 else { return nil }
        }
        let entryCount = git_index_entrycount(index)
        var current: [UInt8] = []
        while position < entryCount, let entryPath = git_index_get_byindex(index, position)?.pointee.path {
            position += 1
            guard Self.hasPrefix(entryPath, prefix) else { break }
            if !current.isEmpty, Self.hasPrefix(entryPath, current, thenSlashOrEnd: true) {
                units[current]! += 1
                continue
            }
            var name = prefix
            var offset = prefix.count
            while entryPath[offset] != 0, UInt8(bitPattern: entryPath[offset]) != slash {
                name.append(UInt8(bitPattern: entryPath[offset]))
                offset += 1
            }
            current = name
            units[current, default: 0] += 1
        }

        if !directory.isEmpty {
            var info = stat()
            guard MergeSandbox.withCString(workdir + directory, { lstat($0, &info) }) == 0,
                info.st_mode & S_IFMT == S_IFDIR,
                MergeSandbox.withCString(workdir + prefix + Self.dotGitName, { lstat($0, &info) }) != 0,
                errno == ENOENT
            else { return nil }
        }
        guard let names = Self.directoryNames(workdir + directory) else { return nil }
        for name in names where !(directory.isEmpty && name == Self.dotGitName) {
            units[prefix + name, default: 0] += 0
        }

        guard let headTree else { return units }
        var tree = headTree
        var subtree: OpaquePointer?
        defer { git_tree_free(subtree) }
        if !directory.isEmpty {
            var entry: OpaquePointer?
            let rc = MergeSandbox.withCString(directory) { git_tree_entry_bypath(&entry, headTree, $0) }
            if rc == GIT_ENOTFOUND.rawValue { return units }
            guard rc == 0, let entry else { return nil }
            defer { git_tree_entry_free(entry) }
            guard git_tree_entry_type(entry) == GIT_OBJECT_TREE,
                git_tree_lookup(&subtree, handle, git_tree_entry_id(entry)) == 0, let subtree
            else { return nil }
            tree = subtree
        }
        for position in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, position), let name = git_tree_entry_name(entry) else {
                return nil
            }
            units[prefix + PathBytes.of(name), default: 0] += 0
        }
        return units
    }

    /// HEAD's root tree, `nil` for an unborn HEAD; the caller frees it.
    private func tree(of commit: git_oid?) throws(GitProbeError) -> OpaquePointer? {
        guard var commitID = commit else { return nil }
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
        return tree
    }

    /// The names in a directory but `.` and `..`; `nil` when it cannot be listed.
    private static func directoryNames(_ directoryPath: [UInt8]) -> [[UInt8]]? {
        guard let directory = MergeSandbox.withCString(directoryPath, { opendir($0) }) else { return nil }
        defer { closedir(directory) }
        // d_name is read in place: readdir's record may be shorter than `struct dirent`, so
        // copying the whole fixed-size field would read past the name's end.
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        var names: [[UInt8]] = []
        while let entry = readdir(directory) {
            let name = PathBytes.of(UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names
    }

    private static let dotGitName = Array(".git".utf8)

    /// True when `path` starts with `prefix` (and, with `thenSlashOrEnd`, ends or goes on
    /// with `/` right after it).
    private static func hasPrefix(_ path: UnsafePointer<CChar>, _ prefix: [UInt8], thenSlashOrEnd: Bool = false) -> Bool {
        for (offset, byte) in prefix.enumerated() where UInt8(bitPattern: path[offset]) != byte {
            return false
        }
        guard thenSlashOrEnd else { return true }
        let next = path[prefix.count]
        return next == 0 || next == CChar(UInt8(ascii: "/"))
    }
}
