import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// What `inspectRepository` refuses, and how it says so in one line.
extension RepositoryInspectionTests {
    @Test("a repository owned by another user is refused naming its owner, not a missing config value")
    func ownedByAnotherUser() throws {
        let git = try GitFixture()
        let repository = try git.initRepository("theirs")
        guard geteuid() == 0 else {
            // Without root nothing can be given away: the sentence itself.
            let sentence = GitProbeError.ownership(of: repository.path, currentUser: geteuid() &+ 1)
            #expect(sentence == "\(repository.path) is owned by another user (uid \(geteuid())); git refuses it unless listed in safe.directory")
            return
        }
        try capture("/bin/chown", ["-R", "65534", repository.path])
        let error = #expect(throws: GitProbeError.self) { try GitProbe().inspectRepository(at: repository.path) }
        #expect(error?.code == .ownedByAnotherUser)
        let line = error?.description ?? ""
        #expect(line.contains("\(repository.path) is owned by another user (uid 65534); git refuses it unless listed in safe.directory"), "\(line)")
        #expect(!line.contains("config value"), "\(line)")
        let refused = try git.gitResult(["--no-optional-locks", "status"], in: repository)
        #expect(refused.status != 0 && refused.standardError.contains("dubious ownership"), "git refuses it as well")
    }

    @Test("a 2 GB sparse file named .git is refused as too large, before libgit2 reads it")
    func hugeDotGitFile() throws {
        let git = try GitFixture()
        let directory = try git.directory("big")
        try SparseFile.create(directory.appendingPathComponent(".git").path, size: 2 << 30)
        let error = #expect(throws: GitProbeError.self) { try GitProbe().inspectRepository(at: directory.path) }
        #expect(error?.code == .fileTooLarge)
        #expect(error?.description.contains("\(directory.path)/.git is 2147483648 bytes, too large to be a git file") == true, "\(error?.description ?? "")")
        let refused = try git.gitResult(["--no-optional-locks", "status"], in: directory)
        #expect(refused.status != 0 && refused.standardError.contains("too large"), "git refuses it as well: \(refused.standardError)")
    }
}
