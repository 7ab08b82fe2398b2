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
/// name on disk under it is such a file or a directory holding some. A unit that is clean but
/// for racily clean files (written in the index's second, as after a checkout or a reset) goes
/// to libgit2 as those files alone, whose contents it compares. Anything else (an untracked,
/// ignored or missing name, a submodule, a flag git treats specially, a stat mismatch however
/// harmless) leaves the unit to libgit2, which decides as before. The proof reads the disk or
/// the snapshot through one walk (`StatClean+Proof.swift`).
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
    /// Compares racily clean files' contents where no filter can apply.
    let racyContent: RacyContent

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
        racyContent = RacyContent(repository: repository, index: index, workdir: self.workdir)
    }

    /// What the proof left of one group's units for libgit2's status, and what it decided.
    struct Remaining {
        /// The units not proved clean, and the racily clean files of units clean but for those.
        var paths: [[UInt8]]
        /// Units proved clean.
        var skipped = 0
        /// Units clean but for racily clean files, which replace them in `paths`.
        var narrowed = 0
        /// Units answered from the snapshot.
        var fromSnapshot = 0
        /// Racily clean files whose contents were compared here and found unchanged.
        var racyProved = 0
        /// Racily clean files whose contents were compared here and differ from their blobs
        /// (no filter applies): one ` M` line each, counted without libgit2, which trusts stat
        /// data to the nanosecond where git hashes the whole second.
        var modified: [[UInt8]] = []
    }

    /// The paths of one group that still need libgit2's status: `units` without those proved
    /// clean, a unit clean but for racily clean files replaced by those files (libgit2 then
    /// compares their contents instead of walking the whole unit). Nothing is dropped from a
    /// group holding a unit without index entries: libgit2's literal-path status needs a
    /// tracked neighbour next to such a path (see `PorcelainCounter.groups(of:count:)`), and
    /// that unit is never clean anyway.
    func remaining(of units: [[UInt8]], entryCounts: [[UInt8]: Int]) -> Remaining {
        guard units.allSatisfy({ entryCounts[$0, default: 0] > 0 }) else { return Remaining(paths: units) }
        // The top is opened only for a unit the snapshot cannot answer.
        var top: DiskDirectory?
        var result = Remaining(paths: [])
        for unit in units {
            var verdict = ProofVerdict.unknown
            if let snapshot {
                verdict = self.verdict(unit, top: SnapshotDirectory(snapshot: snapshot, listing: 0))
                if case .unknown = verdict {} else { result.fromSnapshot += 1 }
            }
            if case .unknown = verdict {
                guard let disk = top ?? openTop() else { return Remaining(paths: units) }
                top = disk
                verdict = self.verdict(unit, top: disk)
            }
            switch verdict {
            case .clean: result.skipped += 1
            case .racy(let files):
                var left: [[UInt8]] = []
                var modified: [[UInt8]] = []
                var unchanged = 0
                for file in files {
                    switch racyContent.compare(file) {
                    case .unchanged: unchanged += 1
                    case .modified: modified.append(file.path)
                    case .undecided: left.append(file.path)
                    }
                }
                if left.count > 256, left.count * 2 > entryCounts[unit, default: 0] {
                    // Most of the unit is left: libgit2 walks it faster than it matches that
                    // many literal paths (100,000 took 3.1 s where the walk took 2.1 s), and
                    // decides all of it.
                    result.paths.append(unit)
                    continue
                }
                result.racyProved += unchanged
                result.modified += modified
                if left.isEmpty {
                    result.skipped += 1
                } else {
                    result.narrowed += 1
                    result.paths += left
                }
            case .unclean, .unknown: result.paths.append(unit)
            }
        }
        // The stat data compared with is the index's as loaded; an index written meanwhile
        // may say otherwise about timing, so nothing is skipped then.
        guard result.skipped + result.narrowed > 0, FileIdentity.of(indexPath) == indexFile else {
            return Remaining(paths: units, fromSnapshot: result.fromSnapshot)
        }
        return result
    }

    private func openTop() -> DiskDirectory? {
        MergeSandbox.withCString(workdir) { DiskDirectory(open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) }
    }

    /// How an index entry's record compares with a file's lstat.
    enum Match {
        /// Equal, and git's status decides from stat data alone: nothing to print.
        case same
        /// Equal, but the file is racily clean: only its content can tell.
        case racy
        /// Different, or an entry git treats specially.
        case different
    }

    /// Whether the index entry's record of a file equals the file's lstat `info`, and the
    /// entry is one git's status would decide from stat data alone.
    func matches(_ entry: UnsafePointer<git_index_entry>, _ info: StatFields) -> Match {
        let recorded = entry.pointee
        // Assume-unchanged (valid), intent-to-add and skip-worktree entries are not compared
        // with the disk the usual way.
        let extendedFlags = GIT_INDEX_ENTRY_INTENT_TO_ADD.rawValue | GIT_INDEX_ENTRY_SKIP_WORKTREE.rawValue
        guard git_index_entry_stage(entry) == 0,
            UInt32(recorded.flags) & GIT_INDEX_ENTRY_VALID.rawValue == 0,
            UInt32(recorded.flags_extended) & extendedFlags == 0
        else { return .different }
        let type = info.mode & S_IFMT
        let executable = info.mode & S_IXUSR != 0
        switch recorded.mode {
        case 0o100644: guard type == S_IFREG, !executable else { return .different }
        case 0o100755: guard type == S_IFREG, executable else { return .different }
        case 0o120000: guard type == S_IFLNK else { return .different }
        default: return .different  // a gitlink, or a mode git would not write
        }
        guard recorded.mtime.seconds == Int32(truncatingIfNeeded: info.modifiedSeconds),
            recorded.mtime.nanoseconds == info.modifiedNanoseconds,
            recorded.ctime.seconds == info.changedSeconds,
            recorded.ctime.nanoseconds == info.changedNanoseconds,
            recorded.file_size == info.size,
            recorded.ino == info.inode,
            recorded.uid == info.uid,
            recorded.gid == info.gid
        else { return .different }
        // Racily clean: written in the second the index was (or later), the file may have
        // changed after its stat was taken without its stat data showing it. git compares
        // whole seconds unless built with USE_NSEC, libgit2 nanoseconds; whole seconds is the
        // stricter of the two.
        guard info.modifiedSeconds < Int64(indexFile.modified.tv_sec) else { return .racy }
        // git reads a recorded size of 0 as "smudged" (racily clean when the index was
        // written) unless the blob is the empty one.
        guard recorded.file_size != 0 || withUnsafeBytes(of: recorded.id.id, { Array($0) }) == Self.emptyBlob else {
            return .racy
        }
        return .same
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
        /// Units left to libgit2 as a whole.
        var kept = 0
        /// Units left to libgit2 as their racily clean files only.
        var narrowed = 0
        /// Racily clean files proved unchanged, or found modified, by their contents (see
        /// `RacyContent`).
        var racyProved = 0
        var racyModified = 0
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

    /// What the proof did with a group of `units` units.
    func add(_ remaining: StatClean.Remaining, of units: Int) {
        counts.withLock {
            $0.skipped += remaining.skipped
            $0.narrowed += remaining.narrowed
            $0.kept += units - remaining.skipped - remaining.narrowed
            $0.fromSnapshot += remaining.fromSnapshot
            $0.racyProved += remaining.racyProved
            $0.racyModified += remaining.modified.count
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
