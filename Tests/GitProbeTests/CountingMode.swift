@testable import GitProbe

/// The two ways `PorcelainCounter` can count; every differential case runs under both.
enum CountingMode: String, CaseIterable, Sendable, CustomStringConvertible {
    /// One libgit2 status over the whole worktree.
    case onePass
    /// Split by top-level name over three threads, whatever the worktree's size.
    case partitioned

    var counter: PorcelainCounter {
        switch self {
        case .onePass: PorcelainCounter(partitionThresholdBytes: .max, maxPartitions: 1)
        case .partitioned: PorcelainCounter(partitionThresholdBytes: 0, maxPartitions: 3)
        }
    }

    var probe: GitProbe { GitProbe(counter: counter) }

    var description: String { rawValue }
}
