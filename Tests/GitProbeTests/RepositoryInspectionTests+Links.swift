import Foundation
import GitProbe
import TestSupport
import Testing

/// Linked worktrees count only when the link holds both ways; `git worktree list` is the oracle
/// where it judges (it checks only that `gitdir` names something that exists).
extension RepositoryInspectionTests {
    @Test("forged administrative directories: /etc/.git is prunable as git says; an unrelated repository or another worktree's path is not linked")
    func forgedAdministrativeDirectories() throws {
        let git = try GitFixture()
        let project = try git.makeProject("api")
        let feature = try git.addWorktree("feat-a", branch: "feat/a", to: project)
        let other = try git.initRepository("elsewhere/other")
        let targets = ["system": "/etc", "unrelated": other.path, "another": feature.path]
        for (name, target) in targets {
            let administrative = project.trunk.appendingPathComponent(".git/worktrees/\(name)")
            try FileManager.default.createDirectory(at: administrative, withIntermediateDirectories: true)
            for (file, text) in [("HEAD", "ref: refs/heads/main\n"), ("commondir", "../..\n"), ("gitdir", target + "/.git\n")] {
                try Data(text.utf8).write(to: administrative.appendingPathComponent(file))
            }
        }
        let inspection = try GitProbe().inspectRepository(at: project.trunk.path)
        let byName = Dictionary(uniqueKeysWithValues: inspection.linked.map { ($0.administrativeName ?? "", $0) })
        #expect(byName["feat-a"]?.condition == .valid)
        let oracle = try Self.oracle(git, in: project.trunk)
        let gitPrunable = oracle.first { $0.path == "/etc" }?.prunable == true
        #expect(gitPrunable == !FileManager.default.fileExists(atPath: "/etc/.git"))
        if gitPrunable { #expect(byName["system"]?.condition == .prunable) }
        guard case .notLinked(let unrelated)? = byName["unrelated"]?.condition,
            case .notLinked(let another)? = byName["another"]?.condition
        else {
            Issue.record("not linked: \(String(describing: byName["unrelated"])) \(String(describing: byName["another"]))")
            return
        }
        #expect(unrelated == "\(other.path)/.git is the git directory of a repository of its own, not a link to \(project.trunk.path)/.git/worktrees/unrelated")
        #expect(another == "\(feature.path)/.git names \(project.trunk.path)/.git/worktrees/feat-a, not \(project.trunk.path)/.git/worktrees/another")
        #expect(!oracle.contains { $0.path == other.path && $0.prunable }, "git takes these at gitdir's word")
    }
}
