import PostgresClient
import RegistryClient
/// The SQL that turns staged legacy rows into registry rows. Staging tables hold the legacy
/// text; each `legacy_plan_*` table holds, per source row, the registry row it becomes, the
/// repairs made on the way, and the reason it cannot be imported (`problem`), if any.
///
/// Every value comes from the staging tables (filled by COPY); the text here is fixed.
/// The importer and the verifier run the same plans, so what is checked is what was imported.
enum LegacyImportSQL {
    /// The UUID a legacy id maps to: itself when it is one, else md5 of a fixed namespace,
    /// the legacy table and the id (deterministic, so runs agree), else NULL.
    static func key(_ column: String, namespace: String) -> String {
        """
        CASE WHEN s.\(column) IS NOT NULL THEN s.\(column)::uuid \
        WHEN s.\(column)__raw IS NOT NULL THEN md5('imi-legacy:\(namespace):' || s.\(column)__raw)::uuid END
        """
    }

    /// A legacy boolean (0/1, true/false, t/f, yes/no, on/off in any case), else NULL.
    static func boolean(_ expression: String) -> String {
        """
        (CASE lower(btrim(\(expression))) WHEN '1' THEN true WHEN 't' THEN true WHEN 'true' THEN true \
        WHEN 'yes' THEN true WHEN 'y' THEN true WHEN 'on' THEN true \
        WHEN '0' THEN false WHEN 'f' THEN false WHEN 'false' THEN false WHEN 'no' THEN false \
        WHEN 'n' THEN false WHEN 'off' THEN false END)
        """
    }

    static func sourceID(_ column: String = "id") -> String {
        "coalesce(s.\(column)__raw, s.\(column), 'rowid:' || s.ord)"
    }

    /// Repairs of a pair of timestamps where either stands in for the other.
    static func timestampRepairs() -> [String] {
        [
            """
            CASE WHEN s.created_at IS NULL AND s.updated_at IS NOT NULL THEN 'created_at ' || \
            CASE WHEN s.created_at__raw IS NULL THEN 'missing' ELSE 'unparseable' END || '; set to updated_at' END
            """,
            """
            CASE WHEN s.updated_at IS NULL AND s.created_at IS NOT NULL THEN 'updated_at ' || \
            CASE WHEN s.updated_at__raw IS NULL THEN 'missing' ELSE 'unparseable' END || '; set to created_at' END
            """,
        ]
    }

    static func activeRepair(_ column: String) -> String {
        """
        CASE WHEN \(boolean("s.\(column)")) IS NULL THEN '\(column) ' || \
        CASE WHEN s.\(column) IS NULL THEN 'missing' ELSE 'not a boolean' END || '; set to true' END
        """
    }

    static let badTextRepair =
        "CASE WHEN s.bad_text IS NOT NULL THEN 'invalid UTF-8 or NUL bytes replaced in ' || s.bad_text END"

    static func repairs(_ items: [String]) -> String {
        "array_remove(ARRAY[\(items.joined(separator: ",\n"))]::text[], NULL)"
    }

    /// created_at, updated_at, active and metadata (legacy id and unparsable originals), the
    /// columns repositories and worktrees share.
    static func timestampsActiveAndMetadata() -> String {
        """
        coalesce(s.created_at, s.updated_at)::timestamptz AS created_at,
            coalesce(s.updated_at, s.created_at)::timestamptz AS updated_at,
            coalesce(\(boolean("s.active")), true) AS active,
            jsonb_strip_nulls(jsonb_build_object(
                'legacy_id', s.id__raw,
                'legacy_created_at', CASE WHEN s.created_at IS NULL THEN s.created_at__raw END,
                'legacy_updated_at', CASE WHEN s.updated_at IS NULL THEN s.updated_at__raw END,
                'legacy_active', CASE WHEN \(boolean("s.active")) IS NULL THEN s.active END)) AS metadata
        """
    }

    /// Marks every row after the first that maps to an id already taken in the same plan.
    static func duplicateID(_ plan: String) -> String {
        """
        UPDATE \(plan) p SET problem = 'duplicate id'
        FROM (SELECT ord, row_number() OVER (PARTITION BY id ORDER BY ord) AS n
              FROM \(plan) WHERE problem IS NULL) d
        WHERE d.ord = p.ord AND d.n > 1
        """
    }
}
