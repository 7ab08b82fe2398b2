import Foundation
import RegistryDocuments
import WorktreeProbing

/// How `once` shows its report: a table for people, one JSON document for machines.
package enum OnceOutput {
    package static func table(_ report: OnceSync.Report) -> String {
        var table = TextTable(
            headers: ["PROJECT", "WORKTREE", "STATUS", "UNCOMMITTED", "AHEAD", "BEHIND"],
            rightAligned: [3, 4, 5])
        for outcome in report.outcomes {
            let state = outcome.state
            table.rows.append([
                outcome.worktree.projectName.displayQuoted,
                outcome.worktree.name.displayQuoted,
                outcome.status,
                state.map { String($0.uncommittedFilesCount) } ?? "-",
                state.flatMap(\.aheadOfTrunk).map(String.init) ?? "-",
                state.flatMap(\.behindTrunk).map(String.init) ?? "-",
            ])
        }
        var lines = [table.render(), ""]
        for outcome in report.failures {
            lines.append(
                "error: \(outcome.worktree.projectName.displayQuoted)/\(outcome.worktree.name.displayQuoted): "
                    + DisplayQuoting.terminalSafe(outcome.failure!.description))
        }
        for outcome in report.outcomes {
            guard let refusal = report.refused[outcome.worktree.id] else { continue }
            lines.append(
                "error: \(outcome.worktree.projectName.displayQuoted)/\(outcome.worktree.name.displayQuoted): "
                    + "the registry refused its state, which stays as it was: " + DisplayQuoting.terminalSafe(refusal.description))
        }
        let milliseconds = report.elapsed.components.seconds * 1000
            + report.elapsed.components.attoseconds / 1_000_000_000_000_000
        lines.append(
            "\(report.outcomes.count) worktrees read, \(report.rowsWritten) rows written (\(report.rowsChanged) changed), "
                + "\(report.failures.count) could not be read"
                + (report.refused.isEmpty ? "" : ", \(report.refused.count) refused by the registry")
                + ", in \(milliseconds) ms")
        lines.append(
            "overlaps: \(report.forecast.changeSetsWritten) change sets written, \(report.forecast.pairsMerged) pairs merged"
                + (report.forecast.failures > 0 ? ", \(report.forecast.failures) could not be built" : "")
                + " (imi-sync conflicts lists them)")
        return lines.joined(separator: "\n")
    }

    package static func json(_ report: OnceSync.Report) -> String {
        let document = Document(
            worktrees: report.outcomes.map(Document.Worktree.init),
            summary: .init(
                worktrees: report.outcomes.count,
                written: report.rowsWritten,
                changed: report.rowsChanged,
                refused: report.refused.count,
                failed: report.failures.count,
                changeSetsWritten: report.forecast.changeSetsWritten,
                pairsMerged: report.forecast.pairsMerged,
                elapsedSeconds: Double(report.elapsed.components.seconds)
                    + Double(report.elapsed.components.attoseconds) / 1e18))
        return JSONOutput.render(document)
    }

    /// The JSON shape of `once --json`; keys are snake_case like the registry's columns.
    package struct Document: Encodable {
        package struct Worktree: Encodable {
            package var id: String
            package var project: String
            package var worktree: String
            package var path: String
            package var status: String
            @NullWhenAbsent package var hasUncommittedChanges: Bool?
            @NullWhenAbsent package var uncommittedFilesCount: Int?
            @NullWhenAbsent package var aheadOfTrunk: Int?
            @NullWhenAbsent package var behindTrunk: Int?
            @NullWhenAbsent package var lastCommitHash: String?
            @NullWhenAbsent package var lastCommitMessage: String?
            @NullWhenAbsent package var branch: String?
            @NullWhenAbsent package var trunk: String?
            @NullWhenAbsent package var readAt: Date?
            @NullWhenAbsent package var error: String?

            package init(_ outcome: ProbeOutcome) {
                id = outcome.worktree.id
                project = outcome.worktree.projectName
                worktree = outcome.worktree.name
                path = outcome.worktree.path
                status = outcome.status
                let state = outcome.state
                hasUncommittedChanges = state?.hasUncommittedChanges
                uncommittedFilesCount = state?.uncommittedFilesCount
                aheadOfTrunk = state?.aheadOfTrunk
                behindTrunk = state?.behindTrunk
                lastCommitHash = state?.lastCommitHash
                lastCommitMessage = state?.lastCommitMessage
                branch = state?.branch
                trunk = state?.trunkRef
                readAt = state?.readAt
                error = outcome.failure?.description
            }
        }

        package struct Summary: Encodable {
            package var worktrees: Int
            package var written: Int
            /// Of the rows written, those whose state changed.
            package var changed: Int
            /// States the registry refused (they stay as they were).
            package var refused: Int
            package var failed: Int
            package var changeSetsWritten: Int
            package var pairsMerged: Int
            package var elapsedSeconds: Double
        }

        package var worktrees: [Worktree]
        package var summary: Summary
    }
}
