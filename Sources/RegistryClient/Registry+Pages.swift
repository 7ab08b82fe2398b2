import PostgresClient

/// Where a page of worktrees ends: the sort key of its last row. The next page starts after it.
/// Rows sort by `rank` (0: the preferred project, 1: the others), then most recently changed
/// first (`worktrees.updated_at`, in microseconds since the epoch), then by id.
public struct WorktreePageKey: Sendable, Equatable, Codable {
    public var rank: Int
    public var changedMicroseconds: Int64
    public var id: String

    public init(rank: Int, changedMicroseconds: Int64, id: String) {
        self.rank = rank
        self.changedMicroseconds = changedMicroseconds
        self.id = id
    }
}

/// Which worktrees a page lists and in what order.
public struct WorktreePageQuery: Sendable, Equatable {
    /// Only this project, host or status (`nil`: any). Status `unknown` is a row whose git
    /// state was never read.
    public var project: String?
    public var host: String?
    public var status: String?
    /// Listed first; `nil`: no project is.
    public var preferredProject: String?
    /// Deactivated worktrees too (`list_worktrees` only; the in-flight view has active ones).
    public var includeInactive: Bool
    public var limit: Int
    /// The last row of the previous page; `nil` for the first page.
    public var after: WorktreePageKey?

    public init(
        project: String? = nil, host: String? = nil, status: String? = nil, preferredProject: String? = nil,
        includeInactive: Bool = false, limit: Int, after: WorktreePageKey? = nil
    ) {
        self.project = project
        self.host = host
        self.status = status
        self.preferredProject = preferredProject
        self.includeInactive = includeInactive
        self.limit = limit
        self.after = after
    }
}

/// One page: its rows, how many rows the query has in all, and where the next page starts
/// (`nil`: this is the last one).
public struct WorktreePage<Row: Sendable>: Sendable {
    public var rows: [Row]
    public var total: Int
    public var next: WorktreePageKey?
}

extension Registry {
    /// A page of `v_inflight_work` (keyset pagination: the page after `query.after`, never an
    /// OFFSET), with the count of all rows the filters match.
    public func inflightPage(_ query: WorktreePageQuery) throws -> WorktreePage<InflightWorktree> {
        let result = try connection.execute(
            Self.pageStatement(
                scope: """
                    s.page_active AND (s.page_status NOT IN ('clean', 'merged')
                        OR (s.page_status = 'merged' AND s.page_files > 0))
                      AND ($3::text IS NULL OR s.page_status = $3::text)
                    """,
                columns: Self.inflightColumns,
                rows: "v_inflight_work v ON v.worktree_id = page.page_id"),
            Self.pageBinds(query))
        return try Self.page(result, columnCount: 18, query: query) { try Self.inflightRow(result, row: $0, first: 1) }
    }

    /// A page of worktree records (active ones unless `includeInactive`), as ``inflightPage(_:)``.
    public func worktreeRecordPage(_ query: WorktreePageQuery) throws -> WorktreePage<WorktreeRecord> {
        let result = try connection.execute(
            Self.pageStatement(
                scope: """
                    ($4::boolean OR s.page_active)
                      AND ($3::text IS NULL OR coalesce(s.page_status, 'unknown') = $3::text)
                    """,
                columns: Self.recordColumns,
                rows: """
                    (v_worktrees_detail d JOIN worktrees w ON w.id = d.id
                     LEFT JOIN worktree_change_sets c ON c.worktree_id = d.id) ON d.id = page.page_id
                    """),
            Self.pageBinds(query, includeInactive: query.includeInactive))
        return try Self.page(result, columnCount: 24, query: query) { try Self.record(result, row: $0, first: 1) }
    }

    /// The project of the active worktree that is the deepest of `paths` (a directory and its
    /// ancestors), among this host's worktrees and those no host has adopted; `nil` if none.
    public func projectOfWorktree(atAnyOf paths: [String], host: String?) throws -> String? {
        guard !paths.isEmpty else { return nil }
        let result = try connection.execute(
            """
            SELECT p.name
            FROM worktrees w
            JOIN projects p ON p.id = w.project_id
            LEFT JOIN hosts h ON h.id = w.host_id
            WHERE w.active AND w.path = ANY($1::text[]) AND (w.host_id IS NULL OR h.name = $2::text)
            ORDER BY length(w.path) DESC, w.path
            LIMIT 1
            """, [paths, host])
        return result.count == 0 ? nil : try result.decode(0, 0)
    }

    /// Binds $1 project, $2 host, $3 status, $4 include inactive, $5 preferred project, $6–$8
    /// the key to start after, $9 the rows to fetch (one more than the page, to know if another
    /// follows).
    private static func pageBinds(_ query: WorktreePageQuery, includeInactive: Bool = false) -> [any PostgresBindable] {
        [
            query.project, query.host, query.status, includeInactive, query.preferredProject,
            query.after?.rank, query.after?.changedMicroseconds, query.after?.id, query.limit + 1,
        ]
    }

    /// The page statement: the keys of the rows in `scope` (filtered by $1 project and $2
    /// host), their count, the page after the key $6–$8, and for the page's keys only the
    /// `columns` of the view joined by `rows`. Column 0 is the total, then `columns`, then the
    /// sort key; one row of NULLs but the total when the page is empty.
    ///
    /// The keys and their status come from `v_worktrees_detail`, which computes the status
    /// inline since migration 011 (no function call per row). Static text only: every value is
    /// a bind parameter.
    private static func pageStatement(scope: String, columns: String, rows: String) -> String {
        """
        WITH k AS (
            SELECT s.page_id, s.page_rank, s.page_changed
            FROM (
                SELECT d.id AS page_id, d.active AS page_active, d.uncommitted_files_count AS page_files,
                       d.status AS page_status, d.project_name AS page_project, d.host_name AS page_host,
                       CASE WHEN $5::text IS NOT NULL AND d.project_name = $5::text THEN 0 ELSE 1 END AS page_rank,
                       (extract(epoch FROM d.updated_at) * 1000000)::bigint AS page_changed
                FROM v_worktrees_detail d
            ) s
            WHERE \(scope)
              AND ($1::text IS NULL OR s.page_project = $1::text)
              AND ($2::text IS NULL OR s.page_host = $2::text)
        ),
        page AS (
            SELECT * FROM k
            WHERE $6::integer IS NULL OR k.page_rank > $6::integer
               OR (k.page_rank = $6::integer AND (k.page_changed < $7::bigint
                   OR (k.page_changed = $7::bigint AND k.page_id > $8::uuid)))
            ORDER BY k.page_rank, k.page_changed DESC, k.page_id
            LIMIT $9::integer
        )
        SELECT t.total, \(columns), page.page_rank, page.page_changed, page.page_id
        FROM (SELECT count(*) FROM k) AS t(total)
        LEFT JOIN (page JOIN \(rows)) ON true
        ORDER BY page.page_rank, page.page_changed DESC, page.page_id
        """
    }

    /// Rows 1…`columnCount` of each result row decoded by `row`, the total from column 0, and
    /// the next page's key when one more row than the limit came back.
    private static func page<Row>(
        _ result: PostgresRows, columnCount: Int, query: WorktreePageQuery, row: (Int) throws -> Row
    ) throws -> WorktreePage<Row> {
        guard result.count > 0 else { return WorktreePage(rows: [], total: 0, next: nil) }
        let total: Int = try result.decode(0, 0)
        guard try result.decode(0, columnCount + 3, as: String?.self) != nil else {
            return WorktreePage(rows: [], total: total, next: nil)
        }
        let shown = min(result.count, query.limit)
        var rows: [Row] = []
        rows.reserveCapacity(shown)
        for index in 0..<shown { rows.append(try row(index)) }
        var next: WorktreePageKey?
        if result.count > query.limit, shown > 0 {
            let last = shown - 1
            next = WorktreePageKey(
                rank: try result.decode(last, columnCount + 1), changedMicroseconds: try result.decode(last, columnCount + 2),
                id: try result.decode(last, columnCount + 3))
        }
        return WorktreePage(rows: rows, total: total, next: next)
    }
}
