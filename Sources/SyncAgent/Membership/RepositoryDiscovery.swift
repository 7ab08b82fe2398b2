import Foundation
import GitProbe
import SystemPackage

/// What a walk of the roots found: each repository once, the directories it passed over and
/// why, and the directories above the worktrees (which the agent watches for new clones).
struct Discovery: Sendable {
    var roots: [String]
    var repositories: [RepositoryInspection] = []
    var skipped: [ScanSkip] = []
    /// Directories walked that are not inside any worktree, the roots included.
    var skeleton: [String] = []
}

/// A directory the walk did not take as a worktree, and why.
struct ScanSkip: Sendable, Equatable {
    enum Reason: String, Sendable, Encodable {
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
    }

    var path: String
    var reason: Reason
    var detail: String?
}

/// Finds repositories under the roots: each directory holding `.git` is a worktree top (a
/// main clone, a linked worktree, a submodule); its repository is read with libgit2's
/// worktree API, so linked worktrees anywhere are found from their main clone. Hidden and
/// git-ignored directories, the inside of `.git` and symbolic links are never descended;
/// inside a worktree the walk only looks for nested repositories (which it skips).
struct RepositoryDiscovery {
    /// Directories below a root that are looked at: 1 is the root's children.
    var depthLimit: Int
    var probe = GitProbe(splitsLargeWorktrees: false)

    func run(roots: [String]) -> Discovery {
        var walk = Walk(depthLimit: depthLimit, probe: probe, discovery: Discovery(roots: roots))
        for root in roots {
            guard FileKind.of(root) == .directory else {
                walk.skip(root, .missingRoot, FileKind.of(root) == .missing ? nil : "it is \(FileKind.of(root).phrase)")
                continue
            }
            walk.visit(FilePath(root), root, depth: 0, inside: nil)
        }
        return walk.discovery
    }

    /// The walk's state: what it found so far, by worktree path and common directory.
    private struct Walk {
        let depthLimit: Int
        let probe: GitProbe
        var discovery: Discovery
        /// Every worktree path of a repository found so far.
        var known: Set<String> = []
        var commonDirectories: Set<String> = []

        /// A worktree the walk is inside, with its ignore rules.
        struct Enclosing {
            var path: String
            var layout: WorktreeLayout
        }

        mutating func skip(_ path: String, _ reason: ScanSkip.Reason, _ detail: String? = nil) {
            discovery.skipped.append(ScanSkip(path: path, reason: reason, detail: detail))
        }

        mutating func visit(_ directory: FilePath, _ text: String, depth: Int, inside enclosing: Enclosing?) {
            let entries: [DirectoryEntry]
            do {
                entries = try DirectoryListing.entries(of: directory).sorted { $0.name.bytes.lexicographicallyPrecedes($1.name.bytes) }
            } catch {
                if error == .permissionDenied {
                    skip(text, .permissionDenied)
                } else if error != .noSuchFileOrDirectory {
                    skip(text, .unreadable, "\(error)")
                }
                return
            }
            var enclosing = enclosing
            if entries.contains(where: { $0.name.bytes == Self.dotGit }) {
                guard let worktree = worktreeTop(text, inside: enclosing) else { return }
                enclosing = worktree
            } else if enclosing == nil, Self.looksBare(entries) {
                if let inspection = try? probe.inspectRepository(at: text), inspection.isBare {
                    skip(text, .bare, "no main clone to be trunk")
                    return
                }
            }
            if enclosing == nil { discovery.skeleton.append(text) }
            guard depth < depthLimit else { return }
            for entry in entries where entry.kind != .other {
                let name = entry.name.bytes
                guard name.first != UInt8(ascii: ".") else { continue }
                let child = directory.appending(entry.name)
                guard let childText = String(validating: name, as: UTF8.self).map({ text + "/" + $0 }) else {
                    if entry.kind == .directory { skip(String(decoding: child.bytes, as: UTF8.self), .notUTF8) }
                    continue
                }
                if entry.kind == .symbolicLink {
                    // Inside a worktree links are content; above them a link to a directory is
                    // worth saying, since a repository behind it is not registered.
                    if enclosing == nil, FileKind.of(childText) == .directory { skip(childText, .symbolicLink) }
                    continue
                }
                if let enclosing {
                    let relative = Array(childText.utf8.dropFirst(enclosing.path.utf8.count + 1))
                    if enclosing.layout.isIgnored(relativePath: relative, isDirectory: true) { continue }
                }
                visit(child, childText, depth: depth + 1, inside: enclosing)
            }
            enclosing?.layout.releaseIndex()
        }

        /// `path` holds `.git`: a worktree of a repository found already, one of a repository
        /// read now, or something to skip (then `nil`: nothing below it is walked).
        mutating func worktreeTop(_ path: String, inside enclosing: Enclosing?) -> Enclosing? {
            if !known.contains(path) {
                if let enclosing {
                    skip(path, .nested, "inside \(enclosing.path)")
                    return nil
                }
                let inspection: RepositoryInspection
                do {
                    inspection = try probe.inspectRepository(at: path)
                } catch {
                    skip(path, error.code == .notARepository ? .notARepository : .unreadable, error.description)
                    return nil
                }
                if inspection.isBare {
                    skip(path, .bare, "a worktree of the bare repository \(inspection.commonDirectory), which has no main clone to be trunk")
                    return nil
                }
                guard !commonDirectories.contains(inspection.commonDirectory),
                    inspection.worktrees.contains(where: { $0.path == path })
                else {
                    skip(path, .notListed, "\(inspection.commonDirectory) lists no worktree here (a copied directory?)")
                    return nil
                }
                commonDirectories.insert(inspection.commonDirectory)
                known.formUnion(inspection.worktrees.map(\.path))
                discovery.repositories.append(inspection)
            }
            guard let layout = try? WorktreeLayout(worktreePath: path) else { return nil }
            return Enclosing(path: path, layout: layout)
        }

        static let dotGit = Array(".git".utf8)

        /// A bare repository's top: HEAD, objects/ and refs/ side by side.
        static func looksBare(_ entries: [DirectoryEntry]) -> Bool {
            let names = Set(entries.map { String(decoding: $0.name.bytes, as: UTF8.self) })
            return names.isSuperset(of: ["HEAD", "objects", "refs"])
        }
    }
}
