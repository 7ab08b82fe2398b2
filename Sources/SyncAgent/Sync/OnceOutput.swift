import Foundation

/// How `once` shows its report: a table for people, one JSON document for machines.
enum OnceOutput {
    static func table(_ report: OnceSync.Report) -> String {
        var table = TextTable(
            headers: ["PROJECT", "WORKTREE", "STATUS", "UNCOMMITTED", "AHEAD", "BEHIND"],
            rightAligned: [3, 4, 5])
        for outcome in report.outcomes {
            let state = outcome.state
            table.rows.append([
                outcome.worktree.projectName,
                outcome.worktree.name,
                outcome.status,
                state.map { String($0.uncommittedFilesCount) } ?? "-",
                state.flatMap(\.aheadOfTrunk).map(String.init) ?? "-",
                state.flatMap(\.behindTrunk).map(String.init) ?? "-",
            ])
        }
        var lines = [table.render(), ""]
        for outcome in report.failures {
            lines.append("error: \(outcome.worktree.projectName)/\(outcome.worktree.name): \(outcome.failure!)")
        }
        let milliseconds = report.elapsed.components.seconds * 1000
            + report.elapsed.components.attoseconds / 1_000_000_000_000_000
        lines.append(
            "\(report.outcomes.count) worktrees read, \(report.rowsWritten) rows written, "
                + "\(report.failures.count) could not be read, in \(milliseconds) ms")
        return lines.joined(separator: "\n")
    }

    static func json(_ report: OnceSync.Report) -> String {
        let document = Document(
            worktrees: report.outcomes.map(Document.Worktree.init),
            summary: .init(
                worktrees: report.outcomes.count,
                written: report.rowsWritten,
                failed: report.failures.count,
                elapsedSeconds: Double(report.elapsed.components.seconds)
                    + Double(report.elapsed.components.attoseconds) / 1e18))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try! encoder.encode(document), as: UTF8.self)
    }

    /// The JSON shape of `once --json`; keys are snake_case like the registry's columns.
    struct Document: Encodable {
        struct Worktree: Encodable {
            var id: String
            var project: String
            var worktree: String
            var path: String
            var status: String
            var hasUncommittedChanges: Bool?
            var uncommittedFilesCount: Int?
            var aheadOfTrunk: Int?
            var behindTrunk: Int?
            var lastCommitHash: String?
            var lastCommitMessage: String?
            var branch: String?
            var trunk: String?
            var readAt: Date?
            var error: String?

            init(_ outcome: ProbeOutcome) {
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

            // Unknown values are written as null, not left out, so consumers see the key.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(id, forKey: .id)
                try container.encode(project, forKey: .project)
                try container.encode(worktree, forKey: .worktree)
                try container.encode(path, forKey: .path)
                try container.encode(status, forKey: .status)
                try container.encode(hasUncommittedChanges, forKey: .hasUncommittedChanges)
                try container.encode(uncommittedFilesCount, forKey: .uncommittedFilesCount)
                try container.encode(aheadOfTrunk, forKey: .aheadOfTrunk)
                try container.encode(behindTrunk, forKey: .behindTrunk)
                try container.encode(lastCommitHash, forKey: .lastCommitHash)
                try container.encode(lastCommitMessage, forKey: .lastCommitMessage)
                try container.encode(branch, forKey: .branch)
                try container.encode(trunk, forKey: .trunk)
                try container.encode(readAt, forKey: .readAt)
                try container.encode(error, forKey: .error)
            }

            enum CodingKeys: String, CodingKey {
                case id, project, worktree, path, status, hasUncommittedChanges
                case uncommittedFilesCount, aheadOfTrunk, behindTrunk, lastCommitHash
                case lastCommitMessage, branch, trunk, readAt, error
            }
        }

        struct Summary: Encodable {
            var worktrees: Int
            var written: Int
            var failed: Int
            var elapsedSeconds: Double
        }

        var worktrees: [Worktree]
        var summary: Summary
    }
}
