#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Writes one line to standard error.
package func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Whether standard output is a terminal (progress lines and colours only then).
package var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
package var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

/// Writes one line to standard output at once (unbuffered: a process reading it, e.g. a test
/// waiting for `serve`'s address, sees it now).
package func printLineNow(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
