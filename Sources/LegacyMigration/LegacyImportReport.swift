import PostgresClient
import RegistryClient
/// What one `migrate` import did (or, with `--dry-run`, would do), per legacy table.
public struct LegacyImportReport: Sendable, Codable, Equatable {
    /// A reason and how many rows it applies to.
    public struct Reason: Sendable, Codable, Equatable {
        public var reason: String
        public var count: Int
    }

    /// One legacy table's rows: read, newly imported, present from an earlier run, repaired on
    /// the way in, and quarantined (with reasons).
    public struct Table: Sendable, Codable, Equatable {
        public var source: String
        public var target: String
        public var read: Int
        public var imported: Int
        public var alreadyPresent: Int
        public var repaired: Int
        public var quarantined: Int
        /// Rows created without a source row of this table (worktree types named only by
        /// `worktrees.worktree_type`); included in `imported`.
        public var derived: Int
        public var repairs: [Reason]
        public var quarantineReasons: [Reason]
    }

    public var source: String
    public var dryRun: Bool
    /// False for a dry run (rolled back) and a refused `--strict` run.
    public var committed: Bool
    public var tables: [Table]
    public var elapsedSeconds: Double

    public var quarantined: Int { tables.reduce(0) { $0 + $1.quarantined } }
    public var imported: Int { tables.reduce(0) { $0 + $1.imported } }

    public func table(_ source: String) -> Table? { tables.first { $0.source == source } }
}
