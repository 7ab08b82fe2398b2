#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What a thread of this process is blocked on, read from `/proc/self/task/TID/syscall`:
/// the path an `open`/`openat` is waiting to open, and whether that path is a FIFO.
///
/// libgit2 opens ignore and attribute files with a plain blocking `open(2)`; a FIFO named
/// `.gitignore` makes that open wait for a writer forever. No libgit2 setting avoids it, so
/// the probe workers (``GuardedProbes``) look at what a slow probe's thread is doing and name
/// the file instead of waiting.
package struct BlockedOpen: Equatable, Sendable {
    /// The path the thread is opening, as the kernel sees the argument (absolute when
    /// libgit2 passes an absolute path, which it does for work-tree files).
    package var path: String
    /// True when that path is a FIFO now.
    package var isFIFO: Bool

    /// The open a thread is blocked in, or `nil` when it is running or in another call.
    package static func of(thread tid: pid_t) -> BlockedOpen? {
        guard let line = try? String(contentsOfFile: "/proc/self/task/\(tid)/syscall", encoding: .utf8) else {
            return nil
        }
        let fields = line.split(separator: " ").map(String.init)
        guard fields.count >= 4, let number = Int(fields[0]) else { return nil }
        let pathArgument: String
        switch number {
        case openSyscall: pathArgument = fields[1]
        case openatSyscall: pathArgument = fields[2]
        default: return nil
        }
        guard let address = UInt64(pathArgument.dropFirst(2), radix: 16),
            let path = readCString(at: address)
        else { return nil }
        var info = stat()
        let isFIFO = lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO
        return BlockedOpen(path: path, isFIFO: isFIFO)
    }

    /// The calling thread's kernel id (glibc's `gettid`, which Swift does not import):
    /// `/proc/thread-self` links to `PID/task/TID`.
    package static func currentThreadID() -> pid_t {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard count > 0 else { return 0 }
        let link = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return link.split(separator: "/").last.flatMap { pid_t($0) } ?? 0
    }

    /// Lets the blocked `open` of a FIFO return: opening its other end (write-only,
    /// non-blocking, nothing written) completes the reader's open, and closing it at once
    /// gives the reader end-of-file. Returns false when the path is no longer a FIFO.
    package func release() -> Bool {
        let descriptor = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        var info = stat()
        let isFIFO = fstat(descriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO
        close(descriptor)
        return isFIFO
    }

    /// Copies a C string out of this process's own memory through `/proc/self/mem`, which
    /// fails cleanly (instead of faulting) when the address is not mapped.
    private static func readCString(at address: UInt64) -> String? {
        let descriptor = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(Int64(bitPattern: address))) }
        guard count > 0, let end = buffer[..<count].firstIndex(of: 0) else { return nil }
        return String(decoding: buffer[..<end], as: UTF8.self)
    }

    #if arch(x86_64)
    private static let openSyscall = 2
    private static let openatSyscall = 257
    #else
    // aarch64 and the other generic-syscall architectures have no plain open(2).
    private static let openSyscall = -1
    private static let openatSyscall = 56
    #endif
}
