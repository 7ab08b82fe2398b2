import WorktreeProbing
/// The debounce schedule: worktrees with unprocessed changes, and when each is due.
///
/// A burst is coalesced: a worktree is probed once no event came for `settle`, or once
/// `maxDelay` has passed since its first unprobed event, whichever is first. A checkout that
/// touches thousands of files therefore gives one or two probes, and a steady trickle of
/// events cannot postpone a probe forever. While git works in a worktree (its `index.lock` or a
/// rebase's state directory exists) the worktree is held instead: due `settle` after the last
/// marker went, so a commit, checkout, stash or rebase gives one probe of its result; a marker
/// left behind (a crashed git, a rebase stopped for a conflict) holds it for `holdLimit` at
/// most. Times are offsets from the agent's start, so tests drive this with plain values.
package struct DebounceSchedule {
    package struct Entry: Equatable {
        package var firstEvent: Duration
        package var lastEvent: Duration
        /// What changed since the worktree was last probed.
        package var changes: WorktreeChanges
        /// The first file event of this burst (not a reconcile or start-up mark): where the
        /// edit → row latency is measured from.
        package var editedAt: Duration? = nil
    }

    package var settle: Duration
    package var maxDelay: Duration
    package var holdLimit: Duration
    package private(set) var entries: [String: Entry] = [:]
    /// Worktrees git is working in: the markers present, and since when.
    package private(set) var holds: [String: (markers: Set<String>, since: Duration)] = [:]

    package init(settle: Duration, maxDelay: Duration, holdLimit: Duration = .seconds(5)) {
        self.settle = settle
        self.maxDelay = maxDelay
        self.holdLimit = holdLimit
    }

    /// Git's `marker` appeared (`begun`) or went in worktree `id` at `now`.
    package mutating func note(_ marker: String, begun: Bool, in id: String, at now: Duration) {
        if begun {
            var hold = holds[id] ?? ([], now)
            // A marker left behind long ago (a crashed git) does not stretch a new hold.
            if now >= hold.since + holdLimit { hold = ([], now) }
            hold.markers.insert(marker)
            holds[id] = hold
        } else if var hold = holds[id] {
            hold.markers.remove(marker)
            holds[id] = hold.markers.isEmpty ? nil : hold
            // The hold stood in for the maximum delay: what git left is probed once it settles.
            if hold.markers.isEmpty, let first = entries[id]?.firstEvent { entries[id]?.firstEvent = max(first, now) }
        }
    }

    /// Whether git is working in `id` (within the hold limit) at `now`.
    package func isHeld(_ id: String, at now: Duration) -> Bool {
        guard let hold = holds[id] else { return false }
        return now < hold.since + holdLimit
    }

    package var isEmpty: Bool { entries.isEmpty }
    package var count: Int { entries.count }

    /// Records an event for `id` at `now`; `immediate` makes it due at once (start-up, reconcile).
    /// Without `changes` the worktree needs a full status.
    package mutating func mark(
        _ id: String, at now: Duration, immediate: Bool = false, changes: WorktreeChanges = .everything
    ) {
        let first = immediate ? now - maxDelay : now
        let edited = immediate ? nil : now
        if var entry = entries[id] {
            entry.lastEvent = now
            entry.firstEvent = min(entry.firstEvent, first)
            entry.changes.merge(changes)
            entry.editedAt = entry.editedAt ?? edited
            entries[id] = entry
        } else {
            entries[id] = Entry(firstEvent: first, lastEvent: now, changes: changes, editedAt: edited)
        }
    }

    package mutating func remove(_ id: String) {
        entries[id] = nil
        holds[id] = nil
    }

    package func dueTime(of entry: Entry) -> Duration {
        min(entry.lastEvent + settle, entry.firstEvent + maxDelay)
    }

    /// When `id` becomes due: while held, once the hold ends or at its limit.
    package func dueTime(of id: String, _ entry: Entry) -> Duration {
        guard let hold = holds[id] else { return dueTime(of: entry) }
        return max(dueTime(of: entry), hold.since + holdLimit)
    }

    /// The earliest time any worktree becomes due.
    package var nextDeadline: Duration? {
        entries.map { dueTime(of: $0.key, $0.value) }.min()
    }

    /// Removes and returns the worktrees due at `now`, sorted for a stable order.
    package mutating func takeDue(at now: Duration) -> [String] {
        takeDueChanges(at: now).map(\.id)
    }

    /// Removes and returns the worktrees due at `now` with what changed in each.
    package mutating func takeDueChanges(at now: Duration) -> [(id: String, changes: WorktreeChanges)] {
        let due = entries.filter { dueTime(of: $0.key, $0.value) <= now }.keys.sorted()
        defer { for id in due { entries[id] = nil } }
        return due.map { ($0, entries[$0]!.changes) }
    }

    /// Removes and returns every worktree (shutdown flush).
    package mutating func takeAll() -> [(id: String, changes: WorktreeChanges)] {
        defer { entries = [:]; holds = [:] }
        return entries.keys.sorted().map { ($0, entries[$0]!.changes) }
    }
}
