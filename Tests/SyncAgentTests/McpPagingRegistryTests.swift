import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// The keyset pages behind the MCP list tools (`Registry.inflightPage`, `worktreeRecordPage`),
/// against a real PostgreSQL: 3 projects, 2 hosts, 60 worktrees, 48 of them in flight.
@Suite("MCP list pages: keyset order, totals, filters, rows changed between pages", .ownThreads)
struct McpPagingRegistryTests {
    let seeder: RegistrySeeder
    var registry: Registry { Registry(connection: seeder.connection) }

    init() throws {
        seeder = try RegistrySeeder.freshRegistry(prefix: "mcppage")
        try seeder.connection.executeScript(StaticScript("""
            INSERT INTO hosts (name, last_seen_at) VALUES ('here', now()), ('there', now());
            INSERT INTO projects (name, remote_origin, trunk_path)
            SELECT 'p' || p, 'git@example.com:p' || p || '.git', '/code/p' || p || '/trunk' FROM generate_series(1, 3) p;
            -- n % 5 = 0 is clean (12 rows); the other 48 in flight. updated_at falls with n, with
            -- ties in pairs so the id decides within a pair.
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path, host_id, has_uncommitted_changes,
                                   uncommitted_files_count, ahead_of_trunk, behind_trunk, last_sync_at, updated_at)
            SELECT p.id, 1, 'w' || n, 'feat/' || n, '/code/p' || (n % 3 + 1) || '/w' || n,
                   (SELECT id FROM hosts WHERE name = CASE WHEN n % 2 = 0 THEN 'here' ELSE 'there' END),
                   n % 5 <> 0 AND n % 2 = 0, CASE WHEN n % 5 <> 0 AND n % 2 = 0 THEN 3 ELSE 0 END,
                   CASE WHEN n % 5 <> 0 AND n % 2 = 1 THEN 1 ELSE 0 END, 0, now(),
                   timestamptz '2026-01-01' - (n / 2) * interval '1 minute' + interval '0.000001 second'
            FROM generate_series(1, 60) n JOIN projects p ON p.name = 'p' || (n % 3 + 1);
            """))
    }

    /// Every page of `query` from the first, by `limit`; the rows' ids in order.
    func walk(_ query: WorktreePageQuery, between: (Int) throws -> Void = { _ in }) throws -> (ids: [String], totals: Set<Int>) {
        var query = query
        var ids: [String] = []
        var totals = Set<Int>()
        for pageNumber in 0..<100 {
            let page = try registry.inflightPage(query)
            ids += page.rows.map(\.worktreeID)
            totals.insert(page.total)
            #expect(page.rows.count <= query.limit)
            guard let next = page.next else { break }
            query.after = next
            try between(pageNumber)
        }
        return (ids, totals)
    }

    @Test("a walk by any limit sees every in-flight row exactly once, preferred project first, newest first", arguments: [1, 7, 48, 1000])
    func walkSeesEveryRowOnce(limit: Int) throws {
        let (ids, totals) = try walk(WorktreePageQuery(preferredProject: "p2", limit: limit))
        let inflight = try registry.inflightWork()
        #expect(ids.count == 48 && Set(ids).count == 48)
        #expect(Set(ids) == Set(inflight.map(\.worktreeID)))
        #expect(totals == [48])
        // The order: p2's rows first, then by updated_at descending, then id.
        let expected = try seeder.connection.execute("""
            SELECT v.worktree_id FROM v_inflight_work v JOIN worktrees w ON w.id = v.worktree_id
            ORDER BY v.project_name <> 'p2', w.updated_at DESC, v.worktree_id
            """)
        #expect(ids == (try (0..<expected.count).map { try expected.decode($0, 0) as String }))
    }

    @Test("total counts the filtered rows; project, host and status filter; an empty page keeps the total")
    func filtersAndTotals() throws {
        let byProject = try registry.inflightPage(WorktreePageQuery(project: "p1", limit: 5))
        #expect(byProject.total == 16 && byProject.rows.count == 5 && byProject.rows.allSatisfy { $0.projectName == "p1" })
        let byHost = try registry.inflightPage(WorktreePageQuery(host: "here", limit: 100))
        #expect(byHost.total == 24 && byHost.rows.allSatisfy { $0.host == "here" } && byHost.next == nil)
        let ahead = try registry.inflightPage(WorktreePageQuery(status: "ahead", limit: 100))
        #expect(ahead.total == 24 && ahead.rows.allSatisfy { $0.status == "ahead" })
        let none = try registry.inflightPage(WorktreePageQuery(project: "nope", limit: 5))
        #expect(none.total == 0 && none.rows.isEmpty && none.next == nil)
        let last = try #require(byHost.rows.last)
        let afterLast = try registry.inflightPage(WorktreePageQuery(
            host: "here", limit: 5, after: WorktreePageKey(rank: 1, changedMicroseconds: 0, id: last.worktreeID)))
        #expect(afterLast.total == 24 && afterLast.rows.isEmpty)
        let records = try registry.worktreeRecordPage(WorktreePageQuery(status: "clean", limit: 100))
        #expect(records.total == 12 && records.rows.allSatisfy { $0.status == "clean" })
        try seeder.connection.executeScript(StaticScript("UPDATE worktrees SET active = false WHERE name = 'w5'"))
        #expect(try registry.worktreeRecordPage(WorktreePageQuery(limit: 1)).total == 59)
        #expect(try registry.worktreeRecordPage(WorktreePageQuery(includeInactive: true, limit: 1)).total == 60)
    }

    @Test("rows changed between pages are never listed twice; the rows that did not change are all listed")
    func rowsChangedBetweenPages() throws {
        var changed = Set<String>()
        let (ids, _) = try walk(WorktreePageQuery(limit: 6)) { pageNumber in
            // After each page: claim one row already seen and one not yet seen (both move to
            // the front: updated_at follows agent_id), and refresh the git state of another.
            let rows = try seeder.connection.execute("""
                WITH picked AS (
                    (SELECT id FROM worktrees WHERE active ORDER BY updated_at DESC, id LIMIT 1 OFFSET $1)
                    UNION ALL
                    (SELECT id FROM worktrees WHERE active ORDER BY updated_at ASC, id LIMIT 1)
                )
                UPDATE worktrees w SET agent_id = 'agent-' || $1 FROM picked WHERE w.id = picked.id RETURNING w.id::text
                """, [pageNumber * 6 + 2])
            for row in 0..<rows.count { changed.insert(try rows.decode(row, 0)) }
            _ = try seeder.connection.execute("UPDATE worktrees SET uncommitted_files_count = 9, last_sync_at = now() WHERE name = 'w2'")
        }
        #expect(ids.count == Set(ids).count, "no row twice")
        let inflight = Set(try registry.inflightWork().map(\.worktreeID))
        #expect(inflight.subtracting(changed).isSubset(of: Set(ids)), "every row that did not move is listed")
    }

    @Test("the pages' own status and in-flight test agree with the views for every git state")
    func statusAgreesWithTheViews() throws {
        // Every combination of merged, uncommitted (unknown, yes, no), ahead and behind
        // (unknown, 0, 2), files (0, 1): 108 rows in project p1.
        try seeder.connection.executeScript(StaticScript("""
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path, merged_at, has_uncommitted_changes,
                                   ahead_of_trunk, behind_trunk, uncommitted_files_count)
            SELECT (SELECT id FROM projects WHERE name = 'p1'), 1, 'combo-' || row_number() OVER (), 'combo',
                   '/combo/' || row_number() OVER (), m, u, a, b, f
            FROM unnest(ARRAY[NULL, now()]) m, unnest(ARRAY[NULL, true, false]) u, unnest(ARRAY[NULL, 0, 2]) a,
                 unnest(ARRAY[NULL, 0, 2]) b, unnest(ARRAY[0, 1]) f;
            """))
        let view = Set(try registry.inflightWork().map(\.worktreeID))
        let paged = try registry.inflightPage(WorktreePageQuery(limit: 1000))
        #expect(Set(paged.rows.map(\.worktreeID)) == view && paged.total == view.count)
        let statuses = try seeder.connection.execute("SELECT DISTINCT coalesce(status, 'unknown') FROM v_worktrees_detail")
        for status in try (0..<statuses.count).map({ try statuses.decode($0, 0) as String }) {
            let expected = try seeder.connection.execute(
                "SELECT count(*) FROM v_worktrees_detail WHERE active AND coalesce(status, 'unknown') = $1", [status])
            let page = try registry.worktreeRecordPage(WorktreePageQuery(status: status, limit: 1000))
            #expect(page.total == (try expected.decode(0, 0) as Int), "\(status)")
            #expect(page.rows.allSatisfy { ($0.status ?? "unknown") == status }, "\(status)")
        }
    }
}
