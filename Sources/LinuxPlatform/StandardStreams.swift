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
