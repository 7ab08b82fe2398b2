internal import CGit2

/// A list of literal paths handed to libgit2 as a `git_strarray`, owning the C copies.
///
/// Paths are raw bytes, not `String`s, because file names need not be UTF-8.
struct PathList: ~Copyable {
    private let strings: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ paths: [[UInt8]]) {
        count = paths.count
        strings = .allocate(capacity: max(count, 1))
        for (index, path) in paths.enumerated() {
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: path.count + 1)
            for (offset, byte) in path.enumerated() { copy[offset] = CChar(bitPattern: byte) }
            copy[path.count] = 0
            strings[index] = copy
        }
    }

    deinit {
        for index in 0..<count { strings[index]?.deallocate() }
        strings.deallocate()
    }

    /// Calls `body` with a `git_strarray` view of the list, valid only during the call.
    func withStrArray<Result, Failure: Error>(
        _ body: (git_strarray) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(git_strarray(strings: strings, count: count))
    }
}
