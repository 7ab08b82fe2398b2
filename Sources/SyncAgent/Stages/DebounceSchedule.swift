import WorktreeProbing
/// The debounce schedule: worktrees with unprocessed changes, and when each is due.
///
/// A burst is coalesced: a worktree is probed once no event came for `settle`, or once
/// `maxDelay` has passed since its first unprobed event, whichever is first. A checkout that
/// touches thousands of files therefore gives one or two probes, and a steady trickle of
/// events cannot postpone a probe forever. Times are offsets from the agent's start, so tests
/// drive this with plain values.
package struct DebounceSchedule {
    package struct Entry: Equatable {
        package var firstEvent: Duration
        package var lastEvent: Duration
        /// What changed since the worktree was last probed.
        package var changes: WorktreeChanges
    }

    package var settle: Duration
    package var maxDelay: Duration
    package private(set) var entries: [String: Entry] = [:]

    package init(settle: Duration, maxDelay: Duration) {
        self.settle = settle
        self.maxDelay = maxDelay
    }

    package var isEmpty: Bool { entries.isEmpty }
    package var count: Int { entries.count }

    /// Records an event for `id` at `now`; `immediate` makes it due at once (start-up, reconcile).
    /// Without `changes` the worktree needs a full status.
    package mutating func mark(
        _ id: String, at now: Duration, immediate: Bool = false, changes: WorktreeChanges = .everything
    ) {
        let first = immediate ? now - maxDelay : now
        if var entry = entries[id] {
            entry.lastEvent = now
            entry.firstEvent = min(entry.firstEvent, first)
            entry.changes.merge(changes)
            entries[id] = entry
        } else {
            entries[id] = Entry(firstEvent: first, lastEvent: now, changes: changes)
        }
    }

    package mutating func remove(_ id: String) {
        entries[id] = nil
    }

    package func dueTime(of entry: Entry) -> Duration {
        min(entry.lastEvent + settle, entry.firstEvent + maxDelay)
    }

    /// The earliest time any worktree becomes due.
    package var nextDeadline: Duration? {
        entries.values.map(dueTime).min()
    }

    /// Removes and returns the worktrees due at `now`, sorted for a stable order.
    package mutating func takeDue(at now: Duration) -> [String] {
        takeDueChanges(at: now).map(\.id)
    }

    /// Removes and returns the worktrees due at `now` with what changed in each.
    package mutating func takeDueChanges(at now: Duration) -> [(id: String, changes: WorktreeChanges)] {
        let due = entries.filter { dueTime(of: $0.value) <= now }.keys.sorted()
        defer { for id in due { entries[id] = nil } }
        return due.map { ($0, entries[$0]!.changes) }
    }

    /// Removes and returns every worktree (shutdown flush).
    package mutating func takeAll() -> [(id: String, changes: WorktreeChanges)] {
        defer { entries = [:] }
        return entries.keys.sorted().map { ($0, entries[$0]!.changes) }
    }
}
