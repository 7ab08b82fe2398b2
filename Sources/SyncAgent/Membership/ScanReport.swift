import Foundation

/// What a scan found and did: each worktree with its outcome, the rows deactivated or missing,
/// and every directory passed over with its reason.
struct ScanReport: Sendable {
    enum Outcome: String, Sendable, Encodable {
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

    struct Found: Sendable, Equatable {
        var path: String
        var project: String
        var name: String
        var type: String
        /// `nil` when HEAD is detached.
        var branch: String?
        var outcome: Outcome
        /// Where the row said it was, for `.repaired`.
        var previousPath: String?
        /// The row's id; `nil` for a row not written yet.
        var id: String?
    }

    struct Deactivated: Sendable, Equatable {
        var id: String
        var path: String
        var project: String
        var name: String
    }

    /// A registered worktree git still lists whose directory is gone: kept active, reported.
    struct Missing: Sendable, Equatable {
        var id: String
        var path: String
        var reason: String
    }

    var found: [Found] = []
    var deactivated: [Deactivated] = []
    var missing: [Missing] = []
    var skipped: [ScanSkip] = []
    var projectsRegistered: [String] = []
    var roots: [String] = []
    var dryRun = false
    var elapsed: Duration = .zero

    func count(_ outcome: Outcome) -> Int { found.count { $0.outcome == outcome } }

    /// Whether the scan wrote (or, dry, would write) anything.
    var changesRegistry: Bool {
        found.contains { $0.outcome != .unchanged } || !deactivated.isEmpty || !projectsRegistered.isEmpty
    }
}

/// How `scan` shows its report: a table for people, one JSON document for machines.
enum ScanOutput {
    static func table(_ report: ScanReport) -> String {
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

    static func json(_ report: ScanReport) -> String {
        JSONOutput.render(Document(report))
    }

    /// The JSON shape of `scan --json`.
    struct Document: Encodable {
        struct Found: Encodable {
            @NullWhenAbsent var id: String?
            var project: String
            var name: String
            var type: String
            @NullWhenAbsent var branch: String?
            var path: String
            var outcome: ScanReport.Outcome
            @NullWhenAbsent var previousPath: String?
        }

        struct Row: Encodable {
            var id: String
            var path: String
            @NullWhenAbsent var project: String?
            @NullWhenAbsent var name: String?
            @NullWhenAbsent var reason: String?
        }

        struct Skip: Encodable {
            var path: String
            var reason: ScanSkip.Reason
            @NullWhenAbsent var detail: String?
        }

        struct Summary: Encodable {
            var found: Int
            var registered: Int
            var repaired: Int
            var reactivated: Int
            var updated: Int
            var unchanged: Int
            var deactivated: Int
            var missing: Int
            var skipped: Int
            var elapsedSeconds: Double
        }

        var roots: [String]
        var dryRun: Bool
        var projectsRegistered: [String]
        var worktrees: [Found]
        var deactivated: [Row]
        var missing: [Row]
        var skipped: [Skip]
        var summary: Summary

        init(_ report: ScanReport) {
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

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
