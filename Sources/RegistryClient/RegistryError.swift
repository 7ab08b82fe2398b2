/// What the registry refused or cannot do: a schema that does not fit, or a request the
/// registry turns down (a duplicate name, a type still in use, a role without the privilege).
/// Statement and connection failures come through as ``PostgresClient/PostgresError``.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The schema is missing, not current, or an applied migration was changed.
        case schema
        /// An argument the registry cannot take (an empty name, a negative number of days).
        case invalid
        /// The name is taken.
        case duplicate
        /// No such row.
        case notFound
        /// Rows still refer to it, so it is kept.
        case inUse
        /// Built into the registry, so it is kept.
        case builtIn
        /// The current role may not make this change.
        case permission
    }

    public var code: Code
    /// One line: what is wrong, where, and what to run.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
