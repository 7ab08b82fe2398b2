#if canImport(Glibc)
import Glibc
#endif
internal import CLibPQ

extension PostgresConnection {
    /// Runs `COPY … FROM STDIN` (text format) and lets `body` stream rows through a
    /// ``CopyInWriter``; returns the number of rows the server took. Memory stays at the
    /// writer's buffer whatever the row count. A throw from `body` aborts the COPY.
    public func copyIn(_ sql: String, _ body: (CopyInWriter) throws -> Void) throws -> Int {
        let started = try execute(sql)
        _ = started
        widenUnixSendBuffer()
        let writer = CopyInWriter(connection: self)
        do {
            try body(writer)
            try writer.flush()
        } catch {
            if isHealthy, (try? endCopy(sql, failure: "aborted by imi-sync")) != nil {
                drainResults(sql)
            }
            throw error
        }
        try endCopy(sql, failure: nil)
        let result = try collectResults(until: ReplyDeadline(timeouts.reply), doing: sql)
        guard let result else {
            throw PostgresError(
                .connection,
                "COPY to \(settings.redactedDescription) failed: " + String(cString: PQerrorMessage(connection)).singleLine)
        }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw self.failure(of: result, doing: "COPY failed on \(settings.redactedDescription)")
        }
        let rows = Int(String(cString: PQcmdTuples(result))) ?? 0
        PQclear(result)
        return rows
    }

    /// A Unix socket's send buffer (about 200 kB by default) is all the slack between building
    /// COPY data and the server reading it: a few milliseconds of either side off the CPU
    /// starve the other. Asks for 4 MB (the kernel caps it at net.core.wmem_max); best
    /// effort. TCP keeps its own autotuning, which a fixed size would turn off.
    private func widenUnixSendBuffer() {
        let socket = PQsocket(connection)
        guard socket >= 0 else { return }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        guard named == 0, address.ss_family == sa_family_t(AF_UNIX) else { return }
        var size: Int32 = 4 << 20
        _ = setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Ends the COPY (`failure`: aborts it with that message) and sends what is queued.
    private func endCopy(_ sql: String, failure: String?) throws {
        while true {
            switch PQputCopyEnd(connection, failure) {
            case 1:
                return try flushOutput(until: ReplyDeadline(timeouts.reply), doing: sql)
            case 0:
                try flushOutput(until: ReplyDeadline(timeouts.reply), doing: sql)
            default:
                throw PostgresError(
                    .connection,
                    "COPY to \(settings.redactedDescription) failed: " + String(cString: PQerrorMessage(connection)).singleLine)
            }
        }
    }

    fileprivate func drainResults(_ sql: String) {
        if let result = try? collectResults(until: ReplyDeadline(timeouts.reply), doing: sql) { PQclear(result) }
    }

    /// Queues `bytes` and sends what the socket takes now, without waiting for the rest: the
    /// caller goes on building the next chunk while the server reads this one, and
    /// ``sendQueuedCopyData()`` tops the socket up meanwhile. The previous chunk's rest is
    /// sent in full first, so at most one chunk waits in libpq (each wait under the reply
    /// deadline). Waiting for every chunk instead made building and loading take turns.
    fileprivate func queueCopyData(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        try flushOutput(until: ReplyDeadline(timeouts.reply), doing: "COPY")
        while true {
            let status = PQputCopyData(
                connection, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
            guard status >= 0 else { throw copyFailure() }
            if status == 1 { break }
            try flushOutput(until: ReplyDeadline(timeouts.reply), doing: "COPY")
        }
        try sendQueuedCopyData()
    }

    /// Sends what the socket takes now of the queued COPY data; never waits.
    fileprivate func sendQueuedCopyData() throws {
        guard PQflush(connection) >= 0 else { throw copyFailure() }
    }

    private func copyFailure() -> PostgresError {
        PostgresError(
            .connection,
            "COPY to \(settings.redactedDescription) failed: " + String(cString: PQerrorMessage(connection)).singleLine)
    }

    /// Queues `bytes` and sends them; the socket's backpressure holds memory at the writer's
    /// buffer, each wait under the reply deadline.
    fileprivate func putCopyData(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        while true {
            let status = PQputCopyData(
                connection, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
            guard status >= 0 else {
                throw PostgresError(
                    .connection,
                    "COPY to \(settings.redactedDescription) failed: "
                        + String(cString: PQerrorMessage(connection)).singleLine)
            }
            try flushOutput(until: ReplyDeadline(timeouts.reply), doing: "COPY")
            if status == 1 { return }
        }
    }
}

/// Builds COPY text-format rows in a fixed buffer and sends it whenever it fills.
///
/// Text format: columns separated by tab, rows by newline, `\N` is NULL; backslash, tab,
/// newline and carriage return inside a value are escaped. PostgreSQL text cannot hold NUL
/// bytes or invalid UTF-8: ``appendText(_:)`` replaces them and reports that it did.
public final class CopyInWriter {
    private let connection: PostgresConnection
    private let capacity = 1 << 18
    private let buffer: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var columnInRow = 0
    /// `count` when the socket was last topped up from the chunk waiting in libpq.
    private var toppedUpAt = 0
    /// Bytes built between top-ups: small enough that the socket's own buffer (about 200 kB
    /// on a Unix socket) does not run dry while the next chunk is built.
    private static let topUpInterval = 1 << 15

    fileprivate init(connection: PostgresConnection) {
        self.connection = connection
        self.buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
    }

    /// Sends everything built so far and waits until the socket has taken it.
    public func flush() throws {
        try connection.putCopyData(UnsafeRawBufferPointer(start: buffer, count: count))
        count = 0
        toppedUpAt = 0
    }

    /// Hands the full buffer to libpq and starts sending it; building goes on meanwhile.
    private func handOff() throws {
        try connection.queueCopyData(UnsafeRawBufferPointer(start: buffer, count: count))
        count = 0
        toppedUpAt = 0
    }

    @inline(__always)
    private func reserve(_ bytes: Int) throws {
        if count + bytes > capacity {
            try handOff()
        } else if count - toppedUpAt >= Self.topUpInterval {
            try connection.sendQueuedCopyData()
            toppedUpAt = count
        }
    }

    @inline(__always)
    private func separator() throws {
        if columnInRow > 0 {
            try reserve(1)
            buffer[count] = 0x09
            count += 1
        }
        columnInRow += 1
    }

    public func appendNull() throws {
        try separator()
        try reserve(2)
        buffer[count] = 0x5C
        buffer[count + 1] = 0x4E
        count += 2
    }

    /// Appends ASCII known to need no escaping (numbers, canonical UUIDs and timestamps).
    public func appendPlain(_ text: String) throws {
        try separator()
        var text = text
        try text.withUTF8 { bytes in
            try reserve(bytes.count)
            (buffer + count).update(from: bytes.baseAddress!, count: bytes.count)
            count += bytes.count
        }
    }

    public func appendInteger(_ value: Int64) throws {
        try appendPlain(String(value))
    }

    /// Appends a value, escaped; `nil` is NULL. Returns `false` when the value held NUL bytes
    /// or invalid UTF-8 that had to be replaced (U+FFFD; NUL dropped).
    @discardableResult
    public func appendText(_ bytes: UnsafeBufferPointer<UInt8>?) throws -> Bool {
        guard let bytes else {
            try appendNull()
            return true
        }
        try separator()
        var clean = true
        var needsCheck = false
        for byte in bytes where byte >= 0x80 || byte == 0 {
            needsCheck = true
            break
        }
        if needsCheck {
            var repaired: [UInt8] = []
            if let string = String(validating: bytes, as: UTF8.self) {
                repaired = Array(string.utf8)
            } else {
                clean = false
                repaired = Array(String(decoding: bytes, as: UTF8.self).utf8)
            }
            if repaired.contains(0) {
                clean = false
                repaired.removeAll { $0 == 0 }
            }
            try repaired.withUnsafeBufferPointer { try appendEscaped($0) }
        } else {
            try appendEscaped(bytes)
        }
        return clean
    }

    public func appendText(_ string: String?) throws {
        guard var string else { return try appendNull() }
        _ = try string.withUTF8 { try appendText($0) }
    }

    private func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        // Worst case every byte doubles.
        if bytes.count * 2 > capacity - count {
            try handOff()
            if bytes.count * 2 > capacity {
                // A huge value: escape into a temporary and send it in one piece.
                var escaped: [UInt8] = []
                escaped.reserveCapacity(bytes.count + bytes.count / 8)
                for byte in bytes { Self.escape(byte, into: &escaped) }
                try escaped.withUnsafeBytes { try connection.putCopyData($0) }
                return
            }
        }
        var position = count
        for byte in bytes {
            switch byte {
            case 0x5C:
                buffer[position] = 0x5C; buffer[position + 1] = 0x5C; position += 2
            case 0x09:
                buffer[position] = 0x5C; buffer[position + 1] = 0x74; position += 2
            case 0x0A:
                buffer[position] = 0x5C; buffer[position + 1] = 0x6E; position += 2
            case 0x0D:
                buffer[position] = 0x5C; buffer[position + 1] = 0x72; position += 2
            default:
                buffer[position] = byte; position += 1
            }
        }
        count = position
    }

    private static func escape(_ byte: UInt8, into out: inout [UInt8]) {
        switch byte {
        case 0x5C: out += [0x5C, 0x5C]
        case 0x09: out += [0x5C, 0x74]
        case 0x0A: out += [0x5C, 0x6E]
        case 0x0D: out += [0x5C, 0x72]
        default: out.append(byte)
        }
    }

    // MARK: Binary format (COPY … WITH (FORMAT binary))

    /// Appends bytes as they are (binary COPY: header, lengths, field data).
    public func appendRaw(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count > capacity - count {
            try handOff()
            if bytes.count > capacity {
                try connection.putCopyData(bytes)
                return
            }
        } else if count - toppedUpAt >= Self.topUpInterval {
            try connection.sendQueuedCopyData()
            toppedUpAt = count
        }
        (UnsafeMutableRawPointer(buffer) + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    public func appendBigEndian<T: FixedWidthInteger>(_ value: T) throws {
        try storeBigEndian(value)
    }

    // Concrete forms: a caller in another module gets these instead of the unspecialized
    // generic (binary COPY calls them several times per row).
    public func appendBigEndian(_ value: Int16) throws { try storeBigEndian(value) }
    public func appendBigEndian(_ value: Int32) throws { try storeBigEndian(value) }
    public func appendBigEndian(_ value: Int64) throws { try storeBigEndian(value) }
    public func appendBigEndian(_ value: UInt64) throws { try storeBigEndian(value) }

    @inline(__always)
    private func storeBigEndian<T: FixedWidthInteger>(_ value: T) throws {
        try reserve(MemoryLayout<T>.size)
        UnsafeMutableRawPointer(buffer + count).storeBytes(of: value.bigEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// The 19-byte signature, flags and extension length that open a binary COPY stream.
    public func appendBinaryHeader() throws {
        let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
        try signature.withUnsafeBytes { try appendRaw($0) }
        try appendBigEndian(Int32(0))
        try appendBigEndian(Int32(0))
    }

    /// One binary field: length then bytes; `nil` is NULL.
    public func appendBinaryField(_ bytes: UnsafeRawBufferPointer?) throws {
        guard let bytes else { return try appendBigEndian(Int32(-1)) }
        try appendBigEndian(Int32(bytes.count))
        if bytes.count > 0 { try appendRaw(bytes) }
    }

    public func appendBinaryField(_ bytes: [UInt8]?) throws {
        guard let bytes else { return try appendBinaryField(nil as UnsafeRawBufferPointer?) }
        try bytes.withUnsafeBytes { try appendBinaryField($0) }
    }

    /// Ends the current row.
    public func endRow() throws {
        try reserve(1)
        buffer[count] = 0x0A
        count += 1
        columnInRow = 0
    }
}
