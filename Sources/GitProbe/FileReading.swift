#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An `errno` value a system call failed with.
struct SystemErrno: Error, Equatable {
    var code: Int32
}

/// `open(2)` and `read(2)` as the probe's careful readers use them (``SmallFile`` for the files
/// git keeps small, ``WorktreeFile`` for the forecast's working-directory files): EINTR
/// retried, a failure returned as its errno, so each reader only says what it means.
enum FileReading {
    /// `open(2)` of `path` with `flags`: the descriptor, or the errno it failed with.
    static func openFile(_ path: UnsafePointer<CChar>, flags: Int32) -> Result<Int32, SystemErrno> {
        while true {
            let descriptor = open(path, flags)
            if descriptor >= 0 { return .success(descriptor) }
            if errno != EINTR { return .failure(SystemErrno(code: errno)) }
        }
    }

    /// `read(2)` of at most `count` bytes into `buffer` at `offset`; 0 at the end of the file.
    static func readSome(
        _ descriptor: Int32, into buffer: inout [UInt8], at offset: Int = 0, count: Int
    ) throws(SystemErrno) -> Int {
        while true {
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, count) }
            if got >= 0 { return got }
            if errno != EINTR { throw SystemErrno(code: errno) }
        }
    }

    /// Reads into `buffer` after its first `start` bytes until it is full or the file ends;
    /// how many bytes it now holds.
    static func fill(_ buffer: inout [UInt8], from descriptor: Int32, at start: Int = 0) throws(SystemErrno) -> Int {
        var filled = start
        while filled < buffer.count {
            let got = try readSome(descriptor, into: &buffer, at: filled, count: buffer.count - filled)
            if got == 0 { break }
            filled += got
        }
        return filled
    }
}
