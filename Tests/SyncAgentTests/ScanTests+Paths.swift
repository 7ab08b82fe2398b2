import Foundation
import Logging
import TestSupport
import Testing

@testable import SyncAgent
@testable import WorktreeMembership

/// Paths built from the roots must be the paths libgit2 reports, whatever way a root is written.
extension ScanTests {
    @Test(
        "paths below a root are joined with one slash, also below / and below a root with a trailing slash",
        arguments: [
            ("/", "home", "/home"), ("/code", "api", "/code/api"), ("/code/", "api", "/code/api"),
            ("/code//", "api", "/code/api"), ("//", "etc", "/etc"),
        ])
    func joinsPaths(directory: String, name: String, joined: String) {
        #expect(PathText.joined(directory, name) == joined)
    }

    @Test(
        "a path is within a root by whole components, the root / holding everything",
        arguments: [
            ("/home/me/code/api", "/", true), ("/", "/", true), ("/code/api", "/code/", true), ("/code", "/code/", true),
            ("/code-old/api", "/code", false), ("/etc", "/code", false),
        ])
    func pathsWithinRoots(path: String, root: String, within: Bool) {
        #expect(PathText.isWithin(path, root: root) == within)
    }

    @Test("a root given with a trailing slash registers the same worktrees as without it")
    func trailingSlashRoot() throws {
        let tree = try Tree()
        let feature = try tree.worktree("feat-a", branch: "feat/a")
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        // URL drops a trailing slash: the root goes in as text.
        let report = try MembershipScan(
            connection: registry.connection, logger: Logger(label: "test"), host: HostScope(name: "desk"), depthLimit: 6
        ).run(roots: [tree.code.path + "/"])
        #expect(Set(report.found.map(\.path)) == [tree.trunk.path, feature.path])
        #expect(report.skipped.isEmpty, "\(report.skipped)")
        #expect(Set(try Self.rows(registry).values.map(\.path)) == [tree.trunk.path, feature.path])
    }
}
