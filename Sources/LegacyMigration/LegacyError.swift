/// Why the legacy SQLite registry could not be read, imported, exported or archived, naming
/// the file. Statement and connection failures come through as `PostgresError`.
public struct LegacyError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The legacy file is missing, not a regular file, not SQLite, corrupt, locked or not
        /// an iMi registry.
        case source
        /// `--strict` and rows that would be quarantined: nothing was written.
        case strict
        /// An argument that cannot be used as given (an empty or existing target).
        case invalidInput
        /// A file could not be created, written or read (disk full, permissions, a missing
        /// directory, an archive that did not read back).
        case io
    }

    public var code: Code
    /// One line: what was attempted, on which file, and why it failed.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
