import Foundation
import GitProbe
import TestSupport
import Testing

/// Probing must never write to a repository: not the index, not a lock, nothing in `.git`.
@Suite("GitProbe is read-only", .ownThreads)
struct GitProbeReadOnlyTests {
    /// Size, modification time and (for the index) bytes of every file and directory under a
    /// directory. Directory times catch a lock file that was created and removed again.
    struct Snapshot: Equatable {
        var files: [String: FileFacts]

        struct FileFacts: Equatable {
            var size: Int
            var modified: Date
            var bytes: Data?
        }

        init(of directory: URL, keepingBytesOf keep: Set<String>) throws {
            files = [:]
            let enumerator = FileManager.default.enumerator(
                at: directory,
                includingPropertiesForKeys: [.contentModificationDateKey, .fileSizeKey])
            let rootValues = try directory.resourceValues(forKeys: [.contentModificationDateKey])
            files["/"] = FileFacts(
                size: 0, modified: rootValues.contentModificationDate ?? .distantPast, bytes: nil)
            while let url = enumerator?.nextObject() as? URL {
                let relative = String(url.path.dropFirst(directory.path.count))
                let values = try url.resourceValues(forKeys: [
                    .contentModificationDateKey, .fileSizeKey, .isRegularFileKey, .isDirectoryKey,
                ])
                guard values.isRegularFile == true || values.isDirectory == true else { continue }
                files[relative] = FileFacts(
                    size: values.isDirectory == true ? 0 : values.fileSize ?? -1,
                    modified: values.contentModificationDate ?? .distantPast,
                    bytes: keep.contains(relative) ? try Data(contentsOf: url) : nil)
            }
        }
    }

    @Test("stale index stat data is not refreshed on disk", arguments: CountingMode.allCases)
    func staleIndexIsNotWritten(mode: CountingMode) throws {
        let fixture = try GitFixture()
        let project = try fixture.makeProject("readonly", files: Scenario.standardFiles)
        let feature = try fixture.addWorktree("feat-ro", branch: "feat/ro", to: project)
        let gitDirectory = project.trunk.appendingPathComponent(".git")
        // Let git settle its own index first (git status rewrites a racy index).
        #expect(try fixture.porcelainLineCount(in: project.trunk) == 0)
        #expect(try fixture.porcelainLineCount(in: feature) == 0)

        // Same content, new mtimes: every tracked file's stat data in the index is now stale,
        // the case where git itself would rewrite the index.
        let later = Date().addingTimeInterval(120)
        for tree in [project.trunk, feature] {
            for path in Scenario.standardFiles.keys {
                try FileManager.default.setAttributes(
                    [.modificationDate: later], ofItemAtPath: tree.appendingPathComponent(path).path
                )
            }
        }
        let indexFiles: Set<String> = ["/index", "/worktrees/feat-ro/index"]
        let before = try Snapshot(of: gitDirectory, keepingBytesOf: indexFiles)
        #expect(before.files["/index"]?.bytes != nil)
        #expect(before.files["/worktrees/feat-ro/index"]?.bytes != nil)

        let trunkState = try mode.probe.probe(path: project.trunk.path, defaultBranch: "main")
        let featureState = try mode.probe.probe(path: feature.path, defaultBranch: "main")

        let after = try Snapshot(of: gitDirectory, keepingBytesOf: indexFiles)
        #expect(after == before)
        #expect(!FileManager.default.fileExists(atPath: gitDirectory.path + "/index.lock"))
        #expect(trunkState.uncommittedFilesCount == 0)
        #expect(featureState.uncommittedFilesCount == 0)
        // And git agrees the content is unchanged.
        #expect(try fixture.porcelainLineCount(in: project.trunk) == 0)
    }

    @Test("probing a dirty worktree leaves .git untouched", arguments: CountingMode.allCases)
    func dirtyWorktreeIsNotWritten(mode: CountingMode) throws {
        let fixture = try GitFixture()
        let trunk = try fixture.makeProject("readonly", files: Scenario.standardFiles).trunk
        try fixture.write("changed\n", to: "README.md", in: trunk)
        try fixture.write("new\n", to: "new/file.txt", in: trunk)
        try fixture.git(["mv", "docs/guide.md", "docs/handbook.md"], in: trunk)
        let gitDirectory = trunk.appendingPathComponent(".git")
        let before = try Snapshot(of: gitDirectory, keepingBytesOf: ["/index"])

        let state = try mode.probe.probe(path: trunk.path, defaultBranch: "main")

        #expect(try Snapshot(of: gitDirectory, keepingBytesOf: ["/index"]) == before)
        #expect(state.uncommittedFilesCount == 3)
    }
}
