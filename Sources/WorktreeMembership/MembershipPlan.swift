import Foundation
import GitProbe
import RegistryClient

/// Compares what the walk found with what the registry holds and decides the writes: which
/// projects and worktrees are new, which rows moved, which are gone. Pure: the disk is asked
/// only through `exists`, so every rule is testable without one.
package struct MembershipPlan {
    /// The type a linked worktree gets when no `worktree_prefix` starts its directory name.
    package static let defaultTypeName = "feat"

    package let discovery: Discovery
    package let snapshot: MembershipSnapshot
    package let hostID: String
    /// Whether a path exists (following links).
    package let exists: (String) -> Bool

    /// The writes, and the report of what each worktree and row became.
    package func make() -> (changes: MembershipChanges, report: ScanReport) {
        var state = State(snapshot: snapshot, hostID: hostID, roots: discovery.roots)
        for repository in discovery.repositories {
            state.reconcile(repository, exists: exists)
        }
        state.report.skipped = discovery.skipped + state.report.skipped
        state.deactivateGone(roots: discovery.roots, exists: exists)
        return (state.changes, state.report)
    }

    private struct State {
        package let snapshot: MembershipSnapshot
        package let hostID: String
        /// New linked worktrees are registered only below these.
        package let roots: [String]
        package var changes = MembershipChanges()
        package var report = ScanReport()
        /// Rows matched to a worktree on disk (or to one git lists as prunable).
        package var claimed: Set<String> = []
        /// Projects whose repository this scan read: their gone rows may be deactivated.
        package var projectsRead: Set<String> = []
        /// Common directories of the repositories read, and the administrative directories
        /// git lists in them: a row whose administrative directory is not listed is gone.
        package var commonsRead: Set<String> = []
        package var listedGitDirectories: Set<String> = []
        package var chosenProjectNames: Set<String> = []
        /// Names taken among this host's active rows, per project (and for new projects).
        package var namesInUse: [MembershipChanges.ProjectReference: Set<String>] = [:]

        package init(snapshot: MembershipSnapshot, hostID: String, roots: [String]) {
            self.snapshot = snapshot
            self.hostID = hostID
            self.roots = roots
            var byPath: [String: [Int]] = [:]
            var byGitDirectory: [String: [Int]] = [:]
            var byProjectAndName: [ProjectAndName: [Int]] = [:]
            for (index, row) in snapshot.worktrees.enumerated() {
                byPath[row.path, default: []].append(index)
                // Only this host's rows follow a git directory or a name: another machine's
                // paths mean nothing here.
                guard row.hostID == hostID else { continue }
                if let gitDirectory = row.gitDirectory { byGitDirectory[gitDirectory, default: []].append(index) }
                byProjectAndName[ProjectAndName(projectID: row.projectID, name: row.name), default: []].append(index)
            }
            rowsByPath = byPath
            rowsByGitDirectory = byGitDirectory
            rowsByProjectAndName = byProjectAndName
            for row in snapshot.worktrees where row.active && row.hostID == hostID {
                namesInUse[.existing(id: row.projectID), default: []].insert(row.name)
            }
        }

        package mutating func reconcile(_ repository: RepositoryInspection, exists: (String) -> Bool) {
            guard let main = repository.main else { return }
            guard let (project, projectName) = resolveProject(repository, main: main, exists: exists) else { return }
            if case .existing(let id) = project { projectsRead.insert(id) }
            commonsRead.insert(repository.commonDirectory)
            listedGitDirectories.formUnion(repository.linked.map(\.gitDirectory))
            for worktree in repository.worktrees {
                reconcile(worktree, isMain: worktree.administrativeName == nil, project: project, projectName: projectName, exists: exists)
            }
        }

        // MARK: Projects

        /// The registered project of `repository` (by origin, else by trunk path), with the
        /// facts git gives about it refreshed; or a new one. `nil` when it cannot be registered.
        package mutating func resolveProject(
            _ repository: RepositoryInspection, main: RepositoryInspection.Worktree, exists: (String) -> Bool
        ) -> (MembershipChanges.ProjectReference, String)? {
            let origin = repository.originURL ?? ""
            let key = RemoteURL.key(origin)
            let existing =
                snapshot.projects.first { !origin.isEmpty && $0.remoteOrigin == origin }
                ?? snapshot.projects.first { !origin.isEmpty && RemoteURL.key($0.remoteOrigin) == key }
                ?? snapshot.projects.first { $0.trunkPath == main.path }
            if let existing {
                let update = MembershipChanges.ProjectUpdate(
                    id: existing.id,
                    remoteOrigin: existing.remoteOrigin.isEmpty ? origin : existing.remoteOrigin,
                    defaultBranch: repository.originDefaultBranch ?? existing.defaultBranch,
                    // A second clone of the same remote, or another host's trunk, does not take
                    // trunk over; a trunk that moved here does.
                    trunkPath: exists(existing.trunkPath) || existing.trunkIsAnotherHosts ? existing.trunkPath : main.path)
                if update.remoteOrigin != existing.remoteOrigin || update.defaultBranch != existing.defaultBranch
                    || update.trunkPath != existing.trunkPath
                {
                    changes.projectUpdates.append(update)
                }
                return (.existing(id: existing.id), existing.name)
            }
            // A second clone of a remote first seen in this same pass joins that new project.
            if !origin.isEmpty, let index = changes.newProjects.firstIndex(where: { RemoteURL.key($0.remoteOrigin) == key }) {
                return (.new(index: index), changes.newProjects[index].name)
            }
            guard let defaultBranch = repository.originDefaultBranch ?? main.head?.branch else {
                report.skipped.append(ScanSkip(
                    path: main.path, reason: .noDefaultBranch,
                    detail: "origin/HEAD is unset and the main clone's HEAD is detached; "
                        + "run `git remote set-head origin --auto` or check out the trunk branch"))
                return nil
            }
            let candidates = ProjectNaming.candidates(origin: origin, mainPath: main.path)
            guard let name = candidates.first(where: { !snapshot.projectNames.contains($0) && !chosenProjectNames.contains($0) }) else {
                report.skipped.append(ScanSkip(
                    path: main.path, reason: .nameTaken,
                    detail: "project names \(candidates.joined(separator: ", ")) belong to other repositories"))
                return nil
            }
            chosenProjectNames.insert(name)
            changes.newProjects.append(.init(name: name, remoteOrigin: origin, defaultBranch: defaultBranch, trunkPath: main.path))
            report.projectsRegistered.append(name)
            return (.new(index: changes.newProjects.count - 1), name)
        }

        // MARK: Worktrees

        package mutating func reconcile(
            _ worktree: RepositoryInspection.Worktree, isMain: Bool, project: MembershipChanges.ProjectReference,
            projectName: String, exists: (String) -> Bool
        ) {
            if case .notLinked(let detail) = worktree.condition {
                unlinked(worktree, detail: detail)
                return
            }
            let directoryName = Self.lastComponent(worktree.path)
            let row = matchingRow(worktree, name: directoryName, project: project, exists: exists)
            let type = isMain ? snapshot.types.first { $0.name == "trunk" } : Self.type(of: directoryName, in: snapshot.types)
            switch worktree.condition {
            case .valid: break
            case .prunable, .locked, .unreadable, .notLinked:
                let (reason, detail) = Self.skipReason(worktree.condition)
                if let row, row.active {
                    claimed.insert(row.id)
                    report.missing.append(.init(id: row.id, path: row.path, reason: detail ?? reason.rawValue))
                } else {
                    report.skipped.append(ScanSkip(path: worktree.path, reason: reason, detail: detail))
                }
                return
            }
            let branch = worktree.head?.branch ?? ""
            if let row {
                claimed.insert(row.id)
                let outcome: ScanReport.Outcome =
                    !row.active ? .reactivated
                    : row.path != worktree.path ? .repaired
                    : (row.gitDirectory != worktree.gitDirectory || row.branchName != branch || row.hostID != hostID) ? .updated
                    : .unchanged
                if outcome != .unchanged {
                    changes.worktreeUpdates.append(.init(
                        id: row.id, path: worktree.path, gitDirectory: worktree.gitDirectory, branchName: branch))
                }
                if !row.active { namesInUse[project, default: []].insert(row.name) }
                report.found.append(.init(
                    path: worktree.path, project: projectName, name: row.name,
                    type: snapshot.types.first { $0.id == row.typeID }?.name ?? "?", branch: worktree.head?.branch,
                    outcome: outcome, previousPath: outcome == .repaired ? row.path : nil, id: row.id))
                return
            }
            guard let type else { return }
            // Linked worktrees are found from the repository, wherever git records them; only
            // those below a root are taken in (a row registered before stays matched).
            guard isMain || roots.contains(where: { PathText.isWithin(worktree.path, root: $0) }) else {
                report.skipped.append(ScanSkip(
                    path: worktree.path, reason: .outsideRoots, detail: "a worktree of \(projectName) outside \(roots.joined(separator: ", "))"))
                return
            }
            // Git keeps administrative names unique; a second clone of one remote is told apart
            // by its parent directory.
            let parent = Self.lastComponent(String(worktree.path.dropLast(directoryName.count + 1)))
            let candidates = [directoryName] + (worktree.administrativeName.map { [$0] } ?? []) + [parent + "-" + directoryName]
            guard let name = candidates.first(where: { !namesInUse[project, default: []].contains($0) }) else {
                report.skipped.append(ScanSkip(
                    path: worktree.path, reason: .nameTaken,
                    detail: "project \(projectName) has an active worktree named \(directoryName) on this host"))
                return
            }
            namesInUse[project, default: []].insert(name)
            changes.newWorktrees.append(.init(
                project: project, typeID: type.id, name: name, branchName: branch, path: worktree.path,
                gitDirectory: worktree.gitDirectory))
            report.found.append(.init(
                path: worktree.path, project: projectName, name: name, type: type.name, branch: worktree.head?.branch,
                outcome: .registered, previousPath: nil, id: nil))
        }

        /// A worktree git lists whose link is broken is no worktree: it is skipped, and the row
        /// registered for it (by its administrative directory, never by the path it names,
        /// which may be another worktree's) is deactivated.
        package mutating func unlinked(_ worktree: RepositoryInspection.Worktree, detail: String) {
            report.skipped.append(ScanSkip(path: worktree.path, reason: .notLinked, detail: detail))
            for index in rowsByGitDirectory[worktree.gitDirectory] ?? [] {
                let row = snapshot.worktrees[index]
                guard row.active, !claimed.contains(row.id) else { continue }
                claimed.insert(row.id)
                deactivate(row)
            }
        }

        package mutating func deactivate(_ row: MembershipSnapshot.Worktree) {
            changes.deactivations.append(row.id)
            report.deactivated.append(.init(
                id: row.id, path: row.path,
                project: snapshot.projects.first { $0.id == row.projectID }?.name ?? "?", name: row.name))
        }

        /// The row `worktree` already has: the one at its path, else the one with its git
        /// directory (followed through `git worktree move`), else this host's row of the same
        /// project and name whose path is gone (the directory moved). Active rows first.
        package func matchingRow(
            _ worktree: RepositoryInspection.Worktree, name: String, project: MembershipChanges.ProjectReference,
            exists: (String) -> Bool
        ) -> MembershipSnapshot.Worktree? {
            let open = { (index: Int) in !claimed.contains(snapshot.worktrees[index].id) }
            if let index = rowsByPath[worktree.path]?.first(where: open) {
                return snapshot.worktrees[index]
            }
            if let index = rowsByGitDirectory[worktree.gitDirectory]?.first(where: open) {
                return snapshot.worktrees[index]
            }
            guard case .existing(let projectID) = project else { return nil }
            return rowsByProjectAndName[ProjectAndName(projectID: projectID, name: name)]?
                .lazy.filter(open).map { snapshot.worktrees[$0] }
                .first { row in row.active && !exists(row.path) && (row.gitDirectory.map { !exists($0) } ?? true) }
        }

        /// Indexes into `snapshot.worktrees` (which lists active rows first), by what a
        /// worktree on disk is matched with.
        package let rowsByPath: [String: [Int]]
        package let rowsByGitDirectory: [String: [Int]]
        package let rowsByProjectAndName: [ProjectAndName: [Int]]

        package struct ProjectAndName: Hashable {
            package var projectID: String
            package var name: String
        }

        /// This host's active rows not found on disk: gone from disk and from git's worktree
        /// list, they are deactivated (never deleted). Only rows under the roots or of a
        /// project read now are judged; a row elsewhere is left to `run`, which reports it
        /// missing. A row whose administrative directory a repository read now no longer
        /// lists is gone whatever is at its path (a forged worktree's directory stays).
        package mutating func deactivateGone(roots: [String], exists: (String) -> Bool) {
            for row in snapshot.worktrees where row.active && row.hostID == hostID && !claimed.contains(row.id) {
                if let gitDirectory = row.gitDirectory, !listedGitDirectories.contains(gitDirectory),
                    commonsRead.contains(where: { PathText.isWithin(gitDirectory, root: PathText.joined($0, "worktrees")) })
                {
                    deactivate(row)
                    continue
                }
                let underRoot = roots.contains { PathText.isWithin(row.path, root: $0) }
                guard underRoot || projectsRead.contains(row.projectID), !exists(row.path) else { continue }
                if let gitDirectory = row.gitDirectory, exists(gitDirectory) {
                    report.missing.append(.init(
                        id: row.id, path: row.path, reason: "its directory is gone; git still lists it at \(gitDirectory)"))
                    continue
                }
                deactivate(row)
            }
        }

        /// The type whose `worktree_prefix` starts `name` (the longest one), else the default.
        package static func type(of name: String, in types: [MembershipSnapshot.WorktreeType]) -> MembershipSnapshot.WorktreeType? {
            types.filter { !$0.worktreePrefix.isEmpty && name.hasPrefix($0.worktreePrefix) }
                .max { $0.worktreePrefix.count < $1.worktreePrefix.count }
                ?? types.first { $0.name == MembershipPlan.defaultTypeName }
        }

        package static func skipReason(_ condition: RepositoryInspection.Condition) -> (ScanSkip.Reason, String?) {
            switch condition {
            case .valid: (.unreadable, nil)
            case .prunable: (.prunable, "prunable: git lists it, its directory is gone (`git worktree prune` removes it)")
            case .locked(let reason):
                (.locked, "locked: git lists it, its directory is gone" + (reason.isEmpty ? "" : " (\(reason))"))
            case .unreadable(let detail): (.unreadable, detail)
            case .notLinked(let detail): (.notLinked, detail)
            }
        }

        package static func lastComponent(_ path: String) -> String {
            path.split(separator: "/").last.map(String.init) ?? path
        }
    }
}

/// Names for a new project: the repository's name in its origin URL (then owner-name), else
/// the directory of an iMi layout (`<name>/trunk-main`), else the main clone's directory.
package enum ProjectNaming {
    package static func candidates(origin: String, mainPath: String) -> [String] {
        let parts = RemoteURL.key(origin).split(separator: "/").map(String.init)
        if let repository = parts.last, !repository.isEmpty {
            return parts.count >= 3 ? [repository, parts[parts.count - 2] + "-" + repository] : [repository]
        }
        let components = mainPath.split(separator: "/").map(String.init)
        guard let last = components.last else { return [] }
        if last.hasPrefix("trunk-"), components.count >= 2 { return [components[components.count - 2], last] }
        return [last]
    }
}

/// Remote URLs compared as the same repository whatever way they are written:
/// `git@github.com:team/api.git`, `ssh://git@github.com/team/api` and
/// `https://github.com/team/api.git` all have the key `github.com/team/api`.
package enum RemoteURL {
    package static func key(_ url: String) -> String {
        var text = url.trimmingCharacters(in: .whitespaces)
        if let scheme = text.range(of: "://") {
            text = String(text[scheme.upperBound...])
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            // scp-like `user@host:path`
            text = text[..<colon] + "/" + text[text.index(after: colon)...]
        }
        if let at = text.firstIndex(of: "@"), !text[..<at].contains("/") {
            text = String(text[text.index(after: at)...])
        }
        while text.hasSuffix("/") { text.removeLast() }
        if text.hasSuffix(".git") { text.removeLast(4) }
        guard let slash = text.firstIndex(of: "/") else { return text.lowercased() }
        var host = text[..<slash].lowercased()
        if let port = host.firstIndex(of: ":") { host = String(host[..<port]) }
        return host + text[slash...]
    }
}
