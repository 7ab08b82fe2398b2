import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The lstat fields `StatClean` compares with an index entry, cut to the widths the index
/// stores (git keeps 32 bits of size, inode and ctime seconds); the mtime seconds stay whole,
/// since they are also compared with the index file's own mtime.
struct StatFields: Sendable, Equatable {
    var mode: mode_t
    var uid: UInt32
    var gid: UInt32
    var size: UInt32
    var inode: UInt32
    var changedSeconds: Int32
    var changedNanoseconds: UInt32
    var modifiedNanoseconds: UInt32
    var modifiedSeconds: Int64

    init(_ info: stat) {
        mode = info.st_mode
        uid = UInt32(info.st_uid)
        gid = UInt32(info.st_gid)
        size = UInt32(truncatingIfNeeded: info.st_size)
        inode = UInt32(truncatingIfNeeded: info.st_ino)
        changedSeconds = Int32(truncatingIfNeeded: info.st_ctim.tv_sec)
        changedNanoseconds = UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec)
        modifiedNanoseconds = UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec)
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
    }

    /// A directory known from its `d_type` alone: only its type is ever looked at.
    init(directory: ()) {
        mode = S_IFDIR
        (uid, gid, size, inode, changedSeconds, changedNanoseconds, modifiedNanoseconds) = (0, 0, 0, 0, 0, 0, 0)
        modifiedSeconds = 0
    }

    var isDirectory: Bool { mode & S_IFMT == S_IFDIR }
}

/// Every name under a worktree with its lstat, read on one thread while libgit2 parses the
/// index, so that `StatClean` afterwards compares memory with memory instead of issuing a
/// syscall per file after the parse.
///
/// The walk knows no ignore rules, so it is bounded (see `WorkdirWalk.start`); a directory it
/// did not finish (the bound, a depth limit, a directory that could not be read or changed
/// while it was listed, the subdirectories of a nested repository) is simply absent, and a
/// unit needing it is checked with syscalls as without a snapshot. Each directory present was
/// listed completely: every name in it (but `.` and `..`) is in its run of `entries`, sorted
/// by bytes. Symlinks are recorded, never followed; `.git` is never entered.
final class WorkdirSnapshot: Sendable {
    struct Entry: Sendable {
        var fields: StatFields
        /// Where the name starts in `names` (NUL-terminated there, the NUL not counted).
        var nameStart: UInt32
        var nameLength: UInt32
        /// The directory's listing in `directories`, -1 when it is no directory or absent.
        var child: Int32
    }

    struct Directory: Sendable {
        var first: Int32
        var count: Int32
        /// A `.git` is among its names: below the top, another repository's worktree.
        var holdsGit: Bool
    }

    let names: [UInt8]
    let entries: [Entry]
    /// The top directory is the first.
    let directories: [Directory]
    /// The bound stopped the walk: directories it had not listed yet are absent.
    let abandoned: Bool
    /// The walk was stopped before it was done (see `WorkdirWalk.snapshot(stoppingEarly:)`):
    /// directories it had not listed yet are absent.
    let stoppedEarly: Bool
    /// How many directories below the top hold a `.git` (their subdirectories are not listed).
    let nestedRepositories: Int

    fileprivate init(_ builder: Builder) {
        names = builder.names
        entries = builder.entries
        directories = builder.directories
        abandoned = builder.abandoned
        stoppedEarly = builder.stoppedEarly
        nestedRepositories = builder.nestedRepositories
    }

    /// The entry called `name` (`length` bytes) in the listing `directory`, by binary search.
    func entry(named name: UnsafeRawPointer, length: Int, in directory: Int) -> Int? {
        let listing = directories[directory]
        var low = Int(listing.first)
        var high = low + Int(listing.count)
        return names.withUnsafeBytes { buffer -> Int? in
            while low < high {
                let middle = (low + high) / 2
                let candidate = entries[middle]
                let order = Self.compare(
                    buffer.baseAddress! + Int(candidate.nameStart), Int(candidate.nameLength), name, length)
                if order == 0 { return middle }
                if order < 0 { low = middle + 1 } else { high = middle }
            }
            return nil
        }
    }

    func entry(named name: [UInt8], in directory: Int) -> Int? {
        name.withUnsafeBytes { bytes in
            bytes.baseAddress.flatMap { entry(named: $0, length: bytes.count, in: directory) }
        }
    }

    /// Byte order, a name before any longer name it begins.
    fileprivate static func compare(
        _ a: UnsafeRawPointer, _ aLength: Int, _ b: UnsafeRawPointer, _ bLength: Int
    ) -> Int {
        let common = memcmp(a, b, min(aLength, bLength))
        if common != 0 { return Int(common) }
        return aLength - bLength
    }
}

/// The walk behind a `WorkdirSnapshot`, on a thread of its own.
final class WorkdirWalk: Sendable {
    private let result = Mutex<WorkdirSnapshot?>(nil)
    private let finished = DispatchGroup()
    /// Set when the walk is to stop at its next directory: its snapshot is then taken as it
    /// is, or not wanted.
    private let cancelled = Atomic<Bool>(false)

    /// Starts walking the worktree at `workdir` (its top directory, as libgit2 has it). At
    /// most `nameLimit` names are read, and directories deeper than `depthLimit` below the top
    /// are left out; past the name limit the walk is abandoned.
    static func start(workdir: [UInt8], nameLimit: Int, depthLimit: Int = 64) -> WorkdirWalk {
        let walk = WorkdirWalk()
        walk.finished.enter()
        DispatchQueue.global(qos: .userInitiated).async {
            let snapshot = walk.run(workdir: workdir, nameLimit: nameLimit, depthLimit: depthLimit)
            walk.result.withLock { $0 = snapshot }
            walk.finished.leave()
        }
        return walk
    }

    /// What the walk read; `nil` when the top directory could not be listed. Unless
    /// `stoppingEarly`, after waiting for the whole walk; otherwise the walk stops at its next
    /// directory and what it had listed by then is the snapshot.
    func snapshot(stoppingEarly: Bool = false) -> WorkdirSnapshot? {
        if stoppingEarly { cancelled.store(true, ordering: .relaxed) }
        finished.wait()
        return result.withLock { $0 }
    }

    /// Stops the walk at its next directory and waits for it: its snapshot is not wanted.
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
        finished.wait()
    }

    private func run(workdir: [UInt8], nameLimit: Int, depthLimit: Int) -> WorkdirSnapshot? {
        let top = MergeSandbox.withCString(workdir) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard top >= 0 else { return nil }
        var builder = Builder(nameLimit: nameLimit, depthLimit: depthLimit) { [self] in
            cancelled.load(ordering: .relaxed)
        }
        guard builder.walk(top, depth: 0) == 0 else { return nil }
        return WorkdirSnapshot(builder)
    }
}

/// Lists directories depth-first: a directory's names are read and stat'ed, sorted, appended
/// as one run, and only then are its subdirectories listed (so descriptors open at once are
/// one per level).
private struct Builder {
    var names: [UInt8] = []
    var entries: [WorkdirSnapshot.Entry] = []
    var directories: [WorkdirSnapshot.Directory] = []
    var abandoned = false
    var stoppedEarly = false
    var nestedRepositories = 0
    var remainingNames: Int
    let depthLimit: Int
    /// True once the snapshot is no longer wanted.
    let isCancelled: () -> Bool
    /// One directory's names and entries before sorting, reused.
    var pendingNames: [UInt8] = []
    var pending: [WorkdirSnapshot.Entry] = []
    var order: [Int] = []

    init(nameLimit: Int, depthLimit: Int, isCancelled: @escaping () -> Bool) {
        remainingNames = nameLimit
        self.depthLimit = depthLimit
        self.isCancelled = isCancelled
        // The limit is about twice the names expected: room for half of it at first.
        let expected = min(nameLimit / 2, 1 << 22)
        names.reserveCapacity(expected * 16)
        entries.reserveCapacity(expected)
    }

    /// Lists the directory open as `descriptor` (closing it) and those below it; the index of
    /// its listing in `directories`, -1 when it could not be listed completely.
    mutating func walk(_ descriptor: Int32, depth: Int) -> Int32 {
        guard let stream = fdopendir(descriptor) else {
            close(descriptor)
            return -1
        }
        defer { closedir(stream) }
        let parent = dirfd(stream)
        pendingNames.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        var holdsGit = false
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        let typeOffset = MemoryLayout<dirent>.offset(of: \dirent.d_type) ?? 0
        while true {
            errno = 0
            guard let record = readdir(stream) else {
                guard errno == 0 else { return -1 }
                break
            }
            let raw = UnsafeRawPointer(record)
            let name = raw.advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
            let dot = CChar(UInt8(ascii: "."))
            if name[0] == dot && (name[1] == 0 || (name[1] == dot && name[2] == 0)) { continue }
            remainingNames -= 1
            guard remainingNames >= 0 else {
                abandoned = true
                return -1
            }
            let length = strlen(name)
            if length == 4 && memcmp(name, ".git", 4) == 0 { holdsGit = true }
            let fields: StatFields
            if raw.load(fromByteOffset: typeOffset, as: UInt8.self) == UInt8(DT_DIR) {
                fields = StatFields(directory: ())
            } else {
                var info = stat()
                // Gone since it was listed, or unreadable: the directory is left out.
                guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return -1 }
                fields = StatFields(info)
            }
            pending.append(
                .init(fields: fields, nameStart: UInt32(pendingNames.count), nameLength: UInt32(length), child: -1))
            pendingNames.append(contentsOf: UnsafeRawBufferPointer(start: name, count: length + 1))
        }

        // Sorted by name, appended as one run.
        var sorted = order
        order = []
        sorted.removeAll(keepingCapacity: true)
        sorted.append(contentsOf: pending.indices)
        let listed = pending
        pendingNames.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!
            sorted.sort { left, right in
                WorkdirSnapshot.compare(
                    base + Int(listed[left].nameStart), Int(listed[left].nameLength),
                    base + Int(listed[right].nameStart), Int(listed[right].nameLength)) < 0
            }
        }
        order = sorted
        let first = entries.count
        let runLength = listed.count
        let listing = Int32(directories.count)
        directories.append(.init(first: Int32(first), count: Int32(pending.count), holdsGit: holdsGit))
        for position in order {
            var entry = pending[position]
            let start = Int(entry.nameStart)
            entry.nameStart = UInt32(names.count)
            names.append(contentsOf: pendingNames[start...(start + Int(entry.nameLength))])
            entries.append(entry)
        }
        if holdsGit && depth > 0 { nestedRepositories += 1 }

        // Another repository's worktree is not this one's: its subdirectories are left out.
        guard depth < depthLimit, !(holdsGit && depth > 0) else { return listing }
        for position in first..<(first + runLength) where entries[position].fields.isDirectory {
            guard !abandoned, !stoppedEarly else { return listing }
            if isCancelled() {
                stoppedEarly = true
                return listing
            }
            let start = Int(entries[position].nameStart)
            let isGit = entries[position].nameLength == 4 && names[start..<(start + 4)].elementsEqual(".git".utf8)
            if isGit { continue }
            let child = names.withUnsafeBytes { buffer in
                openat(
                    parent, buffer.baseAddress!.advanced(by: start).assumingMemoryBound(to: CChar.self),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard child >= 0 else { continue }
            let listed = walk(child, depth: depth + 1)
            entries[position].child = listed
        }
        return listing
    }
}
