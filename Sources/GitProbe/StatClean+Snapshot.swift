internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The same proof as `StatClean.isClean(_:top:)`, answered from a `WorkdirSnapshot` instead
/// of the disk: each check below mirrors a syscall there (a name missing from a complete
/// listing is an `openat`/`fstatat` that fails; a listing's count is the `readdir` count).
extension StatClean {
    /// What the snapshot says of one directory's run of index entries.
    private enum Outcome {
        /// Clean, and the run ends before this position.
        case clean(Int)
        case unclean
        /// The snapshot lacks a directory the proof needs.
        case unknown
    }

    /// True when the unit `path` is proved clean from `snapshot`, false when it is not, `nil`
    /// when the snapshot lacks a directory under it (the unit is then checked on disk).
    func verdict(_ path: [UInt8], in snapshot: WorkdirSnapshot) -> Bool? {
        let slash = UInt8(ascii: "/")
        let components = path.split(separator: slash, omittingEmptySubsequences: false)
        guard let last = components.last, !path.isEmpty,
            !components.contains(where: { $0.isEmpty || Array($0) == Self.dotGit })
        else { return false }
        var directory = 0
        for component in components.dropLast() {
            guard let found = snapshot.entry(named: Array(component), in: directory) else { return false }
            let entry = snapshot.entries[found]
            guard entry.fields.isDirectory else { return false }  // a symlink is not followed
            guard entry.child >= 0 else { return nil }
            directory = Int(entry.child)
        }
        guard let found = snapshot.entry(named: Array(last), in: directory) else { return false }
        let onDisk = snapshot.entries[found]

        var position = 0
        let exact = MergeSandbox.withCString(path) { git_index_find(&position, index, $0) } == 0
        let prefix = path + [slash]
        var under = 0
        let hasEntriesUnder = MergeSandbox.withCString(prefix) { git_index_find_prefix(&under, index, $0) } == 0
        if !onDisk.fields.isDirectory {
            guard exact, !hasEntriesUnder, let entry = git_index_get_byindex(index, position),
                matches(entry, onDisk.fields)
            else { return false }
            guard let next = git_index_get_byindex(index, position + 1)?.pointee.path else { return true }
            return !Self.hasPrefix(next, path, thenSlashOrEnd: true)
        }
        guard !exact, hasEntriesUnder else { return false }
        guard onDisk.child >= 0 else { return nil }
        switch verify(snapshot, directory: Int(onDisk.child), prefix: prefix, from: under) {
        case .clean: return true
        case .unclean: return false
        case .unknown: return nil
        }
    }

    /// Checks the listing `directory` (whose path is `prefix`, ending in `/`) against the run
    /// of index entries under it starting at `start`.
    private func verify(_ snapshot: WorkdirSnapshot, directory: Int, prefix: [UInt8], from start: Int) -> Outcome {
        // A `.git` there is a name no index entry can have: the count below could not match.
        guard !snapshot.directories[directory].holdsGit else { return .unclean }
        let slash = CChar(UInt8(ascii: "/"))
        let entryCount = git_index_entrycount(index)
        var position = start
        var children = 0
        while position < entryCount, let entry = git_index_get_byindex(index, position),
            let path = entry.pointee.path, Self.hasPrefix(path, prefix)
        {
            children += 1
            let name = path + prefix.count
            guard let end = strchr(name, Int32(slash)) else {
                let length = strlen(name)
                guard !Self.isDotGit(name, length: length),
                    let found = snapshot.entry(named: name, length: length, in: directory),
                    matches(entry, snapshot.entries[found].fields)
                else { return .unclean }
                position += 1
                continue
            }
            let length = UnsafePointer(end) - name
            guard length > 0, !Self.isDotGit(name, length: length),
                let found = snapshot.entry(named: name, length: length, in: directory),
                snapshot.entries[found].fields.isDirectory
            else { return .unclean }
            let child = snapshot.entries[found].child
            guard child >= 0 else { return .unknown }
            let childName = UnsafeRawBufferPointer(start: name, count: length).map { $0 }
            switch verify(snapshot, directory: Int(child), prefix: prefix + childName + [UInt8(slash)], from: position) {
            case .clean(let next): position = next
            case .unclean: return .unclean
            case .unknown: return .unknown
            }
        }
        // Names are unique in a listing and every expected one was found: as many names means
        // no other name (untracked, ignored, an empty directory) is there.
        guard Int(snapshot.directories[directory].count) == children else { return .unclean }
        return .clean(position)
    }
}
