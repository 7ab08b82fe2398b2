import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// `reprobe` from a memory and the paths an operation touched must give exactly the count of
/// `git status --porcelain`, or refuse (then a full probe runs, as in the agent).
@Suite("Path-level recount agrees with the git CLI", .ownThreads)
struct IncrementalRecountTests {
    @Test("random operations: every recount equals git status --porcelain")
    func randomOperations() throws {
        let run = PropertyRun(defaultCases: 120)
        let probe = GitProbe()
        var recounted = 0
        var refused = 0
        for number in 0..<run.cases {
            let seed = run.seed(ofCase: number)
            var generator = SeededGenerator(seed: seed)
            let fixture = try GitFixture()
            let tree = try fixture.makeProject("p", files: WorktreeOperation.seedFiles).trunk
            var (state, memory) = try probe.probe(path: tree.path, defaultBranch: "main", remembering: true)
            var history: [String] = []
            for _ in 0..<8 {
                let operation = WorktreeOperation.random(in: tree, using: &generator)
                history.append(operation.description)
                let touched = try operation.apply(in: tree, fixture: fixture)
                var next: (state: WorktreeState, memory: StatusMemory?)?
                if case .paths(let paths) = touched, !paths.isEmpty, let known = memory {
                    if let answer = try probe.reprobe(
                        path: tree.path, after: state, memory: known,
                        changedPaths: Set(paths.map { Array($0.utf8) }))
                    {
                        next = (answer.state, answer.memory)
                        recounted += 1
                    } else {
                        refused += 1
                    }
                }
                if next == nil, touched == .paths([]) { next = (state, memory) }
                let answer = try next ?? probe.probe(path: tree.path, defaultBranch: "main", remembering: true)
                state = answer.state
                memory = answer.memory
                let expected = try fixture.oracleLineCount(in: tree) {
                    try probe.probe(path: tree.path, defaultBranch: "main").uncommittedFilesCount
                }.lines
                try #require(
                    state.uncommittedFilesCount == expected,
                    "seed \(seed) (IMI_PROPERTY_SEED=\(run.seed) case \(number)): \(history.joined(separator: "; "))")
                if let memory { #expect(memory.lines == state.uncommittedFilesCount) }
            }
        }
        // The property is only worth something if the path-level route is actually taken.
        #expect(recounted > run.cases)
        print("recount: \(recounted) path-level answers, \(refused) refused (full status), \(run.cases) cases, seed \(run.seed)")
    }

    @Test("a memory is what the status found: non-clean paths only, renames pinned")
    func memoryHoldsNonCleanPaths() throws {
        let fixture = try GitFixture()
        let tree = try fixture.makeProject("p", files: WorktreeOperation.seedFiles).trunk
        try fixture.write("changed\n", to: "src/a.txt", in: tree)
        try fixture.write("new\n", to: "new/x.txt", in: tree)
        try fixture.git(["mv", "docs/c.md", "docs/moved.md"], in: tree)
        try fixture.git(["rm", "--cached", "--quiet", "a.txt"], in: tree)

        let (state, memory) = try GitProbe().probe(path: tree.path, defaultBranch: "main", remembering: true)
        let remembered = try #require(memory)
        #expect(state.uncommittedFilesCount == (try fixture.porcelainLineCount(in: tree)))
        #expect(remembered.linesByPath == [
            Array("src/a.txt".utf8): 1, Array("new/".utf8): 1, Array("docs/moved.md".utf8): 1,
            Array("a.txt".utf8): 2,
        ])
        #expect(remembered.renamedPaths == [Array("docs/c.md".utf8), Array("docs/moved.md".utf8)])

        // Paths whose answer depends on more than themselves are refused.
        for refusedPath in ["docs/moved.md", "docs/c.md", "new/x.txt", "new/y.txt", ".gitignore", "src"] {
            #expect(
                try GitProbe().reprobe(
                    path: tree.path, after: state, memory: remembered, changedPaths: [Array(refusedPath.utf8)]) == nil,
                "\(refusedPath)")
        }
        // An index written since the memory was taken refuses everything.
        try fixture.git(["add", "src/b.txt"], in: tree)
        try fixture.write("again\n", to: "src/b.txt", in: tree)
        try fixture.git(["add", "src/b.txt"], in: tree)
        #expect(
            try GitProbe().reprobe(
                path: tree.path, after: state, memory: remembered, changedPaths: [Array("src/b.txt".utf8)]) == nil)
    }

    @Test("worktrees with submodules are never recounted path by path")
    func submodulesHaveNoMemory() throws {
        let fixture = try GitFixture()
        let library = try fixture.makeProject("lib")
        let tree = try fixture.makeProject("p").trunk
        try fixture.git(["-c", "protocol.file.allow=always", "submodule", "--quiet", "add", library.origin.path, "sub"], in: tree)
        let (_, memory) = try GitProbe().probe(path: tree.path, defaultBranch: "main", remembering: true)
        #expect(memory == nil)
    }
}
