import Foundation

/// The fast path for `agent_activities`, the one table that can hold millions of rows.
///
/// When the registry holds no activities yet (a first migration), rows are classified here,
/// with the same rules as `LegacyImportSQL.planActivities`, and streamed with binary COPY
/// straight into `agent_activities`: no staging copy, no text parsing on the server. For a
/// large load the table's secondary indexes and constraints are dropped and re-created inside
/// the same transaction (one index build instead of a million insertions; all or nothing
/// still holds). Rows that cannot be imported are staged in a second pass over the (same
/// snapshot of the) legacy file and quarantined by the shared SQL. `LegacyVerifier` plans
/// with the SQL rules, so a test that imports and verifies holds the two to one behaviour.
struct LegacyActivityLoader {
    let connection: PostgresConnection
    let legacy: LegacyRegistry

    /// From this many rows on, indexes and constraints are rebuilt rather than maintained.
    static let bulkThreshold = 50_000

    static let allowedTypes: Set<String> = [
        "created", "modified", "deleted", "committed", "pushed", "merged", "synced", "other",
    ]

    /// Whether the fast path gives exactly what the SQL plan gives: no activities in the
    /// registry, a unique legacy id, and no two legacy ids mapping to one UUID.
    func applies() throws -> Bool {
        guard let columns = legacy.schema["agent_activities"] else { return false }
        guard try connection.execute("SELECT NOT EXISTS (SELECT 1 FROM agent_activities)").bool(0, 0) == true
        else { return false }
        guard try legacy.idIsPrimaryKey("agent_activities"), columns.contains("id") else { return false }
        return try !legacy.oddIDsCollide(table: "agent_activities")
    }

    /// Loads every legacy activity; returns the table's report.
    func load(progress: ((Int) -> Void)?) throws -> LegacyImportReport.Table {
        let worktrees = Set(
            try connection.execute("SELECT id::text FROM worktrees").rows.compactMap { row in
                row[0].map { text -> [UInt8] in var t = text; return t.withUTF8 { LegacyKey.uuidBytes($0) } }
            })
        var quarantinedWorktrees: [[UInt8]: String] = [:]
        let problems = try connection.execute("""
            SELECT DISTINCT ON (id) id::text, problem FROM legacy_plan_worktrees
            WHERE problem IS NOT NULL AND id IS NOT NULL ORDER BY id, ord
            """)
        for row in problems.rows {
            guard var id = row[0], let problem = row[1] else { continue }
            quarantinedWorktrees[id.withUTF8 { LegacyKey.uuidBytes($0) }] = problem
        }

        let expected = try legacy.rowCounts()["agent_activities"] ?? 0
        let rebuild = expected >= Self.bulkThreshold ? try dropIndexesAndConstraints() : []

        var counter = Counter()
        var quarantined: [Int64: String] = [:]
        let imported = try connection.copyIn("""
            COPY agent_activities (id, agent_id, worktree_id, activity_type, file_path, description,
                                   metadata, created_at) FROM STDIN WITH (FORMAT binary)
            """
        ) { writer in
            try writer.appendBinaryHeader()
            try legacy.forEachActivity { row in
                counter.read += 1
                if counter.read % 50_000 == 0 { progress?(counter.read) }
                switch classify(row, worktrees: worktrees, quarantinedWorktrees: quarantinedWorktrees) {
                case .failure(let problem):
                    quarantined[row.rowid] = problem.reason
                    counter.problems[problem.reason, default: 0] += 1
                case .success(let activity):
                    if !activity.repairs.isEmpty {
                        counter.repaired += 1
                        for repair in activity.repairs { counter.repairs[repair, default: 0] += 1 }
                    }
                    try activity.write(to: writer)
                }
            }
            try writer.appendBigEndian(Int16(-1))
        }
        for statement in rebuild { try connection.execute(statement) }
        if !quarantined.isEmpty {
            try quarantine(quarantined)
        }
        // An activity quarantined by an earlier run and imported now leaves the quarantine.
        try connection.execute("""
            DELETE FROM legacy_quarantine q
            WHERE q.source_table = 'agent_activities' AND EXISTS (
                SELECT 1 FROM agent_activities a WHERE a.id = CASE
                    WHEN q.source_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                    THEN q.source_id::uuid
                    ELSE md5('imi-legacy:agent_activities:' || q.source_id)::uuid END)
            """)
        return LegacyImportReport.Table(
            source: "agent_activities", target: "agent_activities", read: counter.read,
            imported: imported, alreadyPresent: 0, repaired: counter.repaired,
            quarantined: quarantined.count, derived: 0,
            repairs: counter.repairs.sorted { $0.key < $1.key }.map { .init(reason: $0.key, count: $0.value) },
            quarantineReasons: counter.problems.sorted { $0.key < $1.key }.map {
                .init(reason: $0.key, count: $0.value)
            })
    }

    private struct Counter {
        var read = 0
        var repaired = 0
        var repairs: [String: Int] = [:]
        var problems: [String: Int] = [:]
    }

    struct Problem: Error {
        var reason: String
    }

    /// One row ready for binary COPY.
    struct Activity {
        var id: [UInt8]
        var agentID: [UInt8]
        var worktreeID: [UInt8]
        var activityType: String
        var filePath: [UInt8]?
        var description: [UInt8]
        var metadata: [UInt8]
        var createdAt: Int64
        var repairs: [String]

        func write(to writer: CopyInWriter) throws {
            try writer.appendBigEndian(Int16(8))
            try writer.appendBinaryField(id)
            try writer.appendBinaryField(agentID)
            try writer.appendBinaryField(worktreeID)
            try writer.appendBinaryField(Array(activityType.utf8))
            try writer.appendBinaryField(filePath)
            try writer.appendBinaryField(description)
            try writer.appendBinaryField(metadata)
            // timestamptz: microseconds since 2000-01-01 UTC.
            try writer.appendBigEndian(Int32(8))
            try writer.appendBigEndian(createdAt - 946_684_800_000_000)
        }
    }

    /// The rules of `LegacyImportSQL.planActivities`, in the same order.
    func classify(
        _ row: LegacyRegistry.ActivityRow, worktrees: Set<[UInt8]>, quarantinedWorktrees: [[UInt8]: String]
    ) -> Result<Activity, Problem> {
        var bad: [String] = []
        func text(_ bytes: UnsafeBufferPointer<UInt8>?, _ column: String) -> [UInt8]? {
            guard let bytes else { return nil }
            let (clean, ok) = PostgresText.clean(bytes)
            if !ok { bad.append(column) }
            return clean
        }
        // Columns in staging order, so bad_text lists them as the SQL path does.
        let id = LegacyKey.key(row.id, namespace: "agent_activities")
        if let raw = row.id, LegacyUUID.canonical(raw) != .unchanged { _ = text(raw, "id") }
        let agent = text(row.agentID, "agent_id")
        let worktree = LegacyKey.key(row.worktreeID, namespace: "worktrees")
        if let raw = row.worktreeID, LegacyUUID.canonical(raw) != .unchanged { _ = text(raw, "worktree_id") }
        let type = text(row.activityType, "activity_type").map { String(decoding: $0, as: UTF8.self) }
        let filePath = text(row.filePath, "file_path")
        let description = text(row.description, "description")
        let created = row.createdAt.flatMap { LegacyTimestamp.micros($0) }
        if let raw = row.createdAt, created != nil, LegacyTimestamp.classify(raw) != .unchanged {
            _ = text(raw, "created_at")
        } else if let raw = row.createdAt, created == nil {
            _ = text(raw, "created_at")
        }

        guard let id else { return .failure(Problem(reason: "missing id")) }
        guard let created else {
            return .failure(Problem(reason: row.createdAt == nil ? "missing created_at" : "unparseable created_at"))
        }
        guard let worktree else { return .failure(Problem(reason: "missing worktree_id")) }
        guard worktrees.contains(worktree.bytes) else {
            let reason = quarantinedWorktrees[worktree.bytes].map { "worktree quarantined: \($0)" }
                ?? "orphan: no worktree with this worktree_id"
            return .failure(Problem(reason: reason))
        }

        var repairs: [String] = []
        let known = type.map { Self.allowedTypes.contains($0) } ?? false
        if type == nil {
            repairs.append("activity_type missing; set to other")
        } else if !known {
            repairs.append("activity_type '\(type!)' mapped to other")
        }
        if agent == nil { repairs.append("agent_id missing; stored as empty") }
        if description == nil { repairs.append("description missing; stored as empty") }
        if !bad.isEmpty { repairs.append("invalid UTF-8 or NUL bytes replaced in " + bad.joined(separator: ",")) }

        var metadata: [(String, String)] = []
        if id.odd, let raw = row.id { metadata.append(("legacy_id", PostgresText.string(raw))) }
        if worktree.odd, let raw = row.worktreeID {
            metadata.append(("legacy_worktree_id", PostgresText.string(raw)))
        }
        if let type, !known { metadata.append(("legacy_activity_type", type)) }
        return .success(Activity(
            id: id.bytes, agentID: agent ?? [], worktreeID: worktree.bytes,
            activityType: known ? type! : "other", filePath: filePath, description: description ?? [],
            metadata: [1] + Array(JSONText.object(metadata).utf8), createdAt: created, repairs: repairs))
    }

    /// Drops the secondary indexes, the foreign keys and the primary key of
    /// `agent_activities`; returns the statements that re-create them (from the catalog).
    private func dropIndexesAndConstraints() throws -> [String] {
        let restore = try connection.execute("""
            SELECT format('ALTER TABLE agent_activities ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)),
                   format('ALTER TABLE agent_activities DROP CONSTRAINT %I', conname), 0 AS phase
            FROM pg_constraint WHERE conrelid = 'agent_activities'::regclass AND contype IN ('p', 'f')
            UNION ALL
            SELECT pg_get_indexdef(i.indexrelid), format('DROP INDEX %s', i.indexrelid::regclass), 1
            FROM pg_index i
            WHERE i.indrelid = 'agent_activities'::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 3
            """)
        var create: [String] = []
        for row in restore.rows {
            guard let add = row[0], let drop = row[1] else { continue }
            try connection.execute(drop)
            create.append(add)
        }
        // Primary key first (ON CONFLICT and the foreign keys of others may rely on it).
        return create.sorted { a, b in a.contains("PRIMARY KEY") && !b.contains("PRIMARY KEY") }
    }

    /// Stages the quarantined rows (second pass) and quarantines them with the shared SQL.
    private func quarantine(_ rows: [Int64: String]) throws {
        let table = LegacyTable.agentActivities
        try connection.execute(table.stagingDefinition)
        _ = try connection.copyIn("COPY \(table.stagingName) FROM STDIN") { writer in
            _ = try legacy.stream(table, into: writer, only: Set(rows.keys))
        }
        try connection.execute(
            "CREATE TEMP TABLE legacy_problems_agent_activities (ord bigint, problem text) ON COMMIT DROP")
        _ = try connection.copyIn("COPY legacy_problems_agent_activities FROM STDIN") { writer in
            for (rowid, problem) in rows {
                try writer.appendInteger(rowid)
                try writer.appendText(problem)
                try writer.endRow()
            }
        }
        try connection.execute("""
            CREATE TEMP TABLE legacy_plan_agent_activities ON COMMIT DROP AS
            SELECT s.ord, \(LegacyImportSQL.sourceID()) AS source_id, p.problem
            FROM \(table.stagingName) s JOIN legacy_problems_agent_activities p ON p.ord = s.ord
            """)
        try connection.execute(LegacyImportSQL.quarantine(table))
    }
}

/// Text as PostgreSQL stores it: valid UTF-8 without NUL bytes.
enum PostgresText {
    /// The bytes, with invalid UTF-8 replaced (U+FFFD) and NUL removed; `ok` when unchanged.
    static func clean(_ bytes: UnsafeBufferPointer<UInt8>) -> ([UInt8], Bool) {
        var plain = true
        for byte in bytes where byte >= 0x80 || byte == 0 {
            plain = false
            break
        }
        if plain { return (Array(bytes), true) }
        var ok = true
        var out: [UInt8]
        if let valid = String(validating: bytes, as: UTF8.self) {
            out = Array(valid.utf8)
        } else {
            ok = false
            out = Array(String(decoding: bytes, as: UTF8.self).utf8)
        }
        if out.contains(0) {
            ok = false
            out.removeAll { $0 == 0 }
        }
        return (out, ok)
    }

    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: clean(bytes).0, as: UTF8.self)
    }
}

/// A flat JSON object of strings, keys in the given order.
enum JSONText {
    static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(quote($0.0)): \(quote($0.1))" }.joined(separator: ", ") + "}"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
