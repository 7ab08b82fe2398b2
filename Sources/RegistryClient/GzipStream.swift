import Foundation
internal import CZlib

/// A gzip file written or read through zlib, 64 KiB at a time, so memory stays flat however
/// large the file. Owns the `z_stream` and the file and releases both in one place; every zlib
/// failure becomes a ``RegistryError`` naming the call, zlib's code and message, the file and
/// the byte offset.
final class GzipStream {
    enum Direction {
        /// `deflate` at level 6 in a gzip wrapper (the `gzip` command's default).
        case compress
        /// `inflate` that accepts a gzip or zlib wrapper and checks the trailer's CRC and size.
        case decompress
    }

    let path: String
    let direction: Direction
    private let file: FileHandle
    /// Heap-allocated: zlib keeps a pointer back to the stream and refuses one that has moved.
    private let stream: UnsafeMutablePointer<z_stream>
    /// Compressed bytes: deflate's output or inflate's input.
    private let buffer: UnsafeMutablePointer<UInt8>
    private var ended = false
    private var closed = false

    private static let chunkSize = 1 << 16

    /// Creates `path` (which must not exist yet) and starts a gzip stream into it.
    init(compressingTo path: String, level: Int32 = 6) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let file = FileHandle(forWritingAtPath: path)
        else { throw RegistryError(.invalidInput, "cannot write \(path)") }
        self.path = path
        self.direction = .compress
        self.file = file
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        buffer = .allocate(capacity: Self.chunkSize)
        // deflateInit2 is a macro; the function behind it takes the header's version and layout.
        let status = deflateInit2_(
            stream, level, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        try check(status, "deflateInit2")
    }

    /// Opens `path` for reading its decompressed contents.
    init(decompressing path: String) throws {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw RegistryError(.invalidInput, "cannot read \(path)")
        }
        self.path = path
        self.direction = .decompress
        self.file = file
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        buffer = .allocate(capacity: Self.chunkSize)
        let status = inflateInit2_(stream, MAX_WBITS + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        try check(status, "inflateInit2")
    }

    deinit {
        switch direction {
        case .compress: deflateEnd(stream)
        case .decompress: inflateEnd(stream)
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
        buffer.deallocate()
        if !closed { try? file.close() }
    }

    /// Compressing: flushes the last block and the gzip trailer (CRC-32 and size).
    /// Decompressing: reads to the end of the gzip stream (zlib checks its CRC-32 and size there)
    /// and fails if anything follows it in the file. Either way, closes the file.
    func finish() throws {
        switch direction {
        case .compress:
            precondition(!ended, "finish called twice on a GzipStream")
            try deflateAvailable(flush: Z_FINISH)
            ended = true
        case .decompress:
            while try !read(Self.chunkSize).isEmpty {}
            if try stream.pointee.avail_in > 0 || refill() > 0 {
                throw failure(Z_DATA_ERROR, "inflate", detail: "data follows the end of the gzip stream")
            }
        }
        try file.close()
        closed = true
    }

    // MARK: Compressing

    /// Compresses `bytes` into the file; zlib holds back what does not yet fill a block.
    func write(_ bytes: some ContiguousBytes) throws {
        precondition(direction == .compress && !ended, "write on a finished or reading GzipStream")
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, !raw.isEmpty else { return }
            var next = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
            var remaining = raw.count
            // avail_in is 32 bits; a larger buffer goes in pieces.
            while remaining > 0 {
                let piece = min(remaining, Int(UInt32.max))
                stream.pointee.next_in = next
                stream.pointee.avail_in = uInt(piece)
                defer { stream.pointee.next_in = nil }
                try deflateAvailable(flush: Z_NO_FLUSH)
                next += piece
                remaining -= piece
            }
        }
    }

    /// Runs deflate until it has taken all of `avail_in` (and, with `Z_FINISH`, ended the stream),
    /// writing each full output buffer to the file.
    private func deflateAvailable(flush: Int32) throws {
        while true {
            stream.pointee.next_out = buffer
            stream.pointee.avail_out = uInt(Self.chunkSize)
            let status = deflate(stream, flush)
            // Z_BUF_ERROR only says no progress was possible this call; not an error here.
            if status != Z_BUF_ERROR { try check(status, "deflate") }
            let produced = Self.chunkSize - Int(stream.pointee.avail_out)
            if produced > 0 {
                try file.write(contentsOf: UnsafeBufferPointer(start: buffer, count: produced))
            }
            stream.pointee.next_out = nil
            let done = flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_out != 0
            if done { return }
        }
    }

    // MARK: Decompressing

    /// Up to `count` decompressed bytes; fewer only at the end of the stream.
    func read(_ count: Int) throws -> [UInt8] {
        precondition(direction == .decompress, "read on a compressing GzipStream")
        var out = [UInt8](repeating: 0, count: count)
        let filled = try out.withUnsafeMutableBufferPointer { target -> Int in
            guard let base = target.baseAddress else { return 0 }
            stream.pointee.next_out = base
            stream.pointee.avail_out = uInt(target.count)
            defer { stream.pointee.next_out = nil }
            while stream.pointee.avail_out > 0 && !ended {
                var inputEnded = false
                if stream.pointee.avail_in == 0 {
                    inputEnded = try refill() == 0
                }
                let status = inflate(stream, Z_NO_FLUSH)
                if status == Z_STREAM_END {
                    ended = true
                } else if status == Z_BUF_ERROR && inputEnded {
                    throw failure(status, "inflate", detail: "the file ends before the gzip stream does")
                } else if status != Z_BUF_ERROR {
                    try check(status, "inflate")
                }
            }
            return target.count - Int(stream.pointee.avail_out)
        }
        out.removeSubrange(filled...)
        return out
    }

    /// Reads the next compressed chunk into `buffer`; returns how many bytes came (0 at the end).
    private func refill() throws -> Int {
        guard let chunk = try file.read(upToCount: Self.chunkSize), !chunk.isEmpty else { return 0 }
        chunk.copyBytes(to: buffer, count: chunk.count)
        stream.pointee.next_in = buffer
        stream.pointee.avail_in = uInt(chunk.count)
        return chunk.count
    }

    // MARK: Errors

    /// Throws unless `status` is `Z_OK` or `Z_STREAM_END`.
    private func check(_ status: Int32, _ call: String) throws {
        guard status != Z_OK && status != Z_STREAM_END else { return }
        throw failure(status, call, detail: stream.pointee.msg.map { String(cString: $0) })
    }

    /// The one place a zlib return code becomes an error: the call, the code, zlib's message,
    /// the file and how far into it (compressed bytes) the stream was.
    private func failure(_ status: Int32, _ call: String, detail: String?) -> RegistryError {
        let doing = direction == .compress ? "writing" : "reading"
        let message = detail ?? String(cString: zError(status))
        return RegistryError(
            .invalidInput,
            "zlib \(call) failed \(doing) \(path) at compressed byte "
                + "\(direction == .compress ? stream.pointee.total_out : stream.pointee.total_in): "
                + "\(Self.name(status)) (\(message))")
    }

    private static func name(_ status: Int32) -> String {
        switch status {
        case Z_STREAM_END: "Z_STREAM_END"
        case Z_NEED_DICT: "Z_NEED_DICT"
        case Z_ERRNO: "Z_ERRNO"
        case Z_STREAM_ERROR: "Z_STREAM_ERROR"
        case Z_DATA_ERROR: "Z_DATA_ERROR"
        case Z_MEM_ERROR: "Z_MEM_ERROR"
        case Z_BUF_ERROR: "Z_BUF_ERROR"
        case Z_VERSION_ERROR: "Z_VERSION_ERROR"
        default: "code \(status)"
        }
    }
}
