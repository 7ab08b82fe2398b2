internal import CGit2
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Proves a split status's literal paths ("units", see `GitRepository.statusUnits`) clean from
/// stat data alone, so libgit2 need not walk them.
///
/// libgit2's workdir iterator lstat()s every file by its absolute path, so the kernel resolves
/// every component of the worktree's location again for each file; here each directory is
/// opened once and its files are looked up by name relative to it, one component per lookup,
/// as git does. Conservative: a unit is clean only when nothing about it could make git print
/// a line, that is when every index entry under it is an ordinary stage-0 file whose lstat
/// equals the stat data the index recorded (and that record is not racily clean), and every
/// name on disk under it is such a file or a directory holding some. Anything else (an
/// untracked, ignored or missing name, a submodule, a flag git treats specially, a stat
/// mismatch however harmless) leaves the unit to libgit2, which decides as before.
///
/// Only for an index whose cache-tree names HEAD's tree: then a path whose worktree side
/// matches the index has no line at all. Read-only; the index is the one loaded for the
/// status, shared with the threads running it (nothing here writes to it).
struct StatClean: @unchecked Sendable {
    /// The loaded index; the counter keeps its reference alive while the checks run.
    let index: OpaquePointer
    /// The worktree's top directory, as libgit2 has it (with a trailing `/`).
    let workdir: [UInt8]
    /// The index file the loaded index was read from (see `GitRepository.indexFileMatchingHead`).
    let indexFile: FileIdentity
    /// Where that file is, to tell that it was not replaced while the checks ran.
    let indexPath: String
    /// The worktree's names and lstats read while the index was parsed, when they were read
    /// after that index file was written (see `PorcelainCounter.count`); units it cannot
    /// answer are checked with syscalls.
    var snapshot: WorkdirSnapshot?

    /// The checker for `repository`'s worktree and its loaded `index`, read from the index
    /// file `indexFile`; `nil` when either path is unknown.
    init?(repository: GitRepository, index: OpaquePointer, indexFile: FileIdentity) {
        guard let workdir = git_repository_workdir(repository.handle), let indexPath = git_index_path(index) else {
            return nil
        }
        self.index = index
        self.workdir = PathBytes.of(workdir)
        self.indexFile = indexFile
        self.indexPath = String(cString: indexPath)
    }

    /// The units of one group that still need libgit2's status: `units` without those proved
    /// clean. Nothing is dropped from a group holding a unit without index entries: libgit2's
    /// literal-path status needs a tracked neighbour next to such a path (see
    /// `PorcelainCounter.groups(of:count:)`), and that unit is never clean anyway.
    func remaining(of units: [[UInt8]], entryCounts: [[UInt8]: Int]) -> (paths: [[UInt8]], fromSnapshot: Int) {
        guard units.allSatisfy({ entryCounts[$0, default: 0] > 0 }) else { return (units, 0) }
        // The top is opened only for a unit the snapshot cannot answer.
        var top: Int32 = -1
        defer { if top >= 0 { close(top) } }
        var kept: [[UInt8]] = []
        var fromSnapshot = 0
        for unit in units {
            if let snapshot, let clean = verdict(unit, in: snapshot) {
                fromSnapshot += 1
                if !clean { kept.append(unit) }
                continue
            }
            if top < 0 {
                top = MergeSandbox.withCString(workdir) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                guard top >= 0 else { return (units, 0) }
            }
            if !isClean(unit, top: top) { kept.append(unit) }
        }
        // The stat data compared with is the index's as loaded; an index written meanwhile
        // may say otherwise about timing, so nothing is skipped then.
        guard kept.count < units.count, FileIdentity.of(indexPath) == indexFile else { return (units, fromSnapshot) }
        return (kept, fromSnapshot)
    }

    /// True when the unit `path` (relative to the worktree top `top`) is proved clean.
    func isClean(_ path: [UInt8], top: Int32) -> Bool {
        let slash = UInt8(ascii: "/")
        let components = path.split(separator: slash, omittingEmptySubsequences: false)
        guard let last = components.last, !path.isEmpty,
            !components.contains(where: { $0.isEmpty || Array($0) == Self.dotGit })
        else { return false }
        // The parents are walked name by name without following symlinks: a path under a
        // symlinked directory is no tracked file to git.
        var parent = top
        defer { if parent != top { close(parent) } }
        for component in components.dropLast() {
            let child = Self.openDirectory(Array(component), in: parent)
            guard child >= 0 else { return false }
            if parent != top { close(parent) }
            parent = child
        }
        var info = stat()
        guard MergeSandbox.withCString(Array(last), { fstatat(parent, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            return false
        }

        var position = 0
        let exact = MergeSandbox.withCString(path) { git_index_find(&position, index, $0) } == 0
        let prefix = path + [slash]
        var under = 0
        let hasEntriesUnder = MergeSandbox.withCString(prefix) { git_index_find_prefix(&under, index, $0) } == 0
        if info.st_mode & S_IFMT != S_IFDIR {
            // One entry for the path (no other stage) and none under it.
            guard exact, !hasEntriesUnder, let entry = git_index_get_byindex(index, position),
                matches(entry, StatFields(info))
            else { return false }
            guard let next = git_index_get_byindex(index, position + 1)?.pointee.path else { return true }
            return !Self.hasPrefix(next, path, thenSlashOrEnd: true)
        }
        guard !exact, hasEntriesUnder else { return false }
        let directory = Self.openDirectory(Array(last), in: parent)
        guard directory >= 0 else { return false }
        return verify(directory: directory, prefix: prefix, from: under) != nil
    }

    /// Checks the directory open as `descriptor` (whose path is `prefix`, ending in `/`)
    /// against the run of index entries under it starting at `position`; returns the
    /// position after that run, `nil` when something in it is not clean. Closes `descriptor`.
    private func verify(directory descriptor: Int32, prefix: [UInt8], from start: Int) -> Int? {
        var owned = descriptor
        defer { if owned >= 0 { close(owned) } }
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
                guard !Self.isDotGit(name, length: strlen(name)) else { return nil }
                var info = stat()
                guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0, matches(entry, StatFields(info)) else {
                    return nil
                }
                position += 1
                continue
            }
            let length = UnsafePointer(end) - name
            guard length > 0, !Self.isDotGit(name, length: length) else { return nil }
            let childName = UnsafeRawBufferPointer(start: name, count: length).map { $0 }
            let child = Self.openDirectory(childName, in: descriptor)
            guard child >= 0,
                let next = verify(directory: child, prefix: prefix + childName + [UInt8(slash)], from: position)
            else { return nil }
            position = next
        }
        // Every expected child exists with the expected type, and names are unique: as many
        // names on disk means no other name (untracked, ignored, an empty directory) is there.
        guard let directory = fdopendir(owned) else { return nil }
        owned = -1
        defer { closedir(directory) }
        var names = 0
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        errno = 0
        while let record = readdir(directory) {
            let name = UnsafeRawPointer(record).advanced(by: nameOffset).assumingMemoryBound(to: UInt8.self)
            let dot = UInt8(ascii: ".")
            if name[0] == dot && (name[1] == 0 || (name[1] == dot && name[2] == 0)) { continue }
            names += 1
            if names > children { return nil }
        }
        guard errno == 0, names == children else { return nil }
        return position
    }

    /// True when the index entry's record of a file equals the file's lstat `info`, and the
    /// entry is one git's status would decide from stat data alone.
    func matches(_ entry: UnsafePointer<git_index_entry>, _ info: StatFields) -> Bool {
        let recorded = entry.pointee
        // Assume-unchanged (valid), intent-to-add and skip-worktree entries are not compared
        // with the disk the usual way.
        let extendedFlags = GIT_INDEX_ENTRY_INTENT_TO_ADD.rawValue | GIT_INDEX_ENTRY_SKIP_WORKTREE.rawValue
        guard git_index_entry_stage(entry) == 0,
            UInt32(recorded.flags) & GIT_INDEX_ENTRY_VALID.rawValue == 0,
            UInt32(recorded.flags_extended) & extendedFlags == 0
        else { return false }
        let type = info.mode & S_IFMT
        let executable = info.mode & S_IXUSR != 0
        switch recorded.mode {
        case 0o100644: guard type == S_IFREG, !executable else { return false }
        case 0o100755: guard type == S_IFREG, executable else { return false }
        case 0o120000: guard type == S_IFLNK else { return false }
        default: return false  // a gitlink, or a mode git would not write
        }
        guard recorded.mtime.seconds == Int32(truncatingIfNeeded: info.modifiedSeconds),
            recorded.mtime.nanoseconds == info.modifiedNanoseconds,
            recorded.ctime.seconds == info.changedSeconds,
            recorded.ctime.nanoseconds == info.changedNanoseconds,
            recorded.file_size == info.size,
            recorded.ino == info.inode,
            recorded.uid == info.uid,
            recorded.gid == info.gid
        else { return false }
        // Racily clean: written in the second the index was (or later), the file may have
        // changed after its stat was taken without its stat data showing it. git compares
        // whole seconds unless built with USE_NSEC, libgit2 nanoseconds; whole seconds is the
        // stricter of the two.
        guard info.modifiedSeconds < Int64(indexFile.modified.tv_sec) else { return false }
        // git reads a recorded size of 0 as "smudged" (racily clean when the index was
        // written) unless the blob is the empty one.
        guard recorded.file_size != 0 else {
            return withUnsafeBytes(of: recorded.id.id) { Array($0) } == Self.emptyBlob
        }
        return true
    }

    /// The directory `name` in `parent`, opened without following a symlink; -1 when it is
    /// no directory or cannot be opened.
    private static func openDirectory(_ name: [UInt8], in parent: Int32) -> Int32 {
        MergeSandbox.withCString(name) { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    }

    static let dotGit = Array(".git".utf8)

    /// The empty blob's id, e69de29b...
    private static let emptyBlob: [UInt8] = [
        0xe6, 0x9d, 0xe2, 0x9b, 0xb2, 0xd1, 0xd6, 0x43, 0x4b, 0x8b,
        0x29, 0xae, 0x77, 0x5a, 0xd8, 0xc2, 0xe4, 0x8c, 0x53, 0x91,
    ]

    static func isDotGit(_ name: UnsafePointer<CChar>, length: Int) -> Bool {
        length == dotGit.count && memcmp(name, dotGit, length) == 0
    }

    /// True when `path` starts with `prefix` (and, with `thenSlashOrEnd`, ends or goes on
    /// with `/` right after it).
    static func hasPrefix(_ path: UnsafePointer<CChar>, _ prefix: [UInt8], thenSlashOrEnd: Bool = false) -> Bool {
        let same = prefix.withUnsafeBytes { bytes in
            bytes.baseAddress.map { strncmp(path, $0.assumingMemoryBound(to: CChar.self), bytes.count) == 0 } ?? true
        }
        guard same else { return false }
        guard thenSlashOrEnd else { return true }
        let next = path[prefix.count]
        return next == 0 || next == CChar(UInt8(ascii: "/"))
    }
}

/// How many units the stat check proved clean and how many it left to libgit2, for tests to
/// tell that the check ran, and what the workdir snapshot (`WorkdirSnapshot`) did.
final class StatCleanTally: Sendable {
    struct Counts {
        var skipped = 0
        var kept = 0
        /// Units answered from the snapshot, without syscalls.
        var fromSnapshot = 0
        /// Snapshots used, and how many of them the name bound had cut short.
        var snapshots = 0
        var abandonedSnapshots = 0
        /// Snapshots taken before their walk was done.
        var stoppedSnapshots = 0
        /// Nested repositories the snapshots met.
        var nestedRepositories = 0
    }

    private let counts = Mutex(Counts())

    func add(skipped: Int, kept: Int, fromSnapshot: Int = 0) {
        counts.withLock {
            $0.skipped += skipped
            $0.kept += kept
            $0.fromSnapshot += fromSnapshot
        }
    }

    func add(_ snapshot: WorkdirSnapshot) {
        counts.withLock {
            $0.snapshots += 1
            $0.abandonedSnapshots += snapshot.abandoned ? 1 : 0
            $0.stoppedSnapshots += snapshot.stoppedEarly ? 1 : 0
            $0.nestedRepositories += snapshot.nestedRepositories
        }
    }

    var skipped: Int { counts.withLock { $0.skipped } }
    var kept: Int { counts.withLock { $0.kept } }
    var all: Counts { counts.withLock { $0 } }
}
