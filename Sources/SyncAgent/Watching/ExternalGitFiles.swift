import GitProbe
import SystemPackage
import LinuxPlatform

/// Files outside every repository that git reads, and which directory to watch for each.
package enum ExternalGitFiles {
    /// Global config files libgit2 reads for every worktree: `~/.gitconfig`,
    /// `$XDG_CONFIG_HOME/git/{config,attributes}` and `/etc/gitconfig` (whether they exist
    /// yet or not). `core.excludesFile` is per worktree (``WatchPlan/externalFiles``).
    package static func global() -> [FilePath] {
        var files: [FilePath] = []
        for directory in GitLibrary.configSearchDirectories(level: .global) {
            files.append(FilePath(bytes: directory).appending(".gitconfig"))
        }
        for directory in GitLibrary.configSearchDirectories(level: .xdg) {
            files += ["config", "attributes"].map { FilePath(bytes: directory).appending($0) }
        }
        for directory in GitLibrary.configSearchDirectories(level: .system) {
            files.append(FilePath(bytes: directory).appending("gitconfig"))
        }
        return files
    }

    /// For each file, the directory to watch: its own, or the nearest existing ancestor until
    /// its directory is created; with the names in that directory that lead to a file.
    package static func interest(in files: Set<FilePath>) -> [FilePath: Set<FilePath.Component>] {
        var interest: [FilePath: Set<FilePath.Component>] = [:]
        for file in files {
            var directory = file.removingLastComponent()
            var next = file.lastComponent
            while DirectoryListing.lstatKind(directory) != .directory, !directory.isEmpty, directory != "/" {
                next = directory.lastComponent
                directory = directory.removingLastComponent()
            }
            if let next { interest[directory, default: []].insert(next) }
        }
        return interest
    }
}
