import Foundation
import PostgresClient
import RegistryClient

/// The heartbeat, and how a busy registry (its lock or statement bound ran out) is noted.
extension RegistrySession {
    /// Refreshes `last_sync_at` of the worktrees in `ids` whose stored state is current
    /// (nothing pending: a row whose state is not in the database is never vouched for).
    package func heartbeat(_ ids: [String], at now: Duration) {
        guard connected else { return }
        let current = ids.filter { ledger.pending[$0] == nil && ledger.stored[$0] != nil }
        do {
            // One transaction, so the server's lock bound holds for the heartbeat too.
            let touched = try shared.with { connection in
                try connection.transaction { () -> Int in
                    let registry = Registry(connection: connection)
                    try registry.stampSynced(current, at: Date())
                    return try hostID.map { try registry.touchHost($0) } ?? 1
                }
            }
            if touched == 0 {
                noteRefused(.heartbeat, "host '\(host.name)': its row is not this role's to update"
                    + (hostProblem.map { " (\($0))" } ?? ""), sqlState: nil)
            }
            counters.heartbeats += 1
            noteNotBusy()
        } catch let timeout as PostgresError where timeout.isServerTimeout {
            noteBusy(timeout, ids: [], at: now)
        } catch let refusal as PostgresError where refusal.code != .connection {
            noteRefused(.heartbeat, refusal.description, sqlState: refusal.sqlState)
        } catch {
            lost(error, at: now)
        }
    }

    /// A write ran into the server's lock or statement bound: the registry is busy. The
    /// states stay pending (and show as refused in the status), the connection stays, and
    /// writes wait with backoff; one warning when it starts, one notice when it ends.
    func noteBusy(_ error: PostgresError, ids: [String], at now: Duration) {
        refusedIDs.formUnion(ids)
        state.backoff = backoff()
        perform(state.busy(at: now), error: error)
    }

    func noteNotBusy() {
        perform(state.notBusy())
    }
}
