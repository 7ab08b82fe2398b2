/// Rows that cannot be imported, kept with their source row in `legacy_quarantine`.
extension LegacyImportSQL {
    /// The source row exactly as read (original text of every column), for the quarantine.
    static func sourceRow(_ table: LegacyTable) -> String {
        var pairs = ["'rowid', s.ord"]
        for column in table.columns {
            let value = column.kind == .text ? "s.\(column.name)" : "coalesce(s.\(column.name)__raw, s.\(column.name))"
            pairs.append("'\(column.name)', \(value)")
        }
        return "jsonb_build_object(\(pairs.joined(separator: ", ")))"
    }

    /// Rows that cannot be imported go to `legacy_quarantine` with their source row; a row
    /// quarantined by an earlier run gets the current reason and row.
    static func quarantine(_ table: LegacyTable) -> String {
        """
        INSERT INTO legacy_quarantine (source_table, source_id, reason, source_row)
        SELECT '\(table.name)',
               \(quarantineID),
               p.problem, \(sourceRow(table))
        FROM legacy_plan_\(table.name) p JOIN \(table.stagingName) s ON s.ord = p.ord
        WHERE p.problem IS NOT NULL
        ON CONFLICT (source_table, source_id) DO UPDATE
            SET reason = EXCLUDED.reason, source_row = EXCLUDED.source_row
        """
    }

    /// `legacy_quarantine.source_id` of a plan row `p`: the legacy id, made unique with the
    /// rowid where the id repeats or is missing.
    static let quarantineID = """
        CASE WHEN p.problem = 'duplicate id' OR p.source_id LIKE 'rowid:%' \
        THEN p.source_id || ' #rowid:' || p.ord ELSE p.source_id END
        """

    /// A row quarantined earlier and imported now leaves the quarantine.
    static func releaseFromQuarantine(_ table: LegacyTable) -> String {
        """
        DELETE FROM legacy_quarantine q USING legacy_plan_\(table.name) p
        WHERE q.source_table = '\(table.name)' AND q.source_id = p.source_id AND p.problem IS NULL
        """
    }
}
