#if canImport(Glibc)
    import Glibc
#endif

/// Files of gigabytes that cost no disk: the size is set with `ftruncate`, no data is written.
public enum SparseFile {
    /// Creates (or empties) the file at `path` as `size` bytes holding no data blocks but
    /// `tail`, written at its very end.
    public static func create(_ path: String, size: Int, endingWith tail: String = "") throws {
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw TestSupportError("open \(path) failed") }
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw TestSupportError("ftruncate \(path) failed") }
        let bytes = Array(tail.utf8)
        guard pwrite(descriptor, bytes, bytes.count, off_t(size - bytes.count)) == bytes.count else {
            throw TestSupportError("pwrite \(path) failed")
        }
    }
}
