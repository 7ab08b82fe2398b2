import GitProbe
import SystemPackage
import LinuxPlatform

/// Every directory `run` watches for one worktree: the one walk the watcher and `doctor`'s
/// estimate share.
///
/// The rule is that every path whose change can change `git status --porcelain` is watched:
/// each directory git does not ignore, and ignored directories that still hold tracked files;
/// the worktree's git directory (HEAD, index), the common directory (packed-refs, config), its
/// `refs/` and `info/` (exclude, sparse-checkout); each checked-out submodule's git
/// directories; and, outside the repository, the ignore file git reads (`core.excludesFile`).
/// Symbolic links are never followed and the inside of `.git` is never walked as a tree.
package struct WatchPlan {
    package struct Directory: Hashable {
        package var path: FilePath
        package var role: WatchSet.Role
    }

    /// The directories to watch, tree directories first.
    package var directories: [Directory] = []
    /// Ignored directories holding no tracked file: not watched; looked at again when the index
    /// changes (`git add -f` makes one hold a tracked file).
    package var ignoredDirectories: [FilePath] = []
    /// Files outside the repository git reads for this worktree (`core.excludesFile`).
    package var externalFiles: [FilePath] = []

    package init(root: FilePath, layout: WorktreeLayout) {
        let tree = Self.treeDirectories(from: root, relative: [], layout: layout)
        directories = tree.watched.map { Directory(path: $0, role: .tree) }
        ignoredDirectories = tree.ignored

        let common = FilePath(bytes: layout.commonDirectory)
        var gitDirectories = [FilePath(bytes: layout.gitDirectory), common]
        var commons = [common]
        for submodule in layout.submoduleDirectories() {
            gitDirectories += [FilePath(bytes: submodule.gitDirectory), FilePath(bytes: submodule.commonDirectory)]
            commons.append(FilePath(bytes: submodule.commonDirectory))
        }
        var seen = Set<FilePath>()
        for directory in gitDirectories where seen.insert(directory).inserted {
            directories.append(Directory(path: directory, role: .gitDirectory))
        }
        for common in commons {
            directories += Self.refDirectories(under: common.appending("refs")).map { Directory(path: $0, role: .refs) }
            let info = common.appending("info")
            if DirectoryListing.lstatKind(info) == .directory {
                directories.append(Directory(path: info, role: .info))
            }
        }
        if let excludes = layout.excludesFile() {
            externalFiles.append(FilePath(bytes: excludes))
        }
        layout.releaseIndex()
    }

    /// The number of watches the plan needs (what `doctor` estimates).
    package var watchCount: Int { directories.count }

    /// `start` and every directory below it that git does not ignore or that holds a tracked
    /// file, skipping `.git` and symbolic links; and the ignored directories left out.
    /// `relative` is `start`'s path from the worktree top, as git names it.
    ///
    /// libgit2 reads a directory's `.gitignore` with a blocking `open(2)`: one that is a FIFO
    /// (or a link to a device) would hold the walk forever. Below such a directory no ignore
    /// rule is asked for and every directory is watched (erring on watching); the probe
    /// reports the file (``GuardedBatch``). The same when a rule file git reads for every
    /// path (`info/exclude`, `core.excludesFile`) is one.
    package static func treeDirectories(
        from start: FilePath, relative: [UInt8], layout: WorktreeLayout
    ) -> (watched: [FilePath], ignored: [FilePath]) {
        var watched = [start]
        var ignored: [FilePath] = []
        let common = FilePath(bytes: layout.commonDirectory)
        let globalRules = [common.appending("info").appending("exclude")] + (layout.excludesFile().map { [FilePath(bytes: $0)] } ?? [])
        let rulesReadable = globalRules.allSatisfy { !FileKind.of($0.string).blocksReaders }
        // Asking about a path reads the rule files of every directory above it up to the top.
        var asksAbove = rulesReadable && !blockingRules(in: start)
        var ancestor = start
        for _ in relative.split(separator: slash) where asksAbove {
            ancestor.removeLastComponent()
            asksAbove = !blockingRules(in: ancestor)
        }
        var queue = [(start, relative, asksAbove)]
        while let (directory, relativeDirectory, asksRules) = queue.popLast() {
            // Unreadable or vanished: git cannot see inside either.
            guard let entries = try? DirectoryListing.entries(of: directory) else { continue }
            for entry in entries where entry.kind == .directory && entry.name != gitName {
                let name = entry.name.bytes
                let childRelative = relativeDirectory.isEmpty ? name : relativeDirectory + [slash] + name
                let child = directory.appending(entry.name)
                if asksRules, layout.isIgnored(relativePath: childRelative, isDirectory: true),
                    !layout.tracksFiles(under: childRelative)
                {
                    ignored.append(child)
                    continue
                }
                watched.append(child)
                queue.append((child, childRelative, asksRules && !blockingRules(in: child)))
            }
        }
        return (watched, ignored)
    }

    /// Whether `directory/.gitignore` is something a reader's open would block on.
    private static func blockingRules(in directory: FilePath) -> Bool {
        FileKind.of(directory.appending(".gitignore").string).blocksReaders
    }

    /// `path` and every directory under it (refs are never symbolic links to directories).
    package static func refDirectories(under path: FilePath) -> [FilePath] {
        guard DirectoryListing.lstatKind(path) == .directory else { return [] }
        var found: [FilePath] = []
        var queue = [path]
        while let directory = queue.popLast() {
            found.append(directory)
            let entries = (try? DirectoryListing.entries(of: directory)) ?? []
            queue += entries.filter { $0.kind == .directory }.map { directory.appending($0.name) }
        }
        return found
    }

    private static let gitName: FilePath.Component = ".git"
    private static let slash = UInt8(ascii: "/")
}
