import Foundation
import Synchronization
import GitProbe
import SystemPackage
import LinuxPlatform

/// What a walk of the roots found: each repository once, the directories it passed over and
/// why, and the directories above the worktrees (which the agent watches for new clones).
package struct Discovery: Sendable {
    package var roots: [String]
    package var repositories: [RepositoryInspection] = []
    package var skipped: [ScanSkip] = []
    /// Directories walked that are not inside any worktree, the roots included.
    package var skeleton: [String] = []

    package init(roots: [String], repositories: [RepositoryInspection] = [], skipped: [ScanSkip] = [], skeleton: [String] = []) {
        self.roots = roots
        self.repositories = repositories
        self.skipped = skipped
        self.skeleton = skeleton
    }
}

/// A directory the walk did not take as a worktree, and why.
package struct ScanSkip: Sendable, Equatable {
    package enum Reason: String, Sendable, Encodable {
        case notARepository = "not a repository"
        case bare = "bare repository"
        case unreadable = "unreadable"
        case nested = "nested inside another worktree"
        case permissionDenied = "permission denied"
        case symbolicLink = "symbolic link, not followed"
        case notUTF8 = "name is not UTF-8"
        case notListed = "not in git's worktree list"
        case prunable = "prunable: git lists it, its directory is gone"
        case locked = "locked: git lists it, its directory is gone"
        case noDefaultBranch = "no default branch"
        case nameTaken = "name taken"
        case missingRoot = "root does not exist"
        case tooLarge = "too large to be a git file"
        case notLinked = "not linked both ways with git's record of it"
        case outsideRoots = "outside the roots"
    }

    package var path: String
    package var reason: Reason
    package var detail: String?
}

/// Finds repositories under the roots: each directory holding `.git` is a worktree top (a
/// main clone, a linked worktree, a submodule); its repository is read with libgit2's
/// worktree API, so linked worktrees anywhere are found from their main clone. Hidden and
/// git-ignored directories, the inside of `.git` and symbolic links are never descended;
/// inside a worktree the walk only looks for nested repositories (which it skips).
///
/// Three passes: the directories above the worktrees are walked (cheap: `readdir` only);
/// the repositories found are read (every worktree's HEAD included), a directory's worth of
/// worktree tops at a time, on every core; then each worktree under the roots is walked for
/// nested repositories, on every core, opened with libgit2 only when its ignore rules decide
/// where the walk goes.
package struct RepositoryDiscovery {
    /// Directories below a root that are looked at: 1 is the root's children.
    package var depthLimit: Int
    package var probe = GitProbe(splitsLargeWorktrees: false)

    package func run(roots: [String]) -> Discovery {
        var discovery = Discovery(roots: roots.map(PathText.trimmed))
        var skeleton = Skeleton(depthLimit: depthLimit)
        for root in roots.map(PathText.trimmed) {
            let kind = FileKind.of(root)
            guard kind == .directory else {
                discovery.skipped.append(ScanSkip(path: root, reason: .missingRoot, detail: kind == .missing ? nil : "it is \(kind.phrase)"))
                continue
            }
            skeleton.visit(FilePath(root), root, depth: 0)
        }
        discovery.skeleton = skeleton.directories
        discovery.skipped += skeleton.skipped

        // Worktree tops grouped by their parent: an iMi project's trunk and worktrees are
        // siblings, so one read of the repository serves the whole group.
        let groups = Dictionary(grouping: skeleton.tops) { String($0.path[..<($0.path.lastIndex(of: "/") ?? $0.path.endIndex)]) }
            .sorted { $0.key < $1.key }.map(\.value)
        let read = Self.concurrently(groups) { group in readRepositories(of: group) }
        var commons: Set<String> = []
        for result in read {
            discovery.skipped += result.skipped
            for repository in result.repositories where commons.insert(repository.commonDirectory).inserted {
                discovery.repositories.append(repository)
            }
        }

        // Every worktree under the roots, walked inside for nested repositories.
        var depthOf: [String: Int] = [:]
        for top in skeleton.tops { depthOf[top.path] = top.depth }
        let known = Set(discovery.repositories.flatMap { $0.worktrees.map(\.path) })
        let walked = Self.concurrently(skeleton.tops.filter { known.contains($0.path) }) { top in
            walkInside(top, known: known)
        }
        var unreadable: [String: String] = [:]
        for result in walked {
            discovery.skipped += result.skipped
            unreadable.merge(result.unreadable) { first, _ in first }
        }
        // A linked worktree libgit2 could not open is unreadable; one whose HEAD the
        // repository's read left unresolved is read once more from its own git directory.
        var missing: [(repository: Int, worktree: Int)] = []
        for (r, repository) in discovery.repositories.enumerated() {
            for (w, worktree) in repository.linked.enumerated() where worktree.condition == .valid {
                if let detail = unreadable[worktree.path] {
                    discovery.repositories[r].linked[w].condition = .unreadable(detail: detail)
                } else if worktree.head == nil {
                    missing.append((r, w))
                }
            }
        }
        let gitDirectories = missing.map { discovery.repositories[$0.repository].linked[$0.worktree].gitDirectory }
        let read2 = Self.concurrently(gitDirectories) { [probe] gitDirectory in
            Result { () throws(GitProbeError) in try probe.head(at: gitDirectory) }
        }
        for (index, result) in zip(missing, read2) {
            switch result {
            case .success(let head): discovery.repositories[index.repository].linked[index.worktree].head = head
            case .failure(let error):
                discovery.repositories[index.repository].linked[index.worktree].condition = .unreadable(detail: error.description)
            }
        }
        return discovery
    }

    /// A directory holding `.git` (or a bare repository's top) met above the worktrees.
    package struct Top: Sendable {
        package var path: String
        package var depth: Int
        package var bare: Bool
    }

    /// The walk above the worktrees: `readdir` only.
    private struct Skeleton {
        package let depthLimit: Int
        package var directories: [String] = []
        package var tops: [Top] = []
        package var skipped: [ScanSkip] = []

        package mutating func visit(_ directory: FilePath, _ text: String, depth: Int) {
            guard let entries = RepositoryDiscovery.list(directory, text, into: &skipped) else { return }
            if entries.contains(where: { $0.name.bytes == RepositoryDiscovery.dotGit }) {
                tops.append(Top(path: text, depth: depth, bare: false))
                return
            }
            if RepositoryDiscovery.looksBare(entries) {
                tops.append(Top(path: text, depth: depth, bare: true))
                return
            }
            directories.append(text)
            guard depth < depthLimit else { return }
            for (child, childText, kind) in RepositoryDiscovery.children(entries, of: directory, text, into: &skipped) {
                if kind == .symbolicLink {
                    // A link to a directory is worth saying: a repository behind it is not registered.
                    if FileKind.of(childText) == .directory { skipped.append(ScanSkip(path: childText, reason: .symbolicLink)) }
                    continue
                }
                visit(child, childText, depth: depth + 1)
            }
        }
    }

    /// Reads the repositories of a group of worktree tops, one read per repository.
    private func readRepositories(of group: [Top]) -> (repositories: [RepositoryInspection], skipped: [ScanSkip]) {
        var repositories: [RepositoryInspection] = []
        var skipped: [ScanSkip] = []
        var known: Set<String> = []
        for top in group where !known.contains(top.path) {
            let inspection: RepositoryInspection
            do {
                inspection = try probe.inspectRepository(at: top.path)
            } catch {
                if !top.bare {
                    let reason: ScanSkip.Reason =
                        switch error.code {
                        case .notARepository: .notARepository
                        case .fileTooLarge: .tooLarge
                        default: .unreadable
                        }
                    skipped.append(ScanSkip(path: top.path, reason: reason, detail: error.description))
                }
                continue
            }
            if inspection.isBare {
                let detail = top.bare
                    ? "no main clone to be trunk"
                    : "a worktree of the bare repository \(inspection.commonDirectory), which has no main clone to be trunk"
                skipped.append(ScanSkip(path: top.path, reason: .bare, detail: detail))
                continue
            }
            guard !top.bare else { continue }
            guard inspection.worktrees.contains(where: { $0.path == top.path }) else {
                skipped.append(ScanSkip(
                    path: top.path, reason: .notListed,
                    detail: "\(inspection.commonDirectory) lists no worktree here (a copied directory?)"))
                continue
            }
            known.formUnion(inspection.worktrees.map(\.path))
            repositories.append(inspection)
        }
        return (repositories, skipped)
    }

    /// What walking inside one worktree found: worktrees that could not be opened, and nested
    /// repositories skipped.
    private struct Inside: Sendable {
        package var unreadable: [String: String] = [:]
        package var skipped: [ScanSkip] = []
    }

    /// Walks the directories of the worktree at `top` that git does not ignore, looking for
    /// nested repositories; a worktree of a repository found already met inside (`known`) is
    /// walked in turn.
    ///
    /// Each directory is listed before its ignore rules are asked about, and the rules (the
    /// worktree opened with libgit2) are asked only where the answer changes the walk: for a
    /// directory holding `.git` or directories of its own, or one that cannot be listed. A
    /// directory of files alone is left as it is, ignored or not, so most worktrees are never
    /// opened here; their HEADs come from the repository's own read.
    private func walkInside(_ top: Top, known: Set<String>) -> Inside {
        var inside = Inside()
        var layout: WorktreeLayout?
        var layoutFailed = false
        func isIgnored(_ childText: String) -> Bool {
            if layout == nil, !layoutFailed {
                do {
                    layout = try WorktreeLayout(worktreePath: top.path)
                } catch {
                    inside.unreadable[top.path] = error.description
                    layoutFailed = true
                }
            }
            guard let layout else { return false }
            let relative = Array((PathText.relative(childText, to: top.path) ?? "").utf8)
            return layout.isIgnored(relativePath: relative, isDirectory: true)
        }
        var nestedTops: [Top] = []
        func visit(_ directory: FilePath, _ text: String, entries: [DirectoryEntry], depth: Int) {
            for (child, childText, kind) in RepositoryDiscovery.children(entries, of: directory, text, into: &inside.skipped)
            where kind == .directory {
                var listingSkips: [ScanSkip] = []
                let listed = depth + 1 < depthLimit ? RepositoryDiscovery.list(child, childText, into: &listingSkips) : nil
                let hasGit =
                    listed.map { $0.contains { $0.name.bytes == RepositoryDiscovery.dotGit } }
                    ?? (FileKind.of(PathText.joined(childText, ".git")) != .missing)
                let goesDeeper = listed?.contains { $0.kind == .directory } ?? false
                let unlisted = depth + 1 < depthLimit && listed == nil
                if hasGit || goesDeeper || unlisted, isIgnored(childText) { continue }
                inside.skipped += listingSkips
                if hasGit {
                    if known.contains(childText) {
                        nestedTops.append(Top(path: childText, depth: depth + 1, bare: false))
                    } else {
                        inside.skipped.append(ScanSkip(path: childText, reason: .nested, detail: "inside \(top.path)"))
                    }
                    continue
                }
                if goesDeeper, let listed { visit(child, childText, entries: listed, depth: depth + 1) }
            }
        }
        if top.depth < depthLimit, let entries = RepositoryDiscovery.list(FilePath(top.path), top.path, into: &inside.skipped) {
            visit(FilePath(top.path), top.path, entries: entries, depth: top.depth)
        }
        layout?.releaseIndex()
        for nested in nestedTops {
            let found = walkInside(nested, known: known)
            inside.unreadable.merge(found.unreadable) { first, _ in first }
            inside.skipped += found.skipped
        }
        return inside
    }

    // MARK: Listing

    package static let dotGit = Array(".git".utf8)

    /// The entries of `directory`, sorted by name; `nil` (and a skip) when it cannot be read.
    package static func list(_ directory: FilePath, _ text: String, into skipped: inout [ScanSkip]) -> [DirectoryEntry]? {
        do {
            return try DirectoryListing.entries(of: directory).sorted { $0.name.bytes.lexicographicallyPrecedes($1.name.bytes) }
        } catch {
            if error == .permissionDenied {
                skipped.append(ScanSkip(path: text, reason: .permissionDenied))
            } else if error != .noSuchFileOrDirectory {
                skipped.append(ScanSkip(path: text, reason: .unreadable, detail: "\(error)"))
            }
            return nil
        }
    }

    /// The directories and links among `entries` worth a look: not hidden, named in UTF-8
    /// (the registry stores text; another name is skipped and said).
    package static func children(
        _ entries: [DirectoryEntry], of directory: FilePath, _ text: String, into skipped: inout [ScanSkip]
    ) -> [(FilePath, String, DirectoryEntry.Kind)] {
        var children: [(FilePath, String, DirectoryEntry.Kind)] = []
        for entry in entries where entry.kind != .other {
            let name = entry.name.bytes
            guard name.first != UInt8(ascii: ".") else { continue }
            let child = directory.appending(entry.name)
            guard let childText = String(validating: name, as: UTF8.self).map({ PathText.joined(text, $0) }) else {
                if entry.kind == .directory { skipped.append(ScanSkip(path: String(decoding: child.bytes, as: UTF8.self), reason: .notUTF8)) }
                continue
            }
            children.append((child, childText, entry.kind))
        }
        return children
    }

    /// A bare repository's top: HEAD, objects/ and refs/ side by side.
    package static func looksBare(_ entries: [DirectoryEntry]) -> Bool {
        let names = Set(entries.map { String(decoding: $0.name.bytes, as: UTF8.self) })
        return names.isSuperset(of: ["HEAD", "objects", "refs"])
    }

    /// `body` over `items` on every core; results in the order of `items`.
    package static func concurrently<Item: Sendable, Output: Sendable>(
        _ items: [Item], _ body: @Sendable (Item) -> Output
    ) -> [Output] {
        guard items.count > 1 else { return items.map(body) }
        let results = Mutex<[Int: Output]>([:])
        DispatchQueue.concurrentPerform(iterations: items.count) { index in
            let output = body(items[index])
            results.withLock { $0[index] = output }
        }
        return results.withLock { all in (0..<items.count).map { all[$0]! } }
    }

    package init(depthLimit: Int) {
        self.depthLimit = depthLimit
    }
}
