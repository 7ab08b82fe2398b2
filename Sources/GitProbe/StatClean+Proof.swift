internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where `StatClean`'s proof reads a directory: the disk, through a descriptor, or the
/// `WorkdirSnapshot` read while the index was parsed. One proof serves both; each lookup here
/// is one syscall there (a name missing from a complete listing is an `openat` or `fstatat`
/// that fails; a listing's count is the `readdir` count).
protocol ProofDirectory {
    /// The name `name` (`length` bytes, NUL-terminated) in this directory, as `kind` asks.
    func lookUp(_ name: UnsafePointer<CChar>, length: Int, as kind: ProofLookupKind) -> ProofLookup<Self>
    /// True when the directory holds exactly `count` names besides `.` and `..`. The last use
    /// of the directory.
    func holds(exactly count: Int) -> Bool
}

enum ProofLookupKind {
    /// An index entry's file: its lstat is enough.
    case file
    /// A directory holding index entries: a symlink to one is not followed.
    case directory
    /// The unit itself: a file or a directory.
    case either
}

enum ProofLookup<Directory> {
    case file(StatFields)
    case directory(Directory)
    /// Not there, or not of the kind asked for.
    case missing
    /// The snapshot did not list that directory: the disk must answer.
    case unknown
}

/// What the proof found for a unit.
enum ProofVerdict {
    case clean
    /// Clean but for these files, whose stat data match the index but are racily clean:
    /// libgit2 must compare their contents.
    case racy([RacyFile])
    case unclean
    /// The snapshot lacks a directory the proof needs.
    case unknown
}

/// A directory on disk, open as a descriptor (closed when the value goes).
final class DiskDirectory: ProofDirectory {
    private var descriptor: Int32

    init?(_ descriptor: Int32) {
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The directory `name` in `parent`, opened without following a symlink.
    static func open(_ name: UnsafePointer<CChar>, in parent: Int32) -> DiskDirectory? {
        DiskDirectory(openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
    }

    func lookUp(_ name: UnsafePointer<CChar>, length: Int, as kind: ProofLookupKind) -> ProofLookup<DiskDirectory> {
        if kind == .directory {
            return Self.open(name, in: descriptor).map { .directory($0) } ?? .missing
        }
        var info = stat()
        guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return .missing }
        let fields = StatFields(info)
        guard kind == .either, fields.isDirectory else { return .file(fields) }
        return Self.open(name, in: descriptor).map { .directory($0) } ?? .missing
    }

    func holds(exactly count: Int) -> Bool {
        guard let directory = fdopendir(descriptor) else { return false }
        descriptor = -1
        defer { closedir(directory) }
        var names = 0
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        errno = 0
        while let record = readdir(directory) {
            let name = UnsafeRawPointer(record).advanced(by: nameOffset).assumingMemoryBound(to: UInt8.self)
            let dot = UInt8(ascii: ".")
            if name[0] == dot && (name[1] == 0 || (name[1] == dot && name[2] == 0)) { continue }
            names += 1
            if names > count { return false }
        }
        return errno == 0 && names == count
    }
}

/// A directory's listing in the snapshot.
struct SnapshotDirectory: ProofDirectory {
    let snapshot: WorkdirSnapshot
    let listing: Int

    func lookUp(_ name: UnsafePointer<CChar>, length: Int, as kind: ProofLookupKind) -> ProofLookup<SnapshotDirectory> {
        guard let found = snapshot.entry(named: name, length: length, in: listing) else { return .missing }
        let entry = snapshot.entries[found]
        guard entry.fields.isDirectory, kind != .file else {
            return kind == .directory ? .missing : .file(entry.fields)
        }
        return entry.child >= 0 ? .directory(SnapshotDirectory(snapshot: snapshot, listing: Int(entry.child))) : .unknown
    }

    func holds(exactly count: Int) -> Bool {
        // A `.git` there is a name no index entry can have.
        let directory = snapshot.directories[listing]
        return !directory.holdsGit && Int(directory.count) == count
    }
}

extension StatClean {
    /// What one directory's run of index entries came to.
    private enum Outcome {
        /// Clean (but for the racy files noted), and the run ends before this position.
        case clean(Int)
        case unclean
        case unknown
    }

    /// The proof for the unit `path` below the worktree's top directory `top`.
    func verdict<Directory: ProofDirectory>(_ path: [UInt8], top: Directory) -> ProofVerdict {
        let slash = UInt8(ascii: "/")
        let components = path.split(separator: slash, omittingEmptySubsequences: false)
        guard let last = components.last, !path.isEmpty,
            !components.contains(where: { $0.isEmpty || Array($0) == Self.dotGit })
        else { return .unclean }
        // The parents are walked name by name without following symlinks: a path under a
        // symlinked directory is no tracked file to git.
        var parent = top
        for component in components.dropLast() {
            let lookup = MergeSandbox.withCString(Array(component)) { parent.lookUp($0, length: component.count, as: .directory) }
            switch lookup {
            case .directory(let child): parent = child
            case .unknown: return .unknown
            case .file, .missing: return .unclean
            }
        }
        let onDisk = MergeSandbox.withCString(Array(last)) { parent.lookUp($0, length: last.count, as: .either) }

        var position = 0
        let exact = MergeSandbox.withCString(path) { git_index_find(&position, index, $0) } == 0
        let prefix = path + [slash]
        var under = 0
        let hasEntriesUnder = MergeSandbox.withCString(prefix) { git_index_find_prefix(&under, index, $0) } == 0
        switch onDisk {
        case .missing: return .unclean
        case .unknown: return .unknown
        case .file(let fields):
            // One entry for the path (no other stage) and none under it.
            guard exact, !hasEntriesUnder, let entry = git_index_get_byindex(index, position) else { return .unclean }
            if let next = git_index_get_byindex(index, position + 1)?.pointee.path,
                Self.hasPrefix(next, path, thenSlashOrEnd: true)
            {
                return .unclean
            }
            switch matches(entry, fields) {
            case .same: return .clean
            case .racy: return .racy([RacyFile(path: path, id: entry.pointee.id, fields: fields)])
            case .different: return .unclean
            }
        case .directory(let directory):
            guard !exact, hasEntriesUnder else { return .unclean }
            var racy: [RacyFile] = []
            switch verify(directory, prefix: prefix, from: under, racy: &racy) {
            case .clean: return racy.isEmpty ? .clean : .racy(racy)
            case .unclean: return .unclean
            case .unknown: return .unknown
            }
        }
    }

    /// Checks `directory` (whose path is `prefix`, ending in `/`) against the run of index
    /// entries under it starting at `start`; the racily clean files met are added to `racy`.
    private func verify<Directory: ProofDirectory>(
        _ directory: Directory, prefix: [UInt8], from start: Int, racy: inout [RacyFile]
    ) -> Outcome {
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
                // A file right in this directory: its name is the rest of the path.
                let length = strlen(name)
                guard !Self.isDotGit(name, length: length) else { return .unclean }
                switch directory.lookUp(name, length: length, as: .file) {
                case .file(let fields):
                    switch matches(entry, fields) {
                    case .same: break
                    case .racy:
                        let path = prefix + UnsafeRawBufferPointer(start: name, count: length)
                        racy.append(RacyFile(path: path, id: entry.pointee.id, fields: fields))
                    case .different: return .unclean
                    }
                case .unknown: return .unknown
                case .directory, .missing: return .unclean
                }
                position += 1
                continue
            }
            let length = UnsafePointer(end) - name
            guard length > 0, !Self.isDotGit(name, length: length) else { return .unclean }
            let childName = UnsafeRawBufferPointer(start: name, count: length).map { $0 }
            // The lookup wants the name alone, NUL-terminated.
            let lookup = MergeSandbox.withCString(childName) { directory.lookUp($0, length: length, as: .directory) }
            switch lookup {
            case .directory(let child):
                switch verify(child, prefix: prefix + childName + [UInt8(slash)], from: position, racy: &racy) {
                case .clean(let next): position = next
                case .unclean: return .unclean
                case .unknown: return .unknown
                }
            case .unknown: return .unknown
            case .file, .missing: return .unclean
            }
        }
        // Names are unique and every expected one was found: as many names means no other
        // name (untracked, ignored, an empty directory) is there.
        return directory.holds(exactly: children) ? .clean(position) : .unclean
    }
}
