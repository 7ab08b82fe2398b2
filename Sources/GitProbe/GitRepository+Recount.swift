internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension GitRepository {
    /// The index file's identity (per worktree: a linked worktree's index is in its own git
    /// directory).
    func indexIdentity() -> FileIdentity {
        guard let gitDirectory = git_repository_path(handle) else { return .of("") }
        return .of(String(cString: gitDirectory) + "index")
    }

    /// The porcelain lines of `paths` alone, by a status restricted to them; `nil` when a
    /// path's lines could depend on more than the path: it is a directory on disk now, or its
    /// directory has no index entries (git would collapse it into `dir/`), or the status
    /// reported anything outside the list.
    func recount(_ paths: Set<[UInt8]>, settings: StatusSettings) throws(GitProbeError) -> [[UInt8]: Int]? {
        guard let workdir = git_repository_workdir(handle) else { return nil }
        let top = PathBytes.of(workdir)
        var index = IndexLookup(repository: handle)
        for path in paths {
            let parent = PathBytes.parent(of: path)
            if !parent.isEmpty, !index.hasEntries(under: parent) { return nil }
            if FileKind.isDirectory(top + path) { return nil }
        }

        var lines: [[UInt8]: Int] = [:]
        var outside = false
        let list = PathList(paths.sorted { $0.lexicographicallyPrecedes($1) })
        try list.withStrArray { pathList throws(GitProbeError) in
            // libgit2 1.5 leaves out an untracked file named by a literal path in a
            // subdirectory unless untracked directories are recursed; every path here is in a
            // directory the index has entries in, which git never collapses, so recursing
            // changes nothing else.
            try withStatusList(settings: settings, pathList: pathList, recursingUntracked: true) {
                list throws(GitProbeError) in
                Self.forEachEntry(of: list, correctingWith: &index) { status, entry in
                    let count = Self.porcelainLines(forStatus: status)
                    guard count > 0 else { return }
                    guard let path = Self.indexSidePath(of: entry), paths.contains(path),
                        status & GIT_STATUS_INDEX_RENAMED.rawValue == 0
                    else {
                        outside = true
                        return
                    }
                    lines[path, default: 0] += count
                }
            }
        }
        return outside ? nil : lines
    }
}

/// What is at a path on disk, without following a final symbolic link.
enum FileKind {
    static func isDirectory(_ path: [UInt8]) -> Bool {
        var info = stat()
        let rc = (path + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &info) }
        }
        return rc == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
