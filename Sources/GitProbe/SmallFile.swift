#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file git keeps small (a `.git` file, `gitdir`, `commondir`, `HEAD`), read with a bound:
/// opened non-blocking (a FIFO planted there never blocks the read), checked with `fstat` to be
/// a regular file, refused when larger than `limit`. libgit2 reads these whole, so a 2 GB
/// sparse `.git` would cost seconds and gigabytes before it failed.
enum SmallFile {
    /// A `gitdir:` line naming a path of `PATH_MAX` (4096) bytes fits; anything larger is not
    /// a file git wrote. Git itself refuses a `.git` file as "too large to be a .git file".
    static let limit = 8 * 1024

    /// Why a small file was not read.
    enum Refusal: Error, Equatable {
        case missing
        case symbolicLink
        /// Not a regular file: `kind` says what it is ("a FIFO", "a directory", …).
        case notRegular(kind: String)
        case tooLarge(size: Int64)
        /// `open`, `fstat` or `read` failed with `errno`.
        case failed(call: String, errno: Int32)

        /// What is wrong with the file at `path`, in one line.
        func sentence(_ path: String) -> String {
            switch self {
            case .missing: "\(path) does not exist"
            case .symbolicLink: "\(path) is a symbolic link, not a file git wrote"
            case .notRegular(let kind): "\(path) is \(kind), not a regular file"
            case .tooLarge(let size):
                "\(path) is \(size) bytes, too large to be a git file (at most \(SmallFile.limit) bytes are read)"
            case .failed(let call, let code): "\(call) \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// The bytes of the regular file at `path`; a symbolic link is refused unless
    /// `followingLinks`, a file over `limit` bytes is refused (a branch's reflog is read with
    /// a larger limit than the files git keeps small).
    static func contents(of path: String, followingLinks: Bool = true, limit: Int = SmallFile.limit) throws(Refusal) -> [UInt8] {
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW)
        let descriptor: Int32
        switch FileReading.openFile(path, flags: flags) {
        case .success(let opened): descriptor = opened
        case .failure(let opening):
            switch opening.code {
            case ENOENT, ENOTDIR: throw .missing
            case ELOOP where !followingLinks: throw .symbolicLink
            default: throw .failed(call: "open", errno: opening.code)
            }
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .failed(call: "fstat", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegular(kind: kind(of: info.st_mode)) }
        guard info.st_size <= limit else { throw .tooLarge(size: Int64(info.st_size)) }
        // Up to one byte more than the limit: a file that grew since `fstat` is refused as
        // well. The buffer starts at the size `fstat` gave and grows only if the file did.
        var bytes = [UInt8](repeating: 0, count: min(limit, Int(info.st_size)) + 1)
        var count = 0
        while count <= limit {
            if count == bytes.count {
                bytes.append(contentsOf: repeatElement(0, count: min(bytes.count, limit + 1 - count)))
            }
            do { count = try FileReading.fill(&bytes, from: descriptor, at: count) } catch {
                throw .failed(call: "read", errno: error.code)
            }
            if count < bytes.count { break }  // the file ended
        }
        guard count <= limit else { throw .tooLarge(size: Int64(count)) }
        return Array(bytes[..<count])
    }

    static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }

    /// The path a `.git` file (`gitdir: <path>`) or a `gitdir`/`commondir` file names, resolved
    /// against `directory` when relative; `nil` when the text is not one path.
    static func namedPath(in bytes: [UInt8], prefix: String = "", relativeTo directory: String) -> String? {
        guard var text = String(validating: bytes, as: UTF8.self) else { return nil }
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        guard text.hasPrefix(prefix) else { return nil }
        text = String(text.dropFirst(prefix.count))
        guard !text.isEmpty, !text.contains("\n") else { return nil }
        return text.hasPrefix("/") ? text : (directory == "/" ? "/" : directory + "/") + text
    }

    /// `path` with links and `.`/`..` resolved; `nil` when it does not exist.
    static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }
}
