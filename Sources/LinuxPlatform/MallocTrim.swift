/// glibc's `malloc_trim(3)`: returns free heap memory to the system. `<malloc.h>` is not part
/// of the Glibc module, so the symbol is bound directly; its C signature is
/// `int malloc_trim(size_t pad)`.
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32

/// Gives memory freed after a burst of work (many probe threads) back to the system.
package func releaseFreedMemory() {
    _ = glibcMallocTrim(0)
}
