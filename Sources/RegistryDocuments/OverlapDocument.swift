import Foundation
import RegistryClient

/// The document `imi-sync conflicts --json` prints (and `serve` answers at `/api/overlaps`):
/// one entry per pair of worktrees that change the same paths, with each path's verdict.
package enum OverlapDocument {
    package struct Side: Encodable, Sendable, Equatable {
        package var id: String
        package var worktree: String
        package var path: String
        @NullWhenAbsent package var host: String?
        /// When its change set stopped being current (its working state failed to build).
        @NullWhenAbsent package var staleSince: Date?
    }

    package struct PathVerdict: Encodable, Sendable, Equatable {
        package var path: String
        package var kindA: String
        package var kindB: String
        @NullWhenAbsent package var conflict: Bool?
    }

    /// Equatable: `serve` sends only the pairs that changed.
    package struct Pair: Encodable, Sendable, Equatable {
        package var project: String
        package var worktreeA: Side
        package var worktreeB: Side
        /// true: the merge conflicts; false: it is clean; null: not merged here.
        @NullWhenAbsent package var conflict: Bool?
        package var paths: [PathVerdict]
    }

    /// Groups the view's rows (one per path) into pairs.
    package static func pairs(_ rows: [OverlapRecord]) -> [Pair] {
        var pairs: [Pair] = []
        for row in rows {
            let verdict = PathVerdict(path: row.path, kindA: row.kindA, kindB: row.kindB, conflict: row.conflict)
            if let last = pairs.last, last.worktreeA.id == row.worktreeA, last.worktreeB.id == row.worktreeB {
                pairs[pairs.count - 1].paths.append(verdict)
            } else {
                pairs.append(Pair(
                    project: row.project,
                    worktreeA: Side(id: row.worktreeA, worktree: row.nameA, path: row.pathA, host: row.hostA,
                                    staleSince: row.staleSinceA),
                    worktreeB: Side(id: row.worktreeB, worktree: row.nameB, path: row.pathB, host: row.hostB,
                                    staleSince: row.staleSinceB),
                    conflict: nil, paths: [verdict]))
            }
        }
        for index in pairs.indices {
            let verdicts = pairs[index].paths.map(\.conflict)
            pairs[index].conflict =
                verdicts.contains(true) ? true : verdicts.allSatisfy { $0 == false } ? false : nil
        }
        return pairs
    }
}
