import Synchronization

/// A few repositories kept open between path-level probes of the worktrees being edited now.
///
/// Opening a worktree is cheap; reading its index is not (about 60 ms for 100,000 entries).
/// An open handle keeps its parsed index and re-reads it only when the file changed, so a
/// worktree edited file after file pays for its index once. The handles are bounded by
/// `capacity` (least recently used goes first), so memory does not grow with the number of
/// worktrees watched. A handle is used by one thread at a time: it is taken out while in use.
public final class OpenRepositories: Sendable {
    private struct Entry {
        var repository: SendableRepository
        var lastUse: UInt64
    }

    private let entries = Mutex<(byPath: [String: Entry], clock: UInt64)>(([:], 0))
    public let capacity: Int

    public init(capacity: Int = 4) {
        self.capacity = capacity
    }

    /// How many are open now.
    public var count: Int { entries.withLock { $0.byPath.count } }

    /// Takes the open handle for `path` out of the cache, if there is one.
    func take(_ path: String) -> GitRepository? {
        entries.withLock { state in state.byPath.removeValue(forKey: path)?.repository.value }
    }

    /// Puts a handle (back) in, closing the least recently used one beyond `capacity`.
    func put(_ repository: GitRepository, for path: String) {
        guard capacity > 0 else { return }
        let evicted: [SendableRepository] = entries.withLock { state in
            state.clock += 1
            state.byPath[path] = Entry(repository: SendableRepository(value: repository), lastUse: state.clock)
            var evicted: [SendableRepository] = []
            while state.byPath.count > capacity,
                let oldest = state.byPath.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                evicted.append(oldest.value.repository)
                state.byPath[oldest.key] = nil
            }
            return evicted
        }
        _ = evicted  // closed here, outside the lock, as they go out of scope
    }

    /// Closes the handle for `path` (a full probe read it afresh; the worktree went away).
    public func close(_ path: String) {
        _ = take(path)
    }
}

/// A handle moved between threads, never shared: `OpenRepositories` hands it to one taker.
private struct SendableRepository: @unchecked Sendable {
    let value: GitRepository
}
