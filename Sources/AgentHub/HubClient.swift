import Foundation
import LinuxPlatform

/// An `imi-sync mcp` session's side of the hub: one connection to the agent's socket, kept
/// between calls and made again after the agent restarted. Blocking; the caller runs it on a
/// thread of its own.
package final class HubClient: @unchecked Sendable {
    /// What went wrong with a call, and so what the caller may do about it.
    package enum Failure: Error, Sendable, Equatable {
        /// Nothing was sent (no agent serves the socket): answering another way is safe.
        case unavailable(String)
        /// The request was sent and no answer came (the agent stopped, or took too long):
        /// it may or may not have been carried out.
        case interrupted(String)
    }

    package let path: String
    private var fd: Int32?

    package init(path: String) {
        self.path = path
    }

    deinit {
        if let fd { SystemCall.close(fd) }
    }

    /// Sends one request line and waits for one answer line, at most `patience`.
    package func call(_ request: Data, patience: Duration) throws(Failure) -> Data {
        var line = [UInt8](request)
        line.append(UInt8(ascii: "\n"))
        // A connection kept from an earlier call may belong to an agent that has since
        // stopped: that shows when sending, before anything reached anyone; connect again once.
        var sent = false
        for attempt in 0..<2 where !sent {
            let fd = try connected()
            do {
                try UnixSocket.sendAll(fd, line)
                sent = true
            } catch {
                disconnect()
                if attempt == 1 { throw .unavailable("the agent's socket \(path) took no request: \(error)") }
            }
        }
        return try answer(patience: patience)
    }

    private func connected() throws(Failure) -> Int32 {
        if let fd { return fd }
        do {
            let fd = try UnixSocket.connect(to: path)
            self.fd = fd
            return fd
        } catch {
            throw .unavailable("no agent serves \(path): \(error.errno)")
        }
    }

    private func answer(patience: Duration) throws(Failure) -> Data {
        guard let fd else { throw .interrupted("not connected") }
        let deadline = ContinuousClock.now + patience
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let readable = (try? SystemCall.waitReadable(fd, or: nil, timeoutMilliseconds: (deadline - .now).pollTimeout))?.descriptor ?? false
            guard readable else {
                disconnect()
                throw .interrupted("the agent did not answer within \(patience)")
            }
            let count: Int?
            do {
                count = try buffer.withUnsafeMutableBytes { try UnixSocket.receive(fd, into: $0) }
            } catch {
                count = nil
            }
            guard let count else {
                disconnect()
                throw .interrupted("the agent closed the connection during the call")
            }
            received += buffer[..<count]
            if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                return Data(received[..<newline])
            }
        }
    }

    private func disconnect() {
        if let fd { SystemCall.close(fd) }
        fd = nil
    }
}

/// Where the agent of `host` listens: `RUNTIME/agent-HOST.sock`, the host name kept when it is
/// plain (letters, digits, `.`, `-`, `_`) and short, else a hash of it.
package enum HubSocket {
    package static func path(directory: String, host: String) -> String {
        let plain = host.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        let name = plain && host.utf8.count <= 48 && !host.hasPrefix(".") ? host : "h" + fnv1a(host)
        return directory + "/agent-" + name + ".sock"
    }

    private static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// A session's watch on the agent: its own connection to the hub socket, one request line
/// (the watch) and its answer, read before the initializer returns (so once it returns, every
/// change from then on is pushed), then every line the agent pushes, handed to `onLine` on a
/// thread of its own until the agent closes the connection (`onEnd`) or ``stop()``.
package final class HubWatcher: @unchecked Sendable {
    private let fd: Int32
    private let thread = OwnedThread(name: "imi-sync hub watch")
    private let wake: WakeSignal
    /// The agent's answer to the watch request.
    package let answer: Data
    /// Bytes read after the answer, handed on first.
    private let rest: [UInt8]

    /// Connects, sends `request` and waits for its answer at most `patience`; throws when no
    /// agent serves `path` or none answers.
    package init(path: String, request: Data, patience: Duration = .seconds(10)) throws {
        let fd = try UnixSocket.connect(to: path)
        self.fd = fd
        do {
            try UnixSocket.sendAll(fd, [UInt8](request) + [UInt8(ascii: "\n")])
            wake = try WakeSignal()
            let deadline = ContinuousClock.now + patience
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while received.firstIndex(of: UInt8(ascii: "\n")) == nil {
                let milliseconds = (deadline - .now).pollTimeout
                guard milliseconds > 0, try SystemCall.waitReadable(fd, or: nil, timeoutMilliseconds: milliseconds).descriptor,
                    let count = try buffer.withUnsafeMutableBytes({ try UnixSocket.receive(fd, into: $0) }), count > 0
                else { throw HubError("the agent at \(path) did not answer the watch") }
                received += buffer[..<count]
            }
            let newline = received.firstIndex(of: UInt8(ascii: "\n"))!
            answer = Data(received[..<newline])
            rest = Array(received[(newline + 1)...])
        } catch {
            SystemCall.close(fd)
            throw error
        }
    }

    deinit {
        SystemCall.close(fd)
    }

    package func start(onLine: @escaping @Sendable (Data) -> Void, onEnd: @escaping @Sendable () -> Void) {
        thread.start { [fd, wake, rest] in
            var pending = rest
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    onLine(Data(pending[..<newline]))
                    pending.removeSubrange(...newline)
                }
                guard let ready = try? SystemCall.waitReadable(fd, or: wake.descriptor), !ready.other else { break }
                guard ready.descriptor else { continue }
                let received = try? buffer.withUnsafeMutableBytes { try UnixSocket.receive(fd, into: $0) }
                guard let count = received ?? nil, count > 0 else { break }
                pending += buffer[..<count]
            }
            onEnd()
        }
    }

    package func stop() {
        wake.wake()
        thread.join()
    }
}
