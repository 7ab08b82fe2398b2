import struct Foundation.Date
import PostgresClient

/// The queries the background agent needs: read what is stored, write only what changed,
/// tell listeners, and refresh `last_sync_at` on a heartbeat.
extension Registry {
    /// The channel the agent notifies with the ids of rows whose git state it changed.
    public static let stateChannel = "imi_worktree_state"
    /// The channel the overlap forecast notifies with the ids of worktrees whose change set or
    /// pair verdicts it wrote (dashboards and subscriptions show overlaps).
    public static let overlapChannel = "imi_worktree_overlaps"
    /// The channel migration 004's triggers notify when worktrees or projects are added,
    /// moved, deactivated or removed.
    public static let registryChannel = "imi_registry_changed"

    /// Two counters that move with the two channels (migration 012): what a client polls when
    /// it cannot LISTEN. Each moves before its change commits, so a poller reads once more a
    /// poll after it saw one move.
    public struct Versions: Sendable, Equatable {
        /// Moves with ``registryChannel``: membership.
        public var registry: Int64
        /// Moves with ``stateChannel``: git states written.
        public var state: Int64
    }

    /// The counters now (one cheap statement, no table read).
    public func versions() throws -> Versions {
        let result = try connection.execute("SELECT registry, state FROM imi_registry_versions()")
        return Versions(registry: try result.decode(0, 0), state: try result.decode(0, 1))
    }

    /// The git state (merge facts included) stored for every active worktree that has been
    /// synced at least once.
    public func storedStates() throws -> [String: GitStateUpdate] {
        let result = try connection.execute("""
            SELECT id, uncommitted_files_count, ahead_of_trunk, behind_trunk,
                   last_commit_hash, last_commit_message, coalesce(last_sync_at, 'epoch'),
                   merged_at, merged_by, merge_commit_hash
            FROM worktrees
            WHERE active AND uncommitted_files_count IS NOT NULL
            """)
        var states: [String: GitStateUpdate] = [:]
        for row in 0..<result.count {
            let id: String = try result.decode(row, 0)
            states[id] = GitStateUpdate(
                worktreeID: id, uncommittedFilesCount: try result.decode(row, 1),
                aheadOfTrunk: try result.decode(row, 2, as: Int?.self), behindTrunk: try result.decode(row, 3, as: Int?.self),
                lastCommitHash: try result.decode(row, 4, as: String?.self),
                lastCommitMessage: try result.decode(row, 5, as: String?.self),
                readAt: try result.decode(row, 6), mergedAt: try result.decode(row, 7, as: Date?.self),
                mergedBy: try result.decode(row, 8, as: String?.self),
                mergeCommitHash: try result.decode(row, 9, as: String?.self))
        }
        return states
    }

    /// What a write of git states did: the rows it changed, and the states the server refused.
    public struct WriteOutcome: Sendable {
        /// Ids of the rows whose stored state differed and was replaced.
        public var changed: [String] = []
        /// States the server refused (a revoked privilege, a read-only database, a trigger or
        /// policy) or left out (a row this role may not change), by worktree id; they were not
        /// written and must be tried again.
        public var refused: [String: WriteRefusal] = [:]
    }

    /// Writes the rows whose stored git state differs from `updates`, one statement per
    /// batch, in one transaction, and notifies ``stateChannel`` with the changed ids before
    /// committing (listeners receive it once the commit is done).
    ///
    /// A batch the server refuses is retried row by row under savepoints, so one refused row
    /// cannot hold back the others; the refused rows are reported, never counted as written.
    /// Row-level security refuses without an error (the UPDATE matches fewer rows): an id the
    /// UPDATE did not return is looked for among the rows this role may change, and an active
    /// row that is not among them is refused too. Throws when the transaction itself fails:
    /// the connection was lost, or the server's lock or statement bound ran out
    /// (``PostgresError/isServerTimeout``: a busy table holds back every row alike, so trying
    /// them one by one would only wait once per row).
    public func writeChanged(_ updates: [GitStateUpdate]) throws -> WriteOutcome {
        guard !updates.isEmpty else { return WriteOutcome() }
        return try connection.transaction {
            var outcome = WriteOutcome()
            func write(_ batch: ArraySlice<GitStateUpdate>) throws {
                let (changed, refused) = try connection.savepoint {
                    let changed = try update(batch, onlyChanged: true)
                    let returned = Set(changed)
                    return (changed, try notWritable(batch.map(\.worktreeID).filter { !returned.contains($0) }))
                }
                outcome.changed += changed
                outcome.refused.merge(refused) { first, _ in first }
            }
            for batch in batches(updates) {
                do {
                    try write(batch)
                } catch let error as PostgresError where error.code != .connection && !error.isServerTimeout {
                    for index in batch.indices {
                        do {
                            try write(batch[index...index])
                        } catch let refusal as PostgresError where refusal.code != .connection && !refusal.isServerTimeout {
                            outcome.refused[batch[index].worktreeID] = .statement(refusal)
                        }
                    }
                }
            }
            try announce(outcome.changed)
            return outcome
        }
    }

    /// Tells listeners (agents, dashboards, MCP subscriptions) that these rows changed: their
    /// ids on `channel` (delivered at commit) and the state version moved (for pollers).
    /// Called inside the writing transaction.
    func announce(_ ids: [String], on channel: String = Registry.stateChannel) throws {
        guard !ids.isEmpty else { return }
        // A payload holds at most 8000 bytes: 200 ids of 37 bytes stay well below.
        var offset = 0
        while offset < ids.count {
            let chunk = ids[offset..<min(offset + 200, ids.count)]
            try connection.notify(channel, payload: chunk.joined(separator: ","))
            offset += 200
        }
        try connection.execute("SELECT imi_note_state_change()")
    }

    /// Of `ids`, the active rows this role may not update, refused with the host each belongs
    /// to. `FOR NO KEY UPDATE` applies the UPDATE policies as the UPDATE did, so a row it skips
    /// is one row-level security hides from this role's writes (an inactive or deleted row is
    /// no refusal: the agent forgets it). The rows it locks stay locked until the commit.
    func notWritable(_ ids: [String]) throws -> [String: WriteRefusal] {
        guard !ids.isEmpty else { return [:] }
        let result = try connection.execute(
            """
            WITH writable AS (
                SELECT id FROM worktrees WHERE id = ANY($1::uuid[]) AND active FOR NO KEY UPDATE)
            SELECT w.id, h.name, current_user::text
            FROM worktrees w LEFT JOIN hosts h ON h.id = w.host_id
            WHERE w.id = ANY($1::uuid[]) AND w.active AND w.id NOT IN (SELECT id FROM writable)
            """, [ids])
        var refused: [String: WriteRefusal] = [:]
        for row in 0..<result.count {
            refused[try result.decode(row, 0)] = .notWritable(
                role: try result.decode(row, 2), host: try result.decode(row, 1, as: String?.self))
        }
        return refused
    }

    /// Whether the server accepts the agent's writes right now: the git-state UPDATE and the
    /// heartbeat, run on no rows in a transaction that is rolled back. Privileges and
    /// read-only mode are checked when a statement starts, so an UPDATE of no rows is refused
    /// exactly as a real one would be. Returns the refusal, or `nil`.
    public func stateWriteRefusal() throws -> PostgresError? {
        do {
            try connection.execute("BEGIN")
            defer { if connection.isHealthy { _ = try? connection.execute("ROLLBACK") } }
            _ = try update(ArraySlice(), onlyChanged: true)
            _ = try stampSynced(statement: [], at: Date())
            return nil
        } catch let error as PostgresError where error.code != .connection {
            return error
        }
    }

    /// Sets `last_sync_at` for worktrees whose state is known to be current (the heartbeat),
    /// in one statement. Returns how many rows were stamped.
    @discardableResult
    public func stampSynced(_ ids: [String], at time: Date) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try stampSynced(statement: ids, at: time)
    }

    private func stampSynced(statement ids: [String], at time: Date) throws -> Int {
        let result = try connection.execute(
            "UPDATE worktrees SET last_sync_at = $2 WHERE id = ANY($1::uuid[]) AND active", [ids, time])
        return result.affectedRows
    }

    /// How writes of derived data begin: change sets, verdicts and sync stamps are computed
    /// again from the worktrees by the next pass, so their commit does not wait for the WAL
    /// to reach the disk. A crash of the server may lose the last few, never corrupt them
    /// (PostgreSQL's asynchronous commit); each pass saves a flush per write. Git state
    /// itself is committed as usual. Only for a transaction of its own, never nested.
    public static let derivedWrite: StaticScript = "BEGIN; SET LOCAL synchronous_commit TO off"
}
