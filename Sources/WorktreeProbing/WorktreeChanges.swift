/// What changed in one worktree since it was last probed, as the watcher saw it: some files
/// (paths relative to the worktree top, bytes as the kernel gave them), or something only a
/// full status can answer (a directory, the git directory, ignore rules, an overflow, a
/// reconcile).
///
/// Merging keeps the coarser answer: files and files are their union, anything and "full" is
/// full, and so is a burst of more than `pathLimit` files (a checkout, a build), where one
/// full status is cheaper than a long restricted one.
package struct WorktreeChanges: Sendable, Equatable {
    package private(set) var paths: Set<[UInt8]>
    package private(set) var needsFullStatus: Bool

    package static let everything = WorktreeChanges(paths: [], needsFullStatus: true)
    package static let pathLimit = 256

    package static func files(_ paths: Set<[UInt8]>) -> WorktreeChanges {
        WorktreeChanges(paths: paths, needsFullStatus: paths.count > pathLimit)
    }

    package mutating func merge(_ other: WorktreeChanges) {
        guard !needsFullStatus else { return }
        if other.needsFullStatus || paths.count + other.paths.count > Self.pathLimit {
            self = .everything
            return
        }
        paths.formUnion(other.paths)
        if paths.count > Self.pathLimit { self = .everything }
    }

    package mutating func insert(_ path: [UInt8]) {
        merge(.files([path]))
    }
}
