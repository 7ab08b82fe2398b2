import RegistryClient

/// Every registered worktree the agent looks after, each in exactly one state.
package struct WorktreeTable {
    package enum State: Equatable, Sendable {
        /// inotify tells when it changes.
        case watched
        /// It cannot be watched (watch limit, no inotify, a directory that refused a watch):
        /// probed every poll interval.
        case polled
        /// Its directory is gone; looked for again until it comes back. Its stored state is kept.
        case missing
        /// The path exists but is not a readable git worktree; retried at each reconcile.
        case unreadable
        /// Watched or polled, but its last probe failed; its stored state is kept.
        case failing(polled: Bool)
    }

    package private(set) var worktrees: [String: RegisteredWorktree] = [:]
    package private(set) var states: [String: State] = [:]

    package var count: Int { worktrees.count }

    package subscript(id: String) -> RegisteredWorktree? { worktrees[id] }

    package func state(of id: String) -> State? { states[id] }

    /// Takes the registry's list; returns the worktrees gone from it and those that are new
    /// or changed (moved, another default branch), which must be watched again.
    package mutating func replace(with listed: [RegisteredWorktree]) -> (removed: [RegisteredWorktree], changed: [RegisteredWorktree]) {
        let incoming = Dictionary(listed.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let removed = worktrees.values.filter { incoming[$0.id] == nil }.sorted { $0.id < $1.id }
        let changed = listed.filter { worktrees[$0.id] != $0 }
        for worktree in removed { states[worktree.id] = nil }
        worktrees = incoming
        return (removed, changed)
    }

    /// Sets the state of `id`; returns the one it had.
    @discardableResult
    package mutating func set(_ id: String, _ state: State) -> State? {
        guard worktrees[id] != nil else { return nil }
        defer { states[id] = state }
        return states[id]
    }

    /// A probe of `id` succeeded (`true`) or failed; returns true when it just started failing.
    package mutating func noteProbe(_ id: String, succeeded: Bool) -> Bool {
        switch (states[id], succeeded) {
        case (.failing(let polled), true): states[id] = polled ? .polled : .watched
        case (.watched, false): states[id] = .failing(polled: false); return true
        case (.polled, false): states[id] = .failing(polled: true); return true
        default: break
        }
        return false
    }

    /// Worktrees whose files may be probed: all but the missing and unreadable.
    package var probeable: [String] { ids { $0 != .missing && $0 != .unreadable } }

    /// Worktrees probed on the poll interval.
    package var polled: [String] { ids { $0 == .polled || $0 == .failing(polled: true) } }

    /// Worktrees the heartbeat may vouch for (their last probe succeeded).
    package var current: [String] { ids { $0 == .watched || $0 == .polled } }

    package func ids(in state: State) -> [String] { ids { $0 == state } }

    package func count(_ matches: (State) -> Bool) -> Int { states.values.filter(matches).count }

    package func registered(_ ids: [String]) -> [RegisteredWorktree] {
        ids.compactMap { worktrees[$0] }.sorted { $0.id < $1.id }
    }

    private func ids(_ matches: (State) -> Bool) -> [String] {
        states.filter { matches($0.value) }.keys.sorted()
    }
}
