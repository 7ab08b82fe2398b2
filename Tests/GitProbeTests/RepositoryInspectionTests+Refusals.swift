import Foundation
import TestSupport
import Testing

import GitProbe

/// What `inspectRepository` refuses, and how it says so in one line.
extension RepositoryInspectionTests {
    @Test("a 2 GB sparse file named .git is refused as too large, before libgit2 reads it")
    func hugeDotGitFile() throws {
        let git = try GitFixture()
        let directory = try git.directory("big")
        try Self.sparseFile(directory.appendingPathComponent(".git").path, size: 2 << 30)
        let error = #expect(throws: GitProbeError.self) { try GitProbe().inspectRepository(at: directory.path) }
        #expect(error?.code == .fileTooLarge)
        #expect(error?.description.contains("\(directory.path)/.git is 2147483648 bytes, too large to be a git file") == true, "\(error?.description ?? "")")
        let refused = try git.gitResult(["--no-optional-locks", "status"], in: directory)
        #expect(refused.status != 0 && refused.standardError.contains("too large"), "git refuses it as well: \(refused.standardError)")
    }

    /// A file of `size` bytes holding no data blocks.
    static func sparseFile(_ path: String, size: Int) throws {
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw TestSupportError("open \(path) failed") }
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw TestSupportError("ftruncate \(path) failed") }
    }
}
