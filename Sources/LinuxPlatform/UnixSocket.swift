#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Unix-domain stream sockets: the agent's hub listens on one, `imi-sync mcp` connects to it.
/// Every descriptor is close-on-exec; the listening one and accepted ones are non-blocking.
package enum UnixSocket {
    /// The longest path `sockaddr_un` holds (107 bytes and the NUL).
    package static let maximumPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Binds a listening socket at `path` with mode 600 (set through the umask, so it is never
    /// wider, even for an instant). The path must not exist.
    package static func listen(at path: String, backlog: Int32 = 64) throws(SystemCallError) -> Int32 {
        let fd = try SystemCall.socket(domain: AF_UNIX, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
        do throws(SystemCallError) {
            let previous = umask(0o177)
            defer { umask(previous) }
            try withAddress(path) { address, length throws(SystemCallError) in
                _ = try SystemCall.retrying("bind", detail: path) { Glibc.bind(fd, address, length) }
            }
            _ = try SystemCall.retrying("listen", detail: path) { Glibc.listen(fd, backlog) }
            return fd
        } catch {
            SystemCall.close(fd)
            throw error
        }
    }

    /// Connects to the socket at `path` (blocking descriptor); throws when nobody listens.
    package static func connect(to path: String) throws(SystemCallError) -> Int32 {
        let fd = try SystemCall.socket(domain: AF_UNIX, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        do throws(SystemCallError) {
            try withAddress(path) { address, length throws(SystemCallError) in
                _ = try SystemCall.retrying("connect", detail: path) { Glibc.connect(fd, address, length) }
            }
            return fd
        } catch {
            SystemCall.close(fd)
            throw error
        }
    }

    /// Accepts one pending connection, made non-blocking and close-on-exec; `nil` when none
    /// is pending. (`accept4` is not in Swift's Glibc module: `accept` and `fcntl`.)
    package static func accept(_ listening: Int32) throws(SystemCallError) -> Int32? {
        let fd: Int32
        do {
            fd = try SystemCall.retrying("accept") { Glibc.accept(listening, nil, nil) }
        } catch let error where error.errno == .wouldBlock || error.errno == .resourceTemporarilyUnavailable
            || error.errno == .connectionAbort
        {
            return nil
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        return fd
    }

    /// The user id of the process on the other end (`SO_PEERCRED`).
    package static func peerUserID(_ fd: Int32) throws(SystemCallError) -> UInt32 {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (not in Swift's Glibc module).
        var credentials: [UInt32] = [0, 0, 0]
        var length = socklen_t(MemoryLayout<UInt32>.size * 3)
        _ = try SystemCall.retrying("getsockopt", detail: "SO_PEERCRED") {
            credentials.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, $0.baseAddress, &length) }
        }
        return credentials[1]
    }

    /// This process's user id.
    package static var userID: UInt32 { getuid() }

    /// Sends what it can of `bytes` without blocking (the descriptor is non-blocking); returns
    /// how many went. A peer that went away throws (`MSG_NOSIGNAL`: no SIGPIPE).
    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) -> Int {
        do {
            return try SystemCall.retrying("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        } catch let error where error.errno == .wouldBlock || error.errno == .resourceTemporarilyUnavailable {
            return 0
        }
    }

    /// Sends all of `bytes` on a blocking descriptor.
    package static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                let rest = UnsafeRawBufferPointer(rebasing: buffer[offset...])
                return Glibc.send(fd, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
            }
            if result < 0 {
                let code = Errno(rawValue: Glibc.errno)
                if code == .interrupted { continue }
                throw SystemCallError(call: "send", errno: code)
            }
            offset += result
        }
    }

    /// `read(2)` that tells the end of the stream (`nil`) from "nothing yet" (0 bytes, only on
    /// a non-blocking descriptor).
    package static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        do {
            let count = try SystemCall.retrying("recv") { Glibc.recv(fd, buffer.baseAddress, buffer.count, 0) }
            return count == 0 ? nil : count
        } catch let error where error.errno == .wouldBlock || error.errno == .resourceTemporarilyUnavailable {
            return 0
        }
    }

    /// Removes a socket file (or nothing).
    package static func unlink(_ path: String) {
        _ = Glibc.unlink(path)
    }

    private static func withAddress<T>(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemCallError) -> T
    ) throws(SystemCallError) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count <= maximumPathBytes, !bytes.contains(0) else {
            throw SystemCallError(call: "bind", errno: .fileNameTooLong, detail: path)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return try withUnsafePointer(to: &address) { pointer throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemCallError) in
                try body(address, length)
            }
        }
    }
}

/// The runtime directory for this user's sockets: `$XDG_RUNTIME_DIR/imi-sync` (systemd makes
/// `$XDG_RUNTIME_DIR` per user, mode 700), else `/tmp/imi-sync-UID`. Created with mode 700;
/// refused unless it is a real directory owned by this user and closed to others.
package enum RuntimeDirectory {
    package static func path(environment: [String: String]) -> String {
        if let base = environment["XDG_RUNTIME_DIR"], base.hasPrefix("/") { return base + "/imi-sync" }
        return "/tmp/imi-sync-\(getuid())"
    }

    /// Creates the directory if missing and checks it; returns its path or why it is unusable.
    package static func prepare(environment: [String: String]) -> Result<String, SystemCallError> {
        let directory = path(environment: environment)
        _ = Glibc.mkdir(directory, 0o700)
        var info = stat()
        guard Glibc.lstat(directory, &info) == 0 else {
            return .failure(SystemCallError(call: "lstat", errno: Errno(rawValue: Glibc.errno), detail: directory))
        }
        guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(), info.st_mode & 0o077 == 0 else {
            return .failure(SystemCallError(
                call: "check", errno: .permissionDenied,
                detail: "\(directory) (must be a directory owned by uid \(getuid()) with mode 700)"))
        }
        return .success(directory)
    }
}

extension UnixSocket {
    /// The inode at `path` (not following a link), to recognise one's own socket later.
    package static func inode(of path: String) -> UInt64? {
        var info = stat()
        guard Glibc.lstat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }
}
