internal import CGit2
internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A blob as `git add` would record a file: its id (SHA-1 of `blob <size>\0` and the content,
/// as `git hash-object` computes it) and, when the file is small enough to be put into a
/// sandbox, the content itself.
struct FileBlob: Sendable, Equatable {
    /// The raw 20-byte object id.
    var id: [UInt8]
    var size: Int
    /// `nil` for a file above the store limit: hashed while streaming, never held in memory,
    /// so a merge that needs its content cannot be computed (its verdict is unknown).
    var content: [UInt8]?

    var oid: git_oid {
        var oid = git_oid()
        _ = id.withUnsafeBufferPointer { git_oid_fromraw(&oid, $0.baseAddress!) }
        return oid
    }
}

/// What the forecast finds at a path of a working directory, read through one descriptor:
/// the type that decides is the one `fstat` gives for the file actually opened, so a file
/// swapped for a FIFO or a symbolic link between a check and the open is never waited on
/// or followed.
enum WorktreeFile: Equatable {
    case missing
    case directory
    /// A symbolic link; its blob is the target.
    case symlink(FileBlob)
    case regular(FileBlob, executable: Bool)
    /// A FIFO, socket or device: nothing `git add` would take as content (it refuses them).
    case special

    /// Files above this size (1 MiB) are hashed by streaming and never held in memory or
    /// stored in a sandbox: the forecast's memory does not grow with the files it meets.
    /// Source files are far smaller; what is larger is mostly generated or binary, where a
    /// line merge would say little anyway.
    static let storeLimit = 1 << 20

    /// The largest `.gitignore`, `.gitattributes` or `info/exclude` a scan lets libgit2 read
    /// (it reads them whole): git's own limit, past which git ignores the file, as the probe
    /// refuses it (``RepositoryFiles/patternFileLimit``).
    static let ruleFileLimit = Int(RepositoryFiles.patternFileLimit)

    /// The flags of every open the forecast makes: never blocks on a FIFO, never follows a
    /// symbolic link, never leaks into a child.
    static let openFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC

    /// The entry at `path` (absolute bytes). A file that changes size while it is read is
    /// read again (a few times, then it is an error, as for git: "short read").
    static func at(
        _ path: [UInt8], storeLimit: Int = storeLimit, worktreePath: String
    ) throws(GitProbeError) -> WorktreeFile {
        for _ in 0..<3 {
            if let entry = try attempt(path, storeLimit: storeLimit, worktreePath: worktreePath) { return entry }
        }
        throw failure("read \(PathChange.text(of: path))", "the file kept changing while it was read", worktreePath)
    }

    /// One try; `nil` when the file changed under it (another type, or shorter than `fstat` said).
    private static func attempt(
        _ path: [UInt8], storeLimit: Int, worktreePath: String
    ) throws(GitProbeError) -> WorktreeFile? {
        var info = stat()
        guard MergeSandbox.withCString(path, { lstat($0, &info) }) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .missing }
            throw failure("lstat \(PathChange.text(of: path))", String(cString: strerror(errno)), worktreePath)
        }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = MergeSandbox.withCString(path) { name in
                buffer.withUnsafeMutableBytes { readlink(name, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
            }
            if length < 0 { return errno == EINVAL ? nil : errno == ENOENT ? .missing : .special }
            let target = Array(buffer[..<length])
            return .symlink(FileBlob(id: hash(target), size: target.count, content: target))
        case S_IFREG, S_IFDIR:
            break
        default:
            return .special
        }
        let descriptor: Int32
        switch openForReading(path) {
        case .success(let opened): descriptor = opened
        case .failure(let opening):
            switch opening.code {
            case ENOENT, ENOTDIR: return .missing
            case ELOOP: return nil  // a symbolic link now: look again
            case ENXIO, ENODEV: return .special
            default: throw failure("open \(PathChange.text(of: path))", String(cString: strerror(opening.code)), worktreePath)
            }
        }
        defer { close(descriptor) }
        guard fstat(descriptor, &info) == 0 else {
            throw failure("fstat \(PathChange.text(of: path))", String(cString: strerror(errno)), worktreePath)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return .directory
        default: return .special
        }
        let size = Int(info.st_size)
        let executable = info.st_mode & 0o100 != 0
        let blob: FileBlob?
        if size <= storeLimit {
            blob = try readAll(descriptor, size: size, path: path, worktreePath: worktreePath)
                .map { FileBlob(id: hash($0), size: size, content: $0) }
        } else {
            blob = try streamHash(descriptor, size: size, path: path, worktreePath: worktreePath)
                .map { FileBlob(id: $0, size: size, content: nil) }
        }
        return blob.map { .regular($0, executable: executable) }
    }

    /// The one way the forecast opens a file: `openFlags`, retried on EINTR.
    static func openForReading(_ path: [UInt8]) -> Result<Int32, SystemErrno> {
        MergeSandbox.withCString(path) { FileReading.openFile($0, flags: openFlags) }
    }

    /// Exactly `size` bytes; `nil` when the file ends sooner (it shrank meanwhile).
    private static func readAll(_ descriptor: Int32, size: Int, path: [UInt8], worktreePath: String) throws(GitProbeError) -> [UInt8]? {
        var content = [UInt8](repeating: 0, count: size)
        let filled: Int
        do { filled = try FileReading.fill(&content, from: descriptor) } catch {
            throw failure("read \(PathChange.text(of: path))", String(cString: strerror(error.code)), worktreePath)
        }
        return filled < size ? nil : content
    }

    /// The blob id of the first `size` bytes, read in chunks of 1 MiB; `nil` when the file
    /// ends sooner.
    private static func streamHash(_ descriptor: Int32, size: Int, path: [UInt8], worktreePath: String) throws(GitProbeError) -> [UInt8]? {
        guard let context = EVP_MD_CTX_new() else {
            throw failure("hash \(PathChange.text(of: path))", "EVP_MD_CTX_new failed", worktreePath)
        }
        defer { EVP_MD_CTX_free(context) }
        EVP_DigestInit_ex(context, EVP_sha1(), nil)
        let header = Array("blob \(size)\0".utf8)
        EVP_DigestUpdate(context, header, header.count)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var remaining = size
        while remaining > 0 {
            let count: Int
            do { count = try FileReading.readSome(descriptor, into: &chunk, count: min(chunk.count, remaining)) } catch {
                throw failure("read \(PathChange.text(of: path))", String(cString: strerror(error.code)), worktreePath)
            }
            if count == 0 { return nil }
            chunk.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress!, count) }
            remaining -= count
        }
        var digest = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest
    }

    /// The blob id of `content`.
    static func hash(_ content: [UInt8]) -> [UInt8] {
        var oid = git_oid()
        _ = content.withUnsafeBytes { bytes in
            git_odb_hash(&oid, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, bytes.count, GIT_OBJECT_BLOB)
        }
        return withUnsafeBytes(of: oid.id) { Array($0) }
    }

    private static func failure(_ operation: String, _ reason: String, _ worktreePath: String) -> GitProbeError {
        GitProbeError(code: .libgit2, path: worktreePath, operation: operation, libgit2Message: reason)
    }
}
