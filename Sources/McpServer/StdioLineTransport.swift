#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import MCP
import LinuxPlatform

/// The MCP stdio transport (one JSON-RPC message per line) for `imi-sync mcp`, in place of the
/// SDK's `StdioTransport`, which searches its whole buffer for a newline after every 4 KB read
/// (a 50 MB line took minutes at full CPU) and keeps lines of any length.
///
/// Standard input is read with blocking reads on a thread of its own and framed by
/// ``McpLineFramer``: linear in the bytes read, and a line over ``maximumLineLength`` is
/// dropped and answered with a JSON-RPC parse error; the server keeps serving. Writes go
/// through one serial queue, so answers and those errors never interleave.
package actor StdioLineTransport: Transport {
    /// 1 MiB: far above any tool call (arguments are capped at a few KB each).
    package static let defaultMaximumLineLength = 1 << 20

    package nonisolated let logger: Logger
    private let input: Int32
    private let output: Int32
    private let maximumLineLength: Int
    private let writer = DispatchQueue(label: "imi-sync.mcp.stdout")
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var connected = false
    /// Reads standard input until it ends; never joined (a blocking read cannot be woken), it
    /// ends with the process or at end of input.
    private let reader = OwnedThread(name: "imi-sync mcp stdin")

    package init(
        input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO,
        maximumLineLength: Int = defaultMaximumLineLength, logger: Logger
    ) {
        self.input = input
        self.output = output
        self.maximumLineLength = maximumLineLength
        self.logger = logger
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    package func connect() async throws {
        guard !connected else { return }
        connected = true
        let (input, output, limit) = (input, output, maximumLineLength)
        let (continuation, writer, logger) = (continuation, writer, logger)
        reader.start {
            Self.readLines(
                from: input, maximumLineLength: limit, logger: logger,
                deliver: { continuation.yield($0) },
                refuse: { bytes in
                    logger.warning(
                        "discarded an MCP message over the line limit",
                        metadata: ["mcp.bytes": "\(bytes)", "mcp.limit": "\(limit)"])
                    writer.async { try? Self.write(Self.lineTooLong(limit: limit), to: output) }
                })
            continuation.finish()
        }
    }

    package func disconnect() async {
        connected = false
        continuation.finish()
    }

    package func send(_ data: Data) async throws {
        let output = output
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            writer.async {
                do {
                    try Self.write(data + [UInt8(ascii: "\n")], to: output)
                    done.resume()
                } catch {
                    done.resume(throwing: error)
                }
            }
        }
    }

    package func receive() -> AsyncThrowingStream<Data, any Error> {
        messages
    }

    /// The answer to a line that was too long: a parse error, id null as JSON-RPC prescribes
    /// when the request's id cannot be known.
    package static func lineTooLong(limit: Int) -> Data {
        Data(
            #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: a message longer than \#(limit) bytes was discarded"}}"#
                .utf8) + [UInt8(ascii: "\n")]
    }

    /// Reads until end of input or a read error, handing on each line.
    private static func readLines(
        from input: Int32, maximumLineLength: Int, logger: Logger,
        deliver: (Data) -> Void, refuse: (Int) -> Void
    ) {
        var framer = McpLineFramer(maximumLength: maximumLineLength)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func handle(_ events: [McpLineFramer.Event]) {
            for event in events {
                switch event {
                case .message(let line): deliver(line)
                case .discarded(let bytes): refuse(bytes)
                }
            }
        }
        while true {
            do {
                let count = try buffer.withUnsafeMutableBytes { bytes throws(SystemCallError) in
                    try SystemCall.retrying("read", detail: "standard input") { Glibc.read(input, bytes.baseAddress, bytes.count) }
                }
                if count == 0 { break }
                handle(framer.append(buffer[..<count]))
            } catch let error as SystemCallError
                where error.errno == .wouldBlock || error.errno == .resourceTemporarilyUnavailable
            {
                // Someone made the descriptor non-blocking: wait until it has bytes.
                _ = try? SystemCall.waitReadable(input, or: nil)
            } catch {
                logger.error("cannot read MCP messages", metadata: ["error": "\(error)"])
                break
            }
        }
        handle(framer.finish())
    }

    /// Writes all of `data`, waiting while the pipe is full.
    private static func write(_ data: Data, to output: Int32) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                do {
                    offset += try SystemCall.write(output, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                } catch let error as SystemCallError
                    where error.errno == .wouldBlock || error.errno == .resourceTemporarilyUnavailable
                {
                    var waiting = [pollfd(fd: output, events: Int16(POLLOUT), revents: 0)]
                    _ = try SystemCall.poll(&waiting, timeoutMilliseconds: -1)
                }
            }
        }
    }
}
