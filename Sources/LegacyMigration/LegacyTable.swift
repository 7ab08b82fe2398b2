/// One table of the legacy SQLite registry as the importer reads it, and the temporary
/// staging table it is copied into.
///
/// Column names here are constants of this program; the introspected schema only decides
/// which of them exist. A missing optional column reads as NULL.
struct LegacyTable: Sendable {
    enum Kind: Sendable {
        /// Carried as text (booleans too: they are normalized in SQL).
        case text
        /// Carried as canonical UUID text (or NULL) plus the original when it differs.
        case uuid
        /// Carried as text PostgreSQL reads as meant (or NULL) plus the original when it differs.
        case timestamp
    }

    struct Column: Sendable {
        var name: String
        var kind: Kind
        var required: Bool

        init(_ name: String, _ kind: Kind = .text, required: Bool = false) {
            self.name = name
            self.kind = kind
            self.required = required
        }
    }

    /// The legacy table's name.
    var name: String
    /// Whether a registry without this table is refused as an unknown schema.
    var required: Bool
    var columns: [Column]

    /// An SQLite identifier as SQL text: identifiers cannot be bound as parameters, so the
    /// names this program knows (never a value from a file) are quoted here, `"` doubled.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The table's name, quoted for SQLite.
    var quotedName: String { Self.quoted(name) }

    /// The temporary table the rows are copied into.
    var stagingName: String { "legacy_stage_\(name)" }

    /// Staging columns: `ord` (the SQLite rowid), one or two per source column, `bad_text`.
    var stagingDefinition: String {
        var parts = ["ord bigint"]
        for column in columns {
            parts.append("\(column.name) text")
            if column.kind != .text { parts.append("\(column.name)__raw text") }
        }
        parts.append("bad_text text")
        return "CREATE TEMP TABLE \(stagingName) (\(parts.joined(separator: ", "))) ON COMMIT DROP"
    }

    static let repositories = LegacyTable(
        name: "repositories", required: true,
        columns: [
            Column("id", .uuid, required: true), Column("name", required: true),
            Column("path", required: true), Column("remote_url"), Column("default_branch"),
            Column("created_at", .timestamp, required: true), Column("updated_at", .timestamp),
            Column("active"),
        ])

    static let worktreeTypes = LegacyTable(
        name: "worktree_types", required: false,
        columns: [
            Column("id"), Column("name", required: true), Column("branch_prefix"),
            Column("worktree_prefix"), Column("description"), Column("is_builtin"),
            Column("created_at", .timestamp),
        ])

    static let worktrees = LegacyTable(
        name: "worktrees", required: true,
        columns: [
            Column("id", .uuid, required: true), Column("repo_name", required: true),
            Column("worktree_name", required: true), Column("branch_name"),
            Column("worktree_type"), Column("path", required: true),
            Column("created_at", .timestamp, required: true), Column("updated_at", .timestamp),
            Column("active"), Column("agent_id"),
        ])

    static let agentActivities = LegacyTable(
        name: "agent_activities", required: false,
        columns: [
            Column("id", .uuid, required: true), Column("agent_id"),
            Column("worktree_id", .uuid, required: true), Column("activity_type"),
            Column("file_path"), Column("description"),
            Column("created_at", .timestamp, required: true),
        ])

    /// In import order: parents before children.
    static let all: [LegacyTable] = [repositories, worktreeTypes, worktrees, agentActivities]
}
