#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Bytes in and out of swift-system's paths, which keep non-UTF-8 names exact.
extension FilePath {
    /// A path from bytes as git or the kernel gave them (no terminating NUL).
    package init(bytes: [UInt8]) {
        self.init(platformString: bytes.map { CChar(bitPattern: $0) } + [0])
    }

    /// The path's bytes, without a terminating NUL.
    package var bytes: [UInt8] {
        withPlatformString { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
    }
}

extension FilePath.Component {
    /// The name's bytes, without a terminating NUL.
    package var bytes: [UInt8] {
        withPlatformString { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
    }
}
