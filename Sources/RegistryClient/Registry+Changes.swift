import struct Foundation.Date

/// The queries the background agent needs: read what is stored, write only what changed,
/// tell listeners, and refresh `last_sync_at` on a heartbeat.
extension Registry {
    /// The channel the agent notifies with the ids of rows whose git state it changed.
    public static let stateChannel = "imi_worktree_state"
    /// The channel migration 004's triggers notify when worktrees or projects are added,
    /// moved, deactivated or removed.
    public static let registryChannel = "imi_registry_changed"

    /// The git state stored for every active worktree that has been synced at least once.
    public func storedStates() throws -> [String: GitStateUpdate] {
        let result = try connection.execute("""
            SELECT id, uncommitted_files_count, ahead_of_trunk, behind_trunk,
                   last_commit_hash, last_commit_message,
                   extract(epoch FROM coalesce(last_sync_at, 'epoch'))::float8
            FROM worktrees
            WHERE active AND uncommitted_files_count IS NOT NULL
            """)
        var states: [String: GitStateUpdate] = [:]
        for row in 0..<result.rowCount {
            guard let id = result.string(row, 0), let files = result.int(row, 1) else { continue }
            states[id] = GitStateUpdate(
                worktreeID: id, uncommittedFilesCount: files,
                aheadOfTrunk: result.int(row, 2), behindTrunk: result.int(row, 3),
                lastCommitHash: result.string(row, 4), lastCommitMessage: result.string(row, 5),
                readAt: Date(timeIntervalSince1970: result.string(row, 6).flatMap(Double.init) ?? 0))
        }
        return states
    }

    /// Writes the rows whose stored git state differs from `updates`, one statement per
    /// batch, in one transaction, and notifies ``stateChannel`` with the changed ids before
    /// committing (listeners receive it once the commit is done). Returns the changed ids.
    @discardableResult
    public func writeChanged(_ updates: [GitStateUpdate]) throws -> [String] {
        guard !updates.isEmpty else { return [] }
        return try connection.transaction {
            var changed: [String] = []
            var start = updates.startIndex
            while start < updates.endIndex {
                let end = min(start + Self.batchSize, updates.endIndex)
                changed += try writeChangedBatch(updates[start..<end])
                start = end
            }
            // A payload holds at most 8000 bytes: 200 ids of 37 bytes stay well below.
            var offset = 0
            while offset < changed.count {
                let chunk = changed[offset..<min(offset + 200, changed.count)]
                try connection.notify(Self.stateChannel, payload: chunk.joined(separator: ","))
                offset += 200
            }
            return changed
        }
    }

    private func writeChangedBatch(_ batch: ArraySlice<GitStateUpdate>) throws -> [String] {
        let result = try connection.execute("""
            UPDATE worktrees AS w SET
                has_uncommitted_changes = u.files > 0,
                uncommitted_files_count = u.files,
                ahead_of_trunk = u.ahead,
                behind_trunk = u.behind,
                last_commit_hash = u.hash,
                last_commit_message = u.message,
                last_sync_at = to_timestamp(u.read_at)
            FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::integer[],
                        $5::text[], $6::text[], $7::float8[])
                AS u(id, files, ahead, behind, hash, message, read_at)
            WHERE w.id = u.id AND w.active
              AND (w.uncommitted_files_count, w.ahead_of_trunk, w.behind_trunk,
                   w.last_commit_hash, w.last_commit_message)
                  IS DISTINCT FROM (u.files, u.ahead, u.behind, u.hash, u.message)
            RETURNING w.id
            """,
            [
                PostgresArray.literal(batch.map { Optional($0.worktreeID) }),
                PostgresArray.literal(batch.map { Optional($0.uncommittedFilesCount) }),
                PostgresArray.literal(batch.map(\.aheadOfTrunk)),
                PostgresArray.literal(batch.map(\.behindTrunk)),
                PostgresArray.literal(batch.map(\.lastCommitHash)),
                PostgresArray.literal(batch.map(\.lastCommitMessage)),
                PostgresArray.literal(batch.map { Optional(String($0.readAt.timeIntervalSince1970)) }),
            ])
        return (0..<result.rowCount).compactMap { result.string($0, 0) }
    }

    /// Sets `last_sync_at` for worktrees whose state is known to be current (the heartbeat),
    /// in one statement. Returns how many rows were stamped.
    @discardableResult
    public func stampSynced(_ ids: [String], at time: Date) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let result = try connection.execute(
            "UPDATE worktrees SET last_sync_at = to_timestamp($2) WHERE id = ANY($1::uuid[]) AND active",
            [PostgresArray.literal(ids.map(Optional.some)), String(time.timeIntervalSince1970)])
        return result.affectedRows
    }
}
