#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The sd_notify protocol: `KEY=value` lines in one datagram to `$NOTIFY_SOCKET`, written
/// with a plain `AF_UNIX` socket (no libsystemd). A path starting with `@` is abstract.
package final class SystemdNotifier: @unchecked Sendable {
    package let socketPath: String
    private let descriptor: Int32

    /// `nil` when the process was not started by systemd with `Type=notify`.
    package convenience init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        try? self.init(socketPath: path)
    }

    package init(socketPath: String) throws(SystemCallError) {
        self.socketPath = socketPath
        descriptor = try SystemCall.socket(domain: AF_UNIX, type: Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
    }

    deinit {
        SystemCall.close(descriptor)
    }

    /// Sends one message, e.g. `["READY=1", "STATUS=…"]`, without ever blocking: when
    /// systemd's socket is full it throws EAGAIN and the message is lost (the next STATUS
    /// or WATCHDOG replaces it), rather than freezing the agent loop.
    package func send(_ assignments: [String]) throws(SystemCallError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw SystemCallError(call: "sendto", errno: .fileNameTooLong, detail: socketPath)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        // Abstract names are length-delimited; filesystem paths carry their terminating NUL.
        let length = socklen_t(pathOffset + pathBytes.count + (abstract ? 0 : 1))
        let message = Array(assignments.joined(separator: "\n").utf8)
        let sent: Result<Int, SystemCallError> = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in
                    Result { () throws(SystemCallError) in
                        try SystemCall.sendto(
                            descriptor, bytes, address: socketAddress, length: length, detail: socketPath)
                    }
                }
            }
        }
        _ = try sent.get()
    }

    /// The keep-alive interval: half of `WATCHDOG_USEC`, when the watchdog is on for this
    /// process (`WATCHDOG_PID` unset or ours).
    package static func watchdogInterval(environment: [String: String]) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0
        else { return nil }
        if let pid = environment["WATCHDOG_PID"], pid != String(getpid()) { return nil }
        return .microseconds(microseconds / 2)
    }
}
