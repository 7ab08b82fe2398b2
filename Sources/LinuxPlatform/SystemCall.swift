#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A failed system call: which call, on what, and errno. Thrown by the helpers below, which
/// follow swift-nio's System.swift: one helper per call, EINTR retried, the call named.
package struct SystemCallError: Error, CustomStringConvertible, Equatable {
    package var call: String
    package var errno: Errno
    package var detail: String = ""

    package var description: String {
        detail.isEmpty ? "\(call) failed: \(errno)" : "\(call) \(detail) failed: \(errno)"
    }

    package init(call: String, errno: Errno, detail: String = "") {
        self.call = call
        self.errno = errno
        self.detail = detail
    }
}

/// Thin wrappers over the syscalls the watcher and notifier use.
package enum SystemCall {
    /// Runs `body` until it does not fail with EINTR; a negative result throws naming `call`.
    @inline(__always)
    package static func retrying<T: FixedWidthInteger>(
        _ call: String, detail: @autoclosure () -> String = "", _ body: () -> T
    ) throws(SystemCallError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Errno(rawValue: Glibc.errno)
            if code == .interrupted { continue }
            throw SystemCallError(call: call, errno: code, detail: detail())
        }
    }

    package static func inotifyInit(flags: Int32) throws(SystemCallError) -> Int32 {
        try retrying("inotify_init1") { inotify_init1(flags) }
    }

    package static func inotifyAddWatch(_ fd: Int32, path: FilePath, mask: UInt32) throws(SystemCallError) -> Int32 {
        try retrying("inotify_add_watch", detail: path.description) {
            path.withPlatformString { inotify_add_watch(fd, $0, mask) }
        }
    }

    package static func inotifyRemoveWatch(_ fd: Int32, _ wd: Int32) throws(SystemCallError) {
        _ = try retrying("inotify_rm_watch") { inotify_rm_watch(fd, wd) }
    }

    /// `read(2)`; returns 0 when a non-blocking descriptor has nothing to read.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int {
        do {
            return try retrying("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        } catch where error.errno == .wouldBlock || error.errno == .resourceTemporarilyUnavailable {
            return 0
        }
    }

    package static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) -> Int {
        try retrying("write") { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// `poll(2)`; returns how many descriptors are ready (0 on timeout).
    package static func poll(_ fds: inout [pollfd], timeoutMilliseconds: Int32) throws(SystemCallError) -> Int32 {
        let count = nfds_t(fds.count)
        return try fds.withUnsafeMutableBufferPointer { buffer throws(SystemCallError) in
            try retrying("poll") { Glibc.poll(buffer.baseAddress, count, timeoutMilliseconds) }
        }
    }

    /// Waits until `descriptor` is readable or `other` is; returns which are.
    package static func waitReadable(
        _ descriptor: Int32, or other: Int32?, timeoutMilliseconds: Int32 = -1
    ) throws(SystemCallError) -> (descriptor: Bool, other: Bool) {
        var descriptors = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        if let other { descriptors.append(pollfd(fd: other, events: Int16(POLLIN), revents: 0)) }
        guard try poll(&descriptors, timeoutMilliseconds: timeoutMilliseconds) > 0 else {
            return (false, false)
        }
        return (descriptors[0].revents != 0, descriptors.count > 1 && descriptors[1].revents != 0)
    }

    /// `pipe(2)` with both ends non-blocking and close-on-exec; returns (read end, write end).
    package static func nonBlockingPipe() throws(SystemCallError) -> (Int32, Int32) {
        var ends: [Int32] = [-1, -1]
        _ = try retrying("pipe") { Glibc.pipe(&ends) }
        for end in ends {
            _ = try retrying("fcntl", detail: "F_SETFL") { fcntl(end, F_SETFL, O_NONBLOCK) }
            _ = try retrying("fcntl", detail: "F_SETFD") { fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        return (ends[0], ends[1])
    }

    package static func socket(domain: Int32, type: Int32) throws(SystemCallError) -> Int32 {
        try retrying("socket") { Glibc.socket(domain, type, 0) }
    }

    package static func sendto(
        _ fd: Int32, _ bytes: UnsafeRawBufferPointer, address: UnsafePointer<sockaddr>,
        length: socklen_t, detail: String
    ) throws(SystemCallError) -> Int {
        try retrying("sendto", detail: detail) {
            // MSG_DONTWAIT: a receiver that does not read (systemd stalled, a full queue of
            // max_dgram_qlen datagrams) must never block the caller; it gets EAGAIN.
            Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), address, length)
        }
    }

    /// `close(2)`; EINTR is not retried (Linux has closed the descriptor anyway).
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// `stat(2)`'s answer to "does this path exist?" (following links, as opening it would).
    package static func exists(_ path: FilePath) -> Bool {
        var info = stat()
        return path.withPlatformString { pointer in stat(pointer, &info) } == 0
    }
}

extension Duration {
    /// This duration as a `poll(2)` timeout: whole milliseconds rounded up (a wait never ends
    /// just short of it), clamped to `Int32`, 0 for a duration already past.
    package var pollTimeout: Int32 {
        let (seconds, attoseconds) = components
        return max(0, Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    }
}
