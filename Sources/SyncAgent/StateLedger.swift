import PostgresClient
import RegistryClient

/// What the registry holds for each worktree and what still has to be written.
///
/// Only a state that differs from the stored one becomes pending; while the database is
/// away, a newer probe replaces an older pending state, so the latest state per worktree is
/// kept and written once the server is back. Nothing is dropped until it is committed.
package struct StateLedger {
    package private(set) var stored: [String: GitStateUpdate] = [:]
    package private(set) var pending: [String: GitStateUpdate] = [:]

    /// Replaces what is known to be stored (read from the registry after connecting).
    package mutating func seed(_ states: [String: GitStateUpdate]) {
        stored = states
    }

    /// Records a fresh probe; returns true when it differs from what is stored (or pending).
    @discardableResult
    package mutating func record(_ update: GitStateUpdate) -> Bool {
        let id = update.worktreeID
        if let stored = stored[id], Self.sameGitState(stored, update) {
            // Back to what is stored: an older pending change is obsolete.
            pending[id] = nil
            return false
        }
        pending[id] = update
        return true
    }

    /// The pending updates, in a stable order.
    package var pendingUpdates: [GitStateUpdate] {
        pending.values.sorted { $0.worktreeID < $1.worktreeID }
    }

    /// The pending updates were committed (whether or not the row needed changing there).
    package mutating func committed(_ updates: [GitStateUpdate]) {
        for update in updates {
            stored[update.worktreeID] = update
            if let current = pending[update.worktreeID], current == update {
                pending[update.worktreeID] = nil
            }
        }
    }

    package mutating func forget(_ id: String) {
        stored[id] = nil
        pending[id] = nil
    }

    package static func sameGitState(_ first: GitStateUpdate, _ second: GitStateUpdate) -> Bool {
        var normalized = second
        normalized.readAt = first.readAt
        return first == normalized
    }
}
