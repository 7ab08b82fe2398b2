internal import CGit2
import Synchronization

import class Foundation.ProcessInfo

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A racily clean file the proof met: its path below the worktree, the blob the index records
/// for it, and the lstat the proof compared with the index.
struct RacyFile {
    var path: [UInt8]
    var id: git_oid
    var fields: StatFields
}

/// Compares racily clean files' contents with their index blobs, as git's status does, where
/// libgit2 would spend a path resolution and a stack of attribute lookups on each file.
///
/// Only where nothing can stand between a file's bytes and its blob: no filter applies when no
/// attribute file exists anywhere git and libgit2 look (`.gitattributes` tracked anywhere or
/// present in the file's directories, `info/attributes`, `core.attributesFile` or the XDG
/// file, the system file) and `core.autocrlf` is off. Then the blob of a regular file is its
/// bytes: an equal hash proves the file unchanged, a different one makes it one ` M` line.
/// Anything else, a file larger than ``largestHashed``, one that changed while it was read,
/// or an error, is left to libgit2.
final class RacyContent: Sendable {
    /// Files up to this size are read whole; larger ones are left to libgit2, which streams.
    static let largestHashed = 1 << 20

    private let workdir: [UInt8]
    /// No attribute file outside the worktree and no conversion configured.
    private let configurationAllows: Bool
    private let index: IndexReference
    /// Whether the index tracks a `.gitattributes` anywhere (read once, when first asked).
    private let tracksAttributes = Mutex<Bool?>(nil)
    /// Whether a directory (below the worktree, without trailing `/`) holds a `.gitattributes`.
    private let directoryAttributes = Mutex<[[UInt8]: Bool]>([:])

    /// The loaded index, read (never written) by the threads comparing files.
    private struct IndexReference: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    init(
        repository: GitRepository, index: OpaquePointer, workdir: [UInt8],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.workdir = workdir
        self.index = IndexReference(pointer: index)
        configurationAllows = Self.noFilterConfigured(repository, environment: environment)
    }

    /// What comparing a file's bytes with its index blob showed.
    enum Comparison {
        /// The bytes are the blob: the file is unchanged.
        case unchanged
        /// They are not, and no filter applies: git prints ` M` for the file.
        case modified
        /// Not compared here (a filter could apply, the file is large, or it changed or could
        /// not be read meanwhile): libgit2 decides.
        case undecided
    }

    /// Compares `file`'s bytes with the blob the index records for it.
    func compare(_ file: RacyFile) -> Comparison {
        guard configurationAllows, file.fields.mode & S_IFMT == S_IFREG, !indexTracksAttributes(),
            !attributesAbove(file.path)
        else { return .undecided }
        // Non-blocking: a FIFO put in the file's place since its lstat must not hang the open
        // (its type then fails the comparison below).
        let descriptor = MergeSandbox.withCString(workdir + file.path) {
            open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        }
        guard descriptor >= 0 else { return .undecided }
        defer { close(descriptor) }
        var before = stat()
        guard fstat(descriptor, &before) == 0, StatFields(before) == file.fields,
            before.st_size <= Self.largestHashed
        else { return .undecided }
        let size = Int(before.st_size)
        var bytes = [UInt8](repeating: 0, count: size + 1)
        var count = 0
        while count <= size {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, size + 1 - count) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { return .undecided }
            if got == 0 { break }
            count += got
        }
        var after = stat()
        guard count == size, fstat(descriptor, &after) == 0, StatFields(after) == file.fields else {
            return .undecided
        }
        var id = git_oid()
        var recorded = file.id
        guard bytes.withUnsafeBytes({ git_odb_hash(&id, $0.baseAddress, size, GIT_OBJECT_BLOB) }) == 0 else {
            return .undecided
        }
        return git_oid_equal(&id, &recorded) != 0 ? .unchanged : .modified
    }

    private func indexTracksAttributes() -> Bool {
        tracksAttributes.withLock { known in
            if let known { return known }
            var found = false
            for position in 0..<git_index_entrycount(index.pointer) {
                guard let path = git_index_get_byindex(index.pointer, position)?.pointee.path else { continue }
                let name = strrchr(path, Int32(UInt8(ascii: "/"))).map { UnsafePointer($0 + 1) } ?? path
                if strcmp(name, ".gitattributes") == 0 {
                    found = true
                    break
                }
            }
            known = found
            return found
        }
    }

    /// True when the top directory or any directory above `path` holds a `.gitattributes`.
    private func attributesAbove(_ path: [UInt8]) -> Bool {
        var directory = PathBytes.parent(of: path)
        while true {
            if holdsAttributes(directory) { return true }
            if directory.isEmpty { return false }
            directory = PathBytes.parent(of: directory)
        }
    }

    private func holdsAttributes(_ directory: [UInt8]) -> Bool {
        if let known = directoryAttributes.withLock({ $0[directory] }) { return known }
        let file = workdir + directory + (directory.isEmpty ? [] : [UInt8(ascii: "/")]) + Array(".gitattributes".utf8)
        let present = Self.exists(file)
        directoryAttributes.withLock { $0[directory] = present }
        return present
    }

    /// Whether anything is at `path` (an error other than its absence counts as present).
    private static func exists(_ path: [UInt8]) -> Bool {
        var info = stat()
        return MergeSandbox.withCString(path) { lstat($0, &info) } == 0 || errno != ENOENT
    }

    /// No attribute file outside the worktree, and `core.autocrlf` unset or false: then only
    /// a `.gitattributes` in the worktree or the index could make a filter apply. Only where
    /// libgit2 1.5 reads the configuration git reads: not with per-worktree configuration or
    /// `includeIf.hasconfig:` sections, which git honours and libgit2 1.5 does not; the files
    /// `GIT_CONFIG_GLOBAL` and `GIT_CONFIG_SYSTEM` name (libgit2 1.5 reads neither) are read
    /// here and must set nothing that matters; `GIT_CONFIG_COUNT` and `GIT_CONFIG_PARAMETERS`
    /// are not followed at all.
    static func noFilterConfigured(_ repository: GitRepository, environment: [String: String]) -> Bool {
        guard environment["GIT_CONFIG_COUNT"] == nil, environment["GIT_CONFIG_PARAMETERS"] == nil else { return false }
        for variable in ["GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM"] {
            guard let file = environment[variable] else { continue }
            var config: OpaquePointer?
            guard git_config_open_ondisk(&config, file) == 0, let config else { return false }
            defer { git_config_free(config) }
            guard setsNoFilter(config), !hasEntries(config, matching: "^include(if)?\\.") else { return false }
        }
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, repository.handle) == 0, let config else { return false }
        defer { git_config_free(config) }
        guard setsNoFilter(config) else { return false }
        var flag: Int32 = 0
        guard git_config_get_bool(&flag, config, "extensions.worktreeconfig") == GIT_ENOTFOUND.rawValue
        else { return false }
        guard !hasEntries(config, matching: "^includeif\\.hasconfig:") else { return false }
        let common = PathBytes.of(git_repository_commondir(repository.handle))
        let separator: [UInt8] = common.last == UInt8(ascii: "/") ? [] : [UInt8(ascii: "/")]
        var outside = [common + separator + Array("info/attributes".utf8)]
        outside += GitLibrary.configSearchDirectories(level: .xdg).map { $0 + Array("/attributes".utf8) }
        // git's own choice: an empty XDG_CONFIG_HOME counts as unset (libgit2 1.5 then looks
        // in a relative `git/`).
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            outside.append(Array((xdg + "/git/attributes").utf8))
        } else if let home = environment["HOME"], !home.isEmpty {
            outside.append(Array((home + "/.config/git/attributes").utf8))
        }
        outside += GitLibrary.configSearchDirectories(level: .system).map { $0 + Array("/gitattributes".utf8) }
        return !outside.contains(where: exists)
    }

    /// `core.autocrlf` unset or false, and no `core.attributesFile`.
    private static func setsNoFilter(_ config: OpaquePointer) -> Bool {
        var flag: Int32 = 0
        let crlf = git_config_get_bool(&flag, config, "core.autocrlf")
        guard crlf == GIT_ENOTFOUND.rawValue || (crlf == 0 && flag == 0) else { return false }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        return git_config_get_path(&buffer, config, "core.attributesfile") == GIT_ENOTFOUND.rawValue
    }

    /// Whether `config` holds any entry whose name matches `pattern` (a regular expression).
    private static func hasEntries(_ config: OpaquePointer, matching pattern: String) -> Bool {
        var iterator: OpaquePointer?
        guard git_config_iterator_glob_new(&iterator, config, pattern) == 0, let iterator else { return true }
        defer { git_config_iterator_free(iterator) }
        var entry: UnsafeMutablePointer<git_config_entry>?
        return git_config_next(&entry, iterator) == 0
    }
}
