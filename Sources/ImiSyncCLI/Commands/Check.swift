import ArgumentParser
import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import RegistryDocuments

/// `imi-sync check FILE...`: for editor and agent hooks, does another worktree change this file?
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Tell whether other in-flight worktrees change these files, and whether that conflicts.",
        discussion: """
            For hooks run before or after an edit. The caller's worktree is --worktree, else the \
            registered worktree holding the current directory; FILEs are relative to the current \
            directory. Other worktrees' change sets come from the registry; the caller's own \
            working state is read now with libgit2 and merged in memory with each other worktree \
            on this host that changes the same file (nothing is written to the repository). \
            Exit 0 when no other worktree changes the files, 1 when some do but the merge is clean \
            (or cannot be made here: another host), 2 when a conflict is predicted.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Files, relative to the current directory.", completion: .file())
    var files: [String]

    @Option(name: .long, help: "The caller's worktree (default: the one holding the current directory).", completion: .directory)
    var worktree: String?

    @Flag(name: .long, help: "Print one JSON document instead of lines.")
    var json = false

    struct Finding: Encodable {
        var file: String
        var project: String
        var worktree: String
        var worktreeId: String
        var path: String
        @NullWhenAbsent var host: String?
        /// true: merging the two conflicts on this file; false: clean; null: not merged here.
        @NullWhenAbsent var conflict: Bool?
        /// When the other worktree's stored change set stopped being current.
        @NullWhenAbsent var staleSince: Date?
    }

    struct Document: Encodable {
        var worktree: String
        var files: [String]
        var findings: [Finding]
    }

    func run() throws {
        _ = global.makeLogger()
        let registry = try global.openRegistry()
        let directory = FileManager.default.currentDirectoryPath
        let start = worktree.map { Self.absolute($0, in: directory) } ?? directory
        guard let own = try Self.owning(start, in: registry.activeWorktrees()) else {
            throw ValidationError("\(start.displayQuoted) is not inside a registered worktree (see `imi-sync status`)")
        }
        var relative: [String] = []
        for file in files {
            let path = Self.absolute(file, in: directory)
            guard path.hasPrefix(own.path + "/") else {
                throw ValidationError("\(file.displayQuoted) is not inside the worktree \(own.path.displayQuoted)")
            }
            relative.append(String(path.dropFirst(own.path.count + 1)))
        }

        let others = try registry.worktreesChanging(relative, inProject: own.projectName, except: own.id)
        var findings: [Finding] = []
        var sandbox: MergeSandbox?
        var ownState: WorkingState?
        var verdicts: [String: [String]] = [:]
        let ownCommon = try? MergeSandbox.commonDirectory(ofWorktreeAt: own.path)
        for (other, host, path, staleSince) in others {
            var conflict: Bool?
            if other.hostID == own.hostID, let ownCommon,
                (try? MergeSandbox.commonDirectory(ofWorktreeAt: other.path)) == ownCommon
            {
                if sandbox == nil { sandbox = try MergeSandbox(commonDirectory: ownCommon) }
                if ownState == nil {
                    ownState = try sandbox!.workingState(ofWorktreeAt: own.path, defaultBranch: own.defaultBranch)
                }
                if verdicts[other.id] == nil {
                    let otherState = try sandbox!.workingState(ofWorktreeAt: other.path, defaultBranch: other.defaultBranch)
                    verdicts[other.id] = try sandbox!.conflictingPaths(ownState!, otherState).map(PathChange.text(of:))
                }
                conflict = verdicts[other.id]!.contains(path)
            }
            findings.append(Finding(
                file: path, project: other.projectName, worktree: other.name, worktreeId: other.id, path: other.path,
                host: host, conflict: conflict, staleSince: staleSince))
        }

        if json {
            print(JSONOutput.render(Document(worktree: own.path, files: relative, findings: findings)))
        } else if findings.isEmpty {
            print("no other worktree changes \(relative.map(\.displayQuoted).joined(separator: ", "))")
        } else {
            for finding in findings {
                let verdict = finding.conflict.map { $0 ? "conflict predicted" : "merges cleanly" } ?? "not merged here (another host)"
                print("\(finding.file.displayQuoted): also changed in \(finding.project.displayQuoted)/"
                    + finding.worktree.displayQuoted + (finding.host.map { " on \($0.displayQuoted)" } ?? "")
                    + " at \(finding.path.displayQuoted): \(verdict)"
                    + (finding.staleSince.map { " (its change set is stale since \(Conflicts.timestamp($0)))" } ?? ""))
            }
        }
        if findings.contains(where: { $0.conflict == true }) { throw ExitCode(2) }
        if !findings.isEmpty { throw ExitCode(1) }
    }

    static func absolute(_ path: String, in directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : directory + "/" + path
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }

    /// The registered worktree whose directory holds `path` (the deepest one).
    static func owning(_ path: String, in worktrees: [RegisteredWorktree]) throws -> RegisteredWorktree? {
        worktrees.filter { path == $0.path || path.hasPrefix($0.path + "/") }.max { $0.path.count < $1.path.count }
    }
}
