import Foundation
import PostgresClient
import RegistryClient

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

    /// Whether the fast path can run: no activities in the registry yet.
    func applies() throws -> Bool {
        guard let columns = legacy.schema["agent_activities"] else { return false }
        let empty: Bool = try connection.execute("SELECT NOT EXISTS (SELECT 1 FROM agent_activities)").decode(0, 0)
        guard empty else { return false }
        // Two legacy ids mapping to one UUID (case variants, a table without a key) make the
        // primary key fail; the importer then rolls back to a savepoint and plans in SQL.
        return columns.contains("id")
    }

    /// Loads every legacy activity; returns the table's report.
    func load(progress: ((Int) -> Void)?) throws -> LegacyImportReport.Table {
        var worktrees = Set<UUIDKey>()
        for var text in try connection.execute("SELECT id::text FROM worktrees").column(0, as: String.self) {
            guard let (key, _) = text.withUTF8({ UUIDKey.parse($0) }) else { continue }
            worktrees.insert(key)
        }
        var quarantinedWorktrees: [UUIDKey: String] = [:]
        let problems = try connection.execute("""
            SELECT DISTINCT ON (id) id::text, problem FROM legacy_plan_worktrees
            WHERE problem IS NOT NULL AND id IS NOT NULL ORDER BY id, ord
            """)
        for row in 0..<problems.count {
            var text: String = try problems.decode(row, 0)
            guard let (key, _) = text.withUTF8({ UUIDKey.parse($0) }) else { continue }
            quarantinedWorktrees[key] = try problems.decode(row, 1, as: String.self)
        }

        let bulk = try legacy.rowCount(of: .agentActivities, upTo: Self.bulkThreshold) >= Self.bulkThreshold
        let rebuild = bulk ? try dropIndexesAndConstraints() : []
        let freeze = bulk ? try truncateIfStillEmpty() : false

        var state = LoadState(worktrees: worktrees, quarantinedWorktrees: quarantinedWorktrees)
        let imported = try connection.copyIn(freeze ? Self.copyFrozen : Self.copy) { writer in
            try writer.appendBinaryHeader()
            try legacy.forEachActivity { row in
                state.read += 1
                if state.read % 50_000 == 0 { progress?(state.read) }
                if let problem = try state.importRow(row, into: writer) {
                    state.quarantined[row.rowid] = problem
                    state.problems[problem, default: 0] += 1
                }
            }
            try writer.appendBigEndian(Int16(-1))
        }
        for statement in rebuild { try connection.execute(statement) }
        if !state.quarantined.isEmpty {
            try quarantine(state.quarantined)
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
            source: "agent_activities", target: "agent_activities", read: state.read,
            imported: imported, alreadyPresent: 0, repaired: state.repaired,
            quarantined: state.quarantined.count, derived: 0,
            repairs: state.repairs.sorted { $0.key < $1.key }.map { .init(reason: $0.key, count: $0.value) },
            quarantineReasons: state.problems.sorted { $0.key < $1.key }.map {
                .init(reason: $0.key, count: $0.value)
            })
    }

    /// Counters and lookups of one load; ``importRow(_:into:)`` is the per-row hot path.
    struct LoadState {
        let worktrees: Set<UUIDKey>
        let quarantinedWorktrees: [UUIDKey: String]
        var read = 0
        var repaired = 0
        var repairs: [String: Int] = [:]
        var problems: [String: Int] = [:]
        var quarantined: [Int64: String] = [:]
        /// Unknown activity types seen: their bytes, repair reason and metadata.
        var unknownTypes: [(bytes: [UInt8], reason: String, metadata: [UInt8])] = []

        init(worktrees: Set<UUIDKey>, quarantinedWorktrees: [UUIDKey: String]) {
            self.worktrees = worktrees
            self.quarantinedWorktrees = quarantinedWorktrees
        }

        static let allowed: [[UInt8]] = LegacyActivityLoader.allowedTypes.sorted().map { Array($0.utf8) }
        static let emptyMetadata: [UInt8] = [1, 0x7B, 0x7D]
        static let other = Array("other".utf8)

        /// The rules of `LegacyImportSQL.planActivities`, in the same order. Writes the row and
        /// returns nil, or returns the reason it cannot be imported.
        mutating func importRow(_ row: LegacyRegistry.ActivityRow, into writer: CopyInWriter) throws -> String? {
            let id = UUIDKey.legacy(row.id, namespace: "agent_activities")
            guard let id else { return "missing id" }
            guard let created = row.createdAt.flatMap({ LegacyTimestamp.micros($0) }) else {
                return row.createdAt == nil ? "missing created_at" : "unparseable created_at"
            }
            guard let worktree = UUIDKey.legacy(row.worktreeID, namespace: "worktrees") else {
                return "missing worktree_id"
            }
            guard worktrees.contains(worktree.key) else {
                return quarantinedWorktrees[worktree.key].map { "worktree quarantined: \($0)" }
                    ?? "orphan: no worktree with this worktree_id"
            }

            // Text columns in staging order, so the repair names them as the SQL path does.
            var bad: [String] = []
            // A canonical UUID (not odd) is clean text; only odd ids need the check.
            if id.odd, let raw = row.id, UUIDKey.parse(raw) == nil, !PostgresText.isClean(raw) { bad.append("id") }
            let agent = Field(row.agentID, "agent_id", &bad)
            if worktree.odd, let raw = row.worktreeID, UUIDKey.parse(raw) == nil, !PostgresText.isClean(raw) {
                bad.append("worktree_id")
            }
            let type = Field(row.activityType, "activity_type", &bad)
            let filePath = Field(row.filePath, "file_path", &bad)
            let description = Field(row.description, "description", &bad)

            var rowRepairs: [String] = []
            var typeMetadata: [UInt8]? = nil
            var known = false
            switch type {
            case .null:
                rowRepairs.append("activity_type missing; set to other")
            default:
                known = type.withBytes { bytes in Self.allowed.contains { $0.elementsEqual(bytes) } }
                if !known {
                    let entry = unknownType(type)
                    rowRepairs.append(entry.reason)
                    typeMetadata = entry.metadata
                }
            }
            if case .null = agent { rowRepairs.append("agent_id missing; stored as empty") }
            if case .null = description { rowRepairs.append("description missing; stored as empty") }
            if !bad.isEmpty {
                rowRepairs.append("invalid UTF-8 or NUL bytes replaced in " + bad.joined(separator: ","))
            }
            if !rowRepairs.isEmpty {
                repaired += 1
                for repair in rowRepairs { repairs[repair, default: 0] += 1 }
            }

            let metadata: [UInt8]
            if !id.odd && !worktree.odd {
                metadata = typeMetadata ?? Self.emptyMetadata
            } else {
                var pairs: [(String, String)] = []
                if id.odd, let raw = row.id { pairs.append(("legacy_id", PostgresText.string(raw))) }
                if worktree.odd, let raw = row.worktreeID {
                    pairs.append(("legacy_worktree_id", PostgresText.string(raw)))
                }
                if typeMetadata != nil { pairs.append(("legacy_activity_type", type.string)) }
                metadata = [1] + Array(JSONText.object(pairs).utf8)
            }

            try writer.appendBigEndian(Int16(8))
            try id.key.write(to: writer)
            try agent.write(to: writer, nullAs: [])
            try worktree.key.write(to: writer)
            if known { try type.write(to: writer, nullAs: Self.other) } else { try writer.appendBinaryField(Self.other) }
            try filePath.write(to: writer, nullAs: nil)
            try description.write(to: writer, nullAs: [])
            try writer.appendBinaryField(metadata)
            // timestamptz: microseconds since 2000-01-01 UTC.
            try writer.appendBigEndian(Int32(8))
            try writer.appendBigEndian(created - 946_684_800_000_000)
            return nil
        }

        private mutating func unknownType(_ type: Field) -> (bytes: [UInt8], reason: String, metadata: [UInt8]) {
            if let entry = unknownTypes.first(where: { entry in type.withBytes { entry.bytes.elementsEqual($0) } }) {
                return entry
            }
            let name = type.string
            let entry = (
                bytes: type.withBytes { Array($0) },
                reason: "activity_type '\(name)' mapped to other",
                metadata: [1] + Array(JSONText.object([("legacy_activity_type", name)]).utf8))
            if unknownTypes.count < 64 { unknownTypes.append(entry) }
            return entry
        }
    }

    /// A text column as PostgreSQL will store it: the row's own bytes when they are clean.
    enum Field {
        case null
        case borrowed(UnsafeBufferPointer<UInt8>)
        case repaired([UInt8])

        init(_ bytes: UnsafeBufferPointer<UInt8>?, _ column: String, _ bad: inout [String]) {
            guard let bytes else {
                self = .null
                return
            }
            if PostgresText.isClean(bytes) {
                self = .borrowed(bytes)
            } else {
                bad.append(column)
                self = .repaired(PostgresText.clean(bytes).0)
            }
        }

        func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            switch self {
            case .null: return body(UnsafeBufferPointer(start: nil, count: 0))
            case .borrowed(let bytes): return body(bytes)
            case .repaired(let bytes): return bytes.withUnsafeBufferPointer(body)
            }
        }

        var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }

        func write(to writer: CopyInWriter, nullAs replacement: [UInt8]?) throws {
            switch self {
            case .null: try writer.appendBinaryField(replacement)
            case .borrowed(let bytes): try writer.appendBinaryField(UnsafeRawBufferPointer(bytes))
            case .repaired(let bytes): try writer.appendBinaryField(bytes)
            }
        }
    }

    static let copy = """
        COPY agent_activities (id, agent_id, worktree_id, activity_type, file_path, description,
                               metadata, created_at) FROM STDIN WITH (FORMAT binary)
        """
    /// Rows written frozen: no hint bits to set on the first reads, no freezing vacuum later,
    /// and the index builds check visibility cheaply (measured: COPY and index builds ~15%
    /// faster). Allowed because the table was emptied in this subtransaction.
    static let copyFrozen = """
        COPY agent_activities (id, agent_id, worktree_id, activity_type, file_path, description,
                               metadata, created_at) FROM STDIN WITH (FORMAT binary, FREEZE)
        """

    /// Locks `agent_activities` and, when it is still empty (another session may have
    /// committed rows since ``applies()``), truncates it so COPY may write frozen rows.
    /// TRUNCATE of an empty table loses nothing and is undone by a rollback.
    private func truncateIfStillEmpty() throws -> Bool {
        try connection.execute("LOCK TABLE agent_activities IN ACCESS EXCLUSIVE MODE")
        let empty: Bool = try connection.execute("SELECT NOT EXISTS (SELECT 1 FROM agent_activities)").decode(0, 0)
        guard empty else { return false }
        try connection.execute("TRUNCATE agent_activities")
        return true
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
        for row in 0..<restore.count {
            // Statements the server wrote from its catalog (format() with %I), not from data.
            try connection.execute(try restore.decode(row, 1, as: String.self))
            create.append(try restore.decode(row, 0))
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
