#if canImport(Glibc)
import Glibc
#endif

/// The machine's own name, `gethostname(2)`; `nil` when it cannot be read.
package func machineHostName() -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return nil }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? nil : name
}
