import Foundation
import Glibc

/// A seeded generator (SplitMix64): the same seed gives the same operations, so a failing
/// case is replayed with `IMI_PROPERTY_SEED`.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// How many cases a property test runs and from which seed: `IMI_PROPERTY_CASES` and
/// `IMI_PROPERTY_SEED` override the defaults, and the seed is always in the failure message.
public struct PropertyRun: Sendable {
    public var cases: Int
    public var seed: UInt64

    public init(defaultCases: Int) {
        let environment = ProcessInfo.processInfo.environment
        cases = environment["IMI_PROPERTY_CASES"].flatMap(Int.init) ?? defaultCases
        seed = environment["IMI_PROPERTY_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max / 2)
    }

    /// The seed of case `number`, so one case can be replayed alone.
    public func seed(ofCase number: Int) -> UInt64 { seed &+ UInt64(number) &* 7919 }
}

/// Random operations on a worktree, as people and agents do them: file edits, creates,
/// deletes and renames (in tracked, untracked and ignored directories), directory changes,
/// `.gitignore` edits and git commands. Each says what a watcher would have seen: the file
/// paths it touched, or that only a full status can tell (directories, git commands).
public enum WorktreeOperation: Sendable, CustomStringConvertible {
    case write(path: String, contents: String)
    case delete(path: String)
    case rename(from: String, to: String)
    case makeDirectory(String)
    case removeDirectory(String)
    case writeGitignore(String)
    case git([String])

    /// What a watcher reports for the operation.
    public enum Touched: Sendable, Equatable {
        case paths(Set<String>)
        case everything
    }

    public var description: String {
        switch self {
        case .write(let path, let contents): "write \(path) (\(contents.count) bytes)"
        case .delete(let path): "rm \(path)"
        case .rename(let from, let to): "mv \(from) \(to)"
        case .makeDirectory(let path): "mkdir \(path)"
        case .removeDirectory(let path): "rm -r \(path)"
        case .writeGitignore(let contents): "write .gitignore \(contents.debugDescription)"
        case .git(let arguments): "git \(arguments.joined(separator: " "))"
        }
    }

    /// Directories the operations work in: tracked ones, one that starts untracked, one the
    /// seed `.gitignore` ignores, and the top level (`""`).
    public static let directories = ["", "src", "src/lib", "docs", "new", "new/deep", "build"]
    static let names = ["a.txt", "b.txt", "c.md", "d d.txt", "x.o"]

    /// The files a fresh worktree starts with, committed on the default branch.
    public static let seedFiles: [String: String] = [
        ".gitignore": "build/\n*.o\n",
        "a.txt": "a\n", "src/a.txt": "src a\n", "src/b.txt": "src b\n",
        "src/lib/a.txt": "lib a\n", "docs/c.md": "docs\n",
    ]

    /// One random operation on the worktree at `root`, valid for what is on disk now.
    public static func random(in root: URL, using generator: inout SeededGenerator) -> WorktreeOperation {
        let files = Self.files(in: root)
        let directory = directories.randomElement(using: &generator)!
        let path = (directory.isEmpty ? "" : directory + "/") + names.randomElement(using: &generator)!
        let contents = ["one\n", "two\n", "one\n", String(repeating: "z", count: Int.random(in: 1...40, using: &generator)) + "\n"]
            .randomElement(using: &generator)!
        let existing = files.randomElement(using: &generator)
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<30:
            // Mostly edits of what exists (the common case), else a new file.
            if let existing, Bool.random(using: &generator) { return .write(path: existing, contents: contents) }
            return .write(path: path, contents: contents)
        case 30..<40:
            if let existing { return .delete(path: existing) }
            return .write(path: path, contents: contents)
        case 40..<48:
            if let existing, existing != path { return .rename(from: existing, to: path) }
            return .write(path: path, contents: contents)
        case 48..<52: return .makeDirectory(directory.isEmpty ? "new" : directory)
        case 52..<55: return .removeDirectory(["new", "src/lib", "build", "new/deep"].randomElement(using: &generator)!)
        case 55..<59:
            return .writeGitignore(["build/\n*.o\n", "build/\n", "*.o\nnew/\n", "build/\n*.md\n"].randomElement(using: &generator)!)
        case 59..<67: return .git(["add", existing ?? path])
        case 67..<71: return .git(["add", "-A"])
        case 71..<75: return .git(["rm", "--cached", "--quiet", "--ignore-unmatch", existing ?? path])
        case 75..<80: return .git(["commit", "--quiet", "--allow-empty", "-m", "step"])
        case 80..<84: return .git(["commit", "--quiet", "-a", "--allow-empty", "-m", "all"])
        case 84..<88:
            let branch = ["side", "main", "other"].randomElement(using: &generator)!
            return .git(["checkout", "--quiet", "-B", branch])
        case 88..<91: return .git(["stash", "--quiet", "--include-untracked"])
        case 91..<93: return .git(["stash", "pop", "--quiet"])
        case 93..<97: return .git(["reset", "--quiet"])
        default: return .git(["reset", "--quiet", "--hard"])
        }
    }

    /// Applies the operation; git commands that refuse (nothing to pop, a conflict) are
    /// fine, they are what a user would have run.
    @discardableResult
    public func apply(in root: URL, fixture: GitFixture) throws -> Touched {
        let manager = FileManager.default
        func url(_ path: String) -> URL { root.appendingPathComponent(path) }
        switch self {
        case .write(let path, let contents):
            let parent = url(path).deletingLastPathComponent()
            let existed = manager.fileExists(atPath: parent.path)
            if isDirectory(url(path)) { return .everything }
            try manager.createDirectory(at: parent, withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: url(path))
            return existed ? .paths([path]) : .everything
        case .delete(let path):
            guard manager.fileExists(atPath: url(path).path), !isDirectory(url(path)) else { return .paths([]) }
            try manager.removeItem(at: url(path))
            return .paths([path])
        case .rename(let from, let to):
            guard manager.fileExists(atPath: url(from).path), !isDirectory(url(from)), !isDirectory(url(to)) else {
                return .paths([])
            }
            let parent = url(to).deletingLastPathComponent()
            let existed = manager.fileExists(atPath: parent.path)
            try manager.createDirectory(at: parent, withIntermediateDirectories: true)
            guard Glibc.rename(url(from).path, url(to).path) == 0 else { return .everything }
            return existed ? .paths([from, to]) : .everything
        case .makeDirectory(let path):
            try manager.createDirectory(at: url(path), withIntermediateDirectories: true)
            return .everything
        case .removeDirectory(let path):
            try? manager.removeItem(at: url(path))
            return .everything
        case .writeGitignore(let contents):
            try Data(contents.utf8).write(to: url(".gitignore"))
            return .paths([".gitignore"])
        case .git(let arguments):
            _ = try fixture.gitResult(arguments, in: root)
            return .everything
        }
    }

    /// Regular files under `root`, relative, outside `.git`.
    public static func files(in root: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        var files: [String] = []
        let prefix = root.path + "/"
        for case let url as URL in walker {
            if url.lastPathComponent == ".git" {
                walker.skipDescendants()
                continue
            }
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                url.path.hasPrefix(prefix)
            {
                files.append(String(url.path.dropFirst(prefix.count)))
            }
        }
        return files.sorted()
    }

    private func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }
}

extension GitFixture {
    /// The porcelain line count the random-operation tests compare with: git's, except while
    /// the index holds unmerged paths (a `stash pop` that conflicted), where git pairs a
    /// deleted file with an unmerged path's worktree file by rename detection and libgit2 does
    /// not (a known difference, pinned in KnownDivergenceTests); then `fullProbeCount`, so
    /// the path-level answers are still checked exactly against the full status.
    ///
    /// The full probe is the oracle too where libgit2's staged rename detection may pair what
    /// git does not: a staged deletion next to a staged addition (git scores similarity by
    /// copied bytes, libgit2 by its own signature; `KnownDivergenceTests` pins a small file that
    /// libgit2 pairs and git does not). The path-level recount is still held to the full probe.
    public func oracleLineCount(in worktree: URL, fullProbeCount: () throws -> Int) throws -> (lines: Int, fromGit: Bool) {
        let unmerged = try git(["ls-files", "--unmerged"], in: worktree)
        if !unmerged.isEmpty { return (try fullProbeCount(), false) }
        let lines = try git(["--no-optional-locks", "status", "--porcelain"], in: worktree)
            .split(separator: "\n", omittingEmptySubsequences: true)
        if lines.contains(where: { $0.hasPrefix("D ") }), lines.contains(where: { $0.hasPrefix("A ") }) {
            return (try fullProbeCount(), false)
        }
        return (lines.count, true)
    }
}

