import struct Foundation.Date
import PostgresClient

/// A worktree's change set, as written to `worktree_change_sets` and `worktree_changes`.
public struct ChangeSetUpdate: Sendable, Equatable {
    public var worktreeID: String
    public var headCommit: String?
    public var baseCommit: String?
    public var workingTree: String
    /// (path, kind) sorted by path; kind is `added`, `modified`, `deleted` or `type_changed`.
    public var changes: [PathKind]

    public struct PathKind: Sendable, Equatable {
        public var path: String
        public var kind: String

        public init(path: String, kind: String) {
            self.path = path
            self.kind = kind
        }
    }

    public init(worktreeID: String, headCommit: String?, baseCommit: String?, workingTree: String, changes: [PathKind]) {
        self.worktreeID = worktreeID
        self.headCommit = headCommit
        self.baseCommit = baseCommit
        self.workingTree = workingTree
        self.changes = changes
    }
}

/// The merge of two worktrees' working states (`worktreeA < worktreeB`).
public struct PairVerdict: Sendable, Equatable {
    public var worktreeA: String
    public var worktreeB: String
    public var treeA: String
    public var treeB: String
    public var conflictPaths: [String]

    public init(worktreeA: String, worktreeB: String, treeA: String, treeB: String, conflictPaths: [String]) {
        self.worktreeA = worktreeA
        self.worktreeB = worktreeB
        self.treeA = treeA
        self.treeB = treeB
        self.conflictPaths = conflictPaths
    }
}

/// One row of `v_worktree_overlaps`, with names for people.
public struct OverlapRecord: Sendable, Equatable {
    public var project: String
    public var worktreeA: String
    public var nameA: String
    public var pathA: String
    public var hostA: String?
    public var worktreeB: String
    public var nameB: String
    public var pathB: String
    public var hostB: String?
    public var path: String
    public var kindA: String
    public var kindB: String
    /// `nil`: not merged here (different hosts, or no verdict for these two states yet).
    public var conflict: Bool?
    /// When A's (B's) working state last failed to build: its stored change set is older
    /// than the worktree. `nil`: current.
    public var staleSinceA: Date? = nil
    public var staleSinceB: Date? = nil
}

/// A worktree whose working state could not be built: its stored change set is kept, marked stale.
public struct StaleChangeSet: Sendable, Equatable {
    public var worktreeID: String
    /// Why, in one line.
    public var reason: String

    public init(worktreeID: String, reason: String) {
        self.worktreeID = worktreeID
        self.reason = reason
    }
}

extension Registry {
    /// What each worktree's stored change set was computed from: "working-tree base-commit
    /// path-count", and " stale" when it is marked stale (so a current one replaces it).
    public func storedChangeSetKeys(of ids: [String]) throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let result = try connection.execute(
            """
            SELECT worktree_id, working_tree || ' ' || coalesce(base_commit, '-') || ' ' || path_count
                   || CASE WHEN stale_since IS NULL THEN '' ELSE ' stale' END
            FROM worktree_change_sets WHERE worktree_id = ANY($1::uuid[])
            """, [ids])
        var keys: [String: String] = [:]
        for row in 0..<result.count { keys[try result.decode(row, 0)] = try result.decode(row, 1) }
        return keys
    }

    /// Replaces the change sets of these worktrees, in one transaction of batched statements.
    public func writeChangeSets(_ updates: [ChangeSetUpdate]) throws {
        guard !updates.isEmpty else { return }
        try connection.transaction(Self.derivedWrite) {
            for batch in batches(updates) {
                let ids = batch.map(\.worktreeID)
                try connection.execute(
                    """
                    INSERT INTO worktree_change_sets (worktree_id, head_commit, base_commit, working_tree, path_count, computed_at)
                    SELECT u.id, u.head, u.base, u.tree, u.count, now()
                    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::integer[]) AS u(id, head, base, tree, count)
                    ON CONFLICT (worktree_id) DO UPDATE SET
                        head_commit = EXCLUDED.head_commit, base_commit = EXCLUDED.base_commit,
                        working_tree = EXCLUDED.working_tree, path_count = EXCLUDED.path_count,
                        computed_at = EXCLUDED.computed_at, stale_since = NULL, stale_reason = NULL
                    """,
                    [ids, batch.map(\.headCommit), batch.map(\.baseCommit), batch.map(\.workingTree),
                     batch.map(\.changes.count)])
                try connection.execute("DELETE FROM worktree_changes WHERE worktree_id = ANY($1::uuid[])", [ids])
                let rows = batch.flatMap { update in update.changes.map { (update.worktreeID, $0) } }
                guard !rows.isEmpty else { continue }
                try connection.execute(
                    """
                    INSERT INTO worktree_changes (worktree_id, path, kind)
                    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])
                    """,
                    [rows.map(\.0), rows.map(\.1.path), rows.map(\.1.kind)])
            }
            // Dashboards and subscriptions show overlaps: they read again.
            try announce(updates.map(\.worktreeID), on: Self.overlapChannel)
        }
    }

    /// Marks these worktrees' stored change sets stale (since the first failure, with the
    /// latest reason); one that has none stays without.
    public func markChangeSetsStale(_ stale: [StaleChangeSet]) throws {
        guard !stale.isEmpty else { return }
        try connection.execute(
            """
            UPDATE worktree_change_sets s SET stale_since = coalesce(s.stale_since, now()), stale_reason = f.reason
            FROM unnest($1::uuid[], $2::text[]) AS f(id, reason) WHERE s.worktree_id = f.id
            """, [stale.map(\.worktreeID), stale.map(\.reason)])
    }

    /// The key `storedChangeSetKeys` gives for this update.
    public static func changeSetKey(_ update: ChangeSetUpdate) -> String {
        update.workingTree + " " + (update.baseCommit ?? "-") + " " + String(update.changes.count)
    }

    /// The trees of the stored verdicts of pairs that involve any of `ids`, keyed "a b".
    public func storedVerdicts(involving ids: [String]) throws -> [String: (treeA: String, treeB: String)] {
        guard !ids.isEmpty else { return [:] }
        let result = try connection.execute(
            """
            SELECT worktree_id_a, worktree_id_b, tree_a, tree_b FROM worktree_pair_verdicts
            WHERE worktree_id_a = ANY($1::uuid[]) OR worktree_id_b = ANY($1::uuid[])
            """, [ids])
        var verdicts: [String: (treeA: String, treeB: String)] = [:]
        for row in 0..<result.count {
            let a: String = try result.decode(row, 0)
            let b: String = try result.decode(row, 1)
            verdicts[a + " " + b] = (try result.decode(row, 2), try result.decode(row, 3))
        }
        return verdicts
    }

    /// Replaces these pairs' verdicts and conflicted paths, in one transaction.
    public func writeVerdicts(_ verdicts: [PairVerdict]) throws {
        guard !verdicts.isEmpty else { return }
        try connection.transaction(Self.derivedWrite) {
            for batch in batches(verdicts) {
                let a = batch.map(\.worktreeA)
                let b = batch.map(\.worktreeB)
                try connection.execute(
                    """
                    INSERT INTO worktree_pair_verdicts (worktree_id_a, worktree_id_b, tree_a, tree_b, computed_at)
                    SELECT v.a, v.b, v.ta, v.tb, now() FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS v(a, b, ta, tb)
                    ON CONFLICT (worktree_id_a, worktree_id_b) DO UPDATE SET
                        tree_a = EXCLUDED.tree_a, tree_b = EXCLUDED.tree_b, computed_at = EXCLUDED.computed_at
                    """,
                    [a, b, batch.map(\.treeA), batch.map(\.treeB)])
                try connection.execute(
                    """
                    DELETE FROM worktree_pair_conflicts c USING unnest($1::uuid[], $2::uuid[]) AS p(a, b)
                    WHERE c.worktree_id_a = p.a AND c.worktree_id_b = p.b
                    """, [a, b])
                let rows = batch.flatMap { verdict in verdict.conflictPaths.map { (verdict.worktreeA, verdict.worktreeB, $0) } }
                guard !rows.isEmpty else { continue }
                try connection.execute(
                    """
                    INSERT INTO worktree_pair_conflicts (worktree_id_a, worktree_id_b, path)
                    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])
                    """,
                    [rows.map(\.0), rows.map(\.1), rows.map(\.2)])
            }
            try announce(Array(Set(verdicts.flatMap { [$0.worktreeA, $0.worktreeB] })).sorted(), on: Self.overlapChannel)
        }
    }

    /// The pairs (a < b) of active worktrees whose stored change sets share a path, among
    /// those that involve any of `ids`.
    public func overlappingPairs(involving ids: [String]) throws -> [(String, String)] {
        guard !ids.isEmpty else { return [] }
        let result = try connection.execute(
            """
            SELECT DISTINCT worktree_id_a, worktree_id_b FROM v_worktree_overlaps
            WHERE worktree_id_a = ANY($1::uuid[]) OR worktree_id_b = ANY($1::uuid[])
            """, [ids])
        return try (0..<result.count).map { (try result.decode($0, 0), try result.decode($0, 1)) }
    }

    /// `v_worktree_overlaps` with names, for `conflicts` and `check`; `project` narrows it,
    /// `worktree` keeps the pairs that worktree is in, `paths` the rows of those paths. The
    /// statement is `imi_overlaps()` (migration 013), so a backend reuses its plan: planning
    /// the 14 relations took about 6 ms on every call, running them well under 1 ms.
    public func overlaps(project: String? = nil, worktree: String? = nil, paths: [String]? = nil) throws -> [OverlapRecord] {
        let result = try connection.execute(
            """
            SELECT project, worktree_id_a, name_a, path_a, host_a, worktree_id_b, name_b, path_b, host_b,
                   path, kind_a, kind_b, conflict, stale_since_a, stale_since_b
            FROM imi_overlaps($1::text, $2::uuid, $3::text[])
            ORDER BY project, name_a, name_b, path
            """, [project, worktree, paths])
        return try (0..<result.count).map { row in
            OverlapRecord(
                project: try result.decode(row, 0), worktreeA: try result.decode(row, 1), nameA: try result.decode(row, 2),
                pathA: try result.decode(row, 3), hostA: try result.decode(row, 4, as: String?.self),
                worktreeB: try result.decode(row, 5), nameB: try result.decode(row, 6), pathB: try result.decode(row, 7),
                hostB: try result.decode(row, 8, as: String?.self), path: try result.decode(row, 9),
                kindA: try result.decode(row, 10), kindB: try result.decode(row, 11),
                conflict: try result.decode(row, 12, as: Bool?.self),
                staleSinceA: try result.decode(row, 13, as: Date?.self), staleSinceB: try result.decode(row, 14, as: Date?.self))
        }
    }

    /// The other active worktrees of `projectName` whose stored change sets contain any of
    /// `paths` (as a path, or inside a new directory listed `dir/`): (worktree, its host's
    /// name, the path asked about, since when its change set is stale).
    public func worktreesChanging(
        _ paths: [String], inProject projectName: String, except id: String
    ) throws -> [(worktree: RegisteredWorktree, host: String?, path: String, staleSince: Date?)] {
        let result = try connection.execute(
            """
            SELECT w.id, p.name, w.name, w.path, p.default_branch, w.host_id, h.name, q.path, s.stale_since
            FROM worktree_changes c
            JOIN unnest($3::text[]) AS q(path)
                ON c.path = q.path OR (right(c.path, 1) = '/' AND starts_with(q.path, c.path))
            JOIN worktree_change_sets s ON s.worktree_id = c.worktree_id
            JOIN worktrees w ON w.id = c.worktree_id
            JOIN projects p ON p.id = w.project_id
            LEFT JOIN hosts h ON h.id = w.host_id
            WHERE w.active AND p.name = $1 AND w.id <> $2::uuid
            ORDER BY q.path, w.name
            """, [projectName, id, paths])
        return try (0..<result.count).map { row in
            (
                RegisteredWorktree(
                    id: try result.decode(row, 0), projectName: try result.decode(row, 1), name: try result.decode(row, 2),
                    path: try result.decode(row, 3), defaultBranch: try result.decode(row, 4),
                    hostID: try result.decode(row, 5, as: String?.self)),
                try result.decode(row, 6, as: String?.self), try result.decode(row, 7),
                try result.decode(row, 8, as: Date?.self)
            )
        }
    }
}

/// A path one worktree changes that another one changes too, seen from the first.
public struct OverlapWithOther: Sendable, Equatable {
    public var project: String
    public var otherID: String
    public var otherName: String
    public var otherHost: String?
    public var path: String
    /// Whether merging the two working states conflicts on `path`; `nil` across hosts.
    public var conflict: Bool?
}

extension Registry {
    /// The overlaps of one worktree (of only `paths`, given), from `v_worktree_overlaps`, with
    /// only what an agent is told about the other worktree: fewer joins than ``overlaps(project:worktree:paths:)``,
    /// whose planning alone takes longer than the query (the MCP tool `find_overlaps`).
    public func overlaps(of worktree: String, paths: [String]? = nil) throws -> [OverlapWithOther] {
        let result = try connection.execute(
            """
            SELECT p.name, w.id, w.name, h.name, o.path, o.conflict
            FROM v_worktree_overlaps o
            JOIN projects p ON p.id = o.project_id
            JOIN worktrees w ON w.id = CASE WHEN o.worktree_id_a = $1::uuid THEN o.worktree_id_b ELSE o.worktree_id_a END
            LEFT JOIN hosts h ON h.id = w.host_id
            WHERE (o.worktree_id_a = $1::uuid OR o.worktree_id_b = $1::uuid)
              AND ($2::text[] IS NULL OR o.path = ANY($2::text[])
                   OR (right(o.path, 1) = '/' AND EXISTS (SELECT 1 FROM unnest($2::text[]) q WHERE starts_with(q, o.path))))
            """, [worktree, paths])
        return try (0..<result.count).map { row in
            OverlapWithOther(
                project: try result.decode(row, 0), otherID: try result.decode(row, 1), otherName: try result.decode(row, 2),
                otherHost: try result.decode(row, 3, as: String?.self), path: try result.decode(row, 4),
                conflict: try result.decode(row, 5, as: Bool?.self))
        }
    }
}
