import Foundation
import RegistryDocuments

/// What a scan found and did: each worktree with its outcome, the rows deactivated or missing,
/// and every directory passed over with its reason.
package struct ScanReport: Sendable {
    package enum Outcome: String, Sendable, Encodable {
        /// A new row.
        case registered
        /// The row's path was repaired (the worktree moved).
        case repaired
        /// An inactive row of this worktree is active again.
        case reactivated
        /// Its branch or git directory changed, or this host adopted it.
        case updated
        case unchanged
    }

    package struct Found: Sendable, Equatable {
        package var path: String
        package var project: String
        package var name: String
        package var type: String
        /// `nil` when HEAD is detached.
        package var branch: String?
        package var outcome: Outcome
        /// Where the row said it was, for `.repaired`.
        package var previousPath: String?
        /// The row's id; `nil` for a row not written yet.
        package var id: String?
    }

    package struct Deactivated: Sendable, Equatable {
        package var id: String
        package var path: String
        package var project: String
        package var name: String
    }

    /// A registered worktree git still lists whose directory is gone: kept active, reported.
    package struct Missing: Sendable, Equatable {
        package var id: String
        package var path: String
        package var reason: String
    }

    package var found: [Found] = []
    package var deactivated: [Deactivated] = []
    package var missing: [Missing] = []
    package var skipped: [ScanSkip] = []
    package var projectsRegistered: [String] = []
    package var roots: [String] = []
    package var dryRun = false
    package var elapsed: Duration = .zero

    package func count(_ outcome: Outcome) -> Int { found.count { $0.outcome == outcome } }

    /// Whether the scan wrote (or, dry, would write) anything.
    package var changesRegistry: Bool {
        found.contains { $0.outcome != .unchanged } || !deactivated.isEmpty || !projectsRegistered.isEmpty
    }
}

/// How `scan` shows its report: a table for people, one JSON document for machines.
package enum ScanOutput {
    package static func table(_ report: ScanReport) -> String {
        var lines: [String] = []
        if !report.found.isEmpty {
            var table = TextTable(headers: ["PROJECT", "WORKTREE", "TYPE", "BRANCH", "OUTCOME", "PATH"])
            table.rows = report.found.map { found in
                let outcome = found.previousPath.map { "repaired (was \($0.displayQuoted))" } ?? found.outcome.rawValue
                return [
                    found.project.displayQuoted, found.name.displayQuoted, found.type.displayQuoted,
                    found.branch?.displayQuoted ?? "(detached)", outcome, found.path.displayQuoted,
                ]
            }
            lines += [table.render(), ""]
        }
        for row in report.deactivated {
            lines.append(
                "deactivated: \(row.project.displayQuoted)/\(row.name.displayQuoted) at \(row.path.displayQuoted): "
                    + "gone from disk and from git")
        }
        for row in report.missing {
            lines.append("missing: \(row.path.displayQuoted): \(DisplayQuoting.terminalSafe(row.reason))")
        }
        for skip in report.skipped {
            lines.append(
                "skipped: \(skip.path.displayQuoted): \(skip.reason.rawValue)"
                    + (skip.detail.map { " (\(DisplayQuoting.terminalSafe($0)))" } ?? ""))
        }
        if !report.deactivated.isEmpty || !report.missing.isEmpty || !report.skipped.isEmpty { lines.append("") }
        let verb = report.dryRun ? "would be " : ""
        lines.append(
            "\(report.found.count) worktrees found under \(report.roots.map(\.displayQuoted).joined(separator: ", ")): "
                + "\(report.count(.registered)) \(verb)registered, \(report.count(.repaired)) \(verb)repaired, "
                + "\(report.count(.reactivated)) \(verb)reactivated, \(report.deactivated.count) \(verb)deactivated, "
                + "\(report.missing.count) missing, \(report.skipped.count) skipped, "
                + "\(report.projectsRegistered.count) new projects, in \(milliseconds(report.elapsed)) ms"
                + (report.dryRun ? " (dry run: nothing written)" : ""))
        return lines.joined(separator: "\n")
    }

    package static func json(_ report: ScanReport) -> String {
        JSONOutput.render(Document(report))
    }

    /// The JSON shape of `scan --json`.
    package struct Document: Encodable {
        package struct Found: Encodable {
            @NullWhenAbsent package var id: String?
            package var project: String
            package var name: String
            package var type: String
            @NullWhenAbsent package var branch: String?
            package var path: String
            package var outcome: ScanReport.Outcome
            @NullWhenAbsent package var previousPath: String?
        }

        package struct Row: Encodable {
            package var id: String
            package var path: String
            @NullWhenAbsent package var project: String?
            @NullWhenAbsent package var name: String?
            @NullWhenAbsent package var reason: String?
        }

        package struct Skip: Encodable {
            package var path: String
            package var reason: ScanSkip.Reason
            @NullWhenAbsent package var detail: String?
        }

        package struct Summary: Encodable {
            package var found: Int
            package var registered: Int
            package var repaired: Int
            package var reactivated: Int
            package var updated: Int
            package var unchanged: Int
            package var deactivated: Int
            package var missing: Int
            package var skipped: Int
            package var elapsedSeconds: Double
        }

        package var roots: [String]
        package var dryRun: Bool
        package var projectsRegistered: [String]
        package var worktrees: [Found]
        package var deactivated: [Row]
        package var missing: [Row]
        package var skipped: [Skip]
        package var summary: Summary

        package init(_ report: ScanReport) {
            roots = report.roots
            dryRun = report.dryRun
            projectsRegistered = report.projectsRegistered
            worktrees = report.found.map {
                Found(
                    id: $0.id, project: $0.project, name: $0.name, type: $0.type, branch: $0.branch, path: $0.path,
                    outcome: $0.outcome, previousPath: $0.previousPath)
            }
            deactivated = report.deactivated.map { Row(id: $0.id, path: $0.path, project: $0.project, name: $0.name, reason: nil) }
            missing = report.missing.map { Row(id: $0.id, path: $0.path, project: nil, name: nil, reason: $0.reason) }
            skipped = report.skipped.map { Skip(path: $0.path, reason: $0.reason, detail: $0.detail) }
            summary = Summary(
                found: report.found.count, registered: report.count(.registered), repaired: report.count(.repaired),
                reactivated: report.count(.reactivated), updated: report.count(.updated),
                unchanged: report.count(.unchanged), deactivated: report.deactivated.count,
                missing: report.missing.count, skipped: report.skipped.count,
                elapsedSeconds: Double(report.elapsed.components.seconds)
                    + Double(report.elapsed.components.attoseconds) / 1e18)
        }
    }

    package static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
