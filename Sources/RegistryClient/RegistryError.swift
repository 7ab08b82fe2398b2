/// A registry the iMi schema does not fit: what is missing or changed, and the fix.
/// Statement and connection failures come through as ``PostgresClient/PostgresError``.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The schema is missing, not current, or an applied migration was changed.
        case schema
    }

    public var code: Code
    /// One line: what is wrong and what to run.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
