import Foundation

/// A temporary directory for building git repositories with the git CLI, and the CLI's own
/// answers about them: the oracle that `GitProbe` is checked against.
///
/// Every git call runs the real `git` binary with an argument array (never a shell) and a fixed,
/// minimal environment: no system config, `HOME` inside the fixture, a fixed identity and
/// default branch, so a developer's own git config cannot change the answers. The directory is
/// removed when the fixture is released. A missing git binary is an error, never a skip.
public final class GitFixture: Sendable {
    /// The temporary directory everything is built in.
    public let root: URL
    /// The `HOME` git runs with; holds the fixture's `.gitconfig`.
    public let home: URL
    /// `init.defaultBranch` for repositories made here.
    public let defaultBranch: String
    private let gitExecutable: URL
    private let environment: [String: String]

    /// Creates an empty fixture directory with its own git `HOME`.
    public init(defaultBranch: String = "main") throws {
        BrokenPipes.ignore()
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("gitfixture-\(UUID().uuidString.prefix(8))", isDirectory: true)
            .resolvingSymlinksInPath()
        let home = root.appendingPathComponent(".home", isDirectory: true)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        self.root = root
        self.home = home
        self.defaultBranch = defaultBranch
        self.gitExecutable = try Self.locateGit()
        self.environment = Self.environment(home: home)
        try Self.globalConfig(defaultBranch: defaultBranch)
            .write(to: home.appendingPathComponent(".gitconfig"), atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    // MARK: Running git

    /// What one git invocation did.
    public struct CommandResult: Sendable {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
    }

    /// A git command that exited non-zero, with what was run and what git said.
    public struct CommandError: Error, CustomStringConvertible {
        public var arguments: [String]
        public var directory: String
        public var result: CommandResult

        public var description: String {
            "git \(arguments.joined(separator: " ")) in \(directory) exited \(result.status): "
                + result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Runs `git <arguments>` in `directory` and returns its standard output; throws on failure.
    @discardableResult
    public func git(_ arguments: [String], in directory: URL) throws -> String {
        let result = try gitResult(arguments, in: directory)
        guard result.status == 0 else {
            throw CommandError(arguments: arguments, directory: directory.path, result: result)
        }
        return result.standardOutput
    }

    /// Runs `git <arguments>` in `directory` and returns the outcome whatever the exit status.
    public func gitResult(
        _ arguments: [String], in directory: URL, extraEnvironment: [String: String] = [:]
    ) throws -> CommandResult {
        // Files, not pipes: a chatty git can never block on a full pipe while we wait for it.
        // `-C` instead of a working directory: posix_spawn has no portable chdir action.
        let outputURL = root.appendingPathComponent(".out-\(UUID().uuidString)")
        let errorURL = root.appendingPathComponent(".err-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: outputURL)
            try? FileManager.default.removeItem(at: errorURL)
        }
        let process = try ChildProcess(
            gitExecutable, ["-C", directory.path] + arguments,
            environment: environment.merging(extraEnvironment) { $1 },
            standardOutput: outputURL.path, standardError: errorURL.path)
        guard let status = process.waitForExit(timeout: 300) else {
            throw TestSupportError("git \(arguments.joined(separator: " ")) did not finish in \(directory.path)")
        }
        return CommandResult(
            status: status,
            standardOutput: String(decoding: (try? Data(contentsOf: outputURL)) ?? Data(), as: UTF8.self),
            standardError: String(decoding: (try? Data(contentsOf: errorURL)) ?? Data(), as: UTF8.self))
    }

    // MARK: Building repositories

    /// A directory `relativePath` under the fixture root, created with its parents.
    @discardableResult
    public func directory(_ relativePath: String) throws -> URL {
        let url = root.appendingPathComponent(relativePath, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `git init` of a new repository at `relativePath` under the root.
    public func initRepository(_ relativePath: String, branch: String? = nil) throws -> URL {
        let url = try directory(relativePath)
        try git(["init", "--quiet", "--initial-branch", branch ?? defaultBranch], in: url)
        return url
    }

    /// Writes `contents` to `path` (relative to `repository`), creating parent directories.
    public func write(_ contents: String, to path: String, in repository: URL) throws {
        let url = repository.appendingPathComponent(path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    /// Stages everything (`git add -A`) and commits with `message` verbatim; returns the hash.
    @discardableResult
    public func commitAll(_ message: String, in repository: URL) throws -> String {
        try git(["add", "-A"], in: repository)
        return try commit(message, in: repository)
    }

    /// Commits what is staged (or nothing) with `message` kept byte for byte.
    ///
    /// The message goes through a file with `--cleanup=verbatim`, so leading blank lines,
    /// indentation and CRs reach the commit object unchanged.
    @discardableResult
    public func commit(_ message: String, in repository: URL) throws -> String {
        let messageURL = root.appendingPathComponent(".msg-\(UUID().uuidString)")
        try Data(message.utf8).write(to: messageURL)
        defer { try? FileManager.default.removeItem(at: messageURL) }
        try git(
            [
                "commit", "--quiet", "--allow-empty", "--allow-empty-message", "--no-verify",
                "--cleanup=verbatim",
                "--file", messageURL.path,
            ], in: repository)
        return try revParseHEAD(in: repository) ?? ""
    }

    /// Commits with a message given as bytes, recorded as being in `encoding`
    /// (`git -c i18n.commitEncoding=…`, which writes an `encoding` header and converts nothing).
    @discardableResult
    public func commit(messageBytes: [UInt8], encoding: String, in repository: URL) throws -> String {
        let messageURL = root.appendingPathComponent(".msg-\(UUID().uuidString)")
        try Data(messageBytes).write(to: messageURL)
        defer { try? FileManager.default.removeItem(at: messageURL) }
        try git(
            [
                "-c", "i18n.commitEncoding=\(encoding)", "commit", "--quiet", "--allow-empty",
                "--no-verify", "--cleanup=verbatim", "--file", messageURL.path,
            ], in: repository)
        return try revParseHEAD(in: repository) ?? ""
    }

    /// A project laid out as the registry expects: a bare `origin`, the trunk clone
    /// `<name>/trunk-<default>` and room for sibling worktrees.
    public struct Project: Sendable {
        /// The bare repository the clones push to and fetch from.
        public var origin: URL
        /// `<root>/<name>`: the directory holding trunk and its sibling worktrees.
        public var directory: URL
        /// The trunk clone, `<directory>/trunk-<defaultBranch>`.
        public var trunk: URL
        public var defaultBranch: String
    }

    /// Makes a bare origin with one commit holding `files`, and clones its trunk.
    public func makeProject(
        _ name: String,
        defaultBranch: String? = nil,
        files: [String: String] = ["README.md": "hello\n"],
        message: String = "initial commit"
    ) throws -> Project {
        let branch = defaultBranch ?? self.defaultBranch
        let origin = try directory("origins/\(name).git")
        try git(["init", "--quiet", "--bare", "--initial-branch", branch], in: origin)

        let seed = try initRepository("seeds/\(name)", branch: branch)
        for (path, contents) in files.sorted(by: { $0.key < $1.key }) {
            try write(contents, to: path, in: seed)
        }
        try commitAll(message, in: seed)
        try git(["push", "--quiet", origin.path, "\(branch):\(branch)"], in: seed)

        let projectDirectory = try directory(name)
        let trunk = projectDirectory.appendingPathComponent("trunk-\(branch)", isDirectory: true)
        try git(["clone", "--quiet", origin.path, trunk.path], in: projectDirectory)
        return Project(
            origin: origin, directory: projectDirectory, trunk: trunk, defaultBranch: branch)
    }

    /// `git worktree add -b <branch> <project>/<name>` from trunk; returns the new worktree.
    public func addWorktree(
        _ name: String, branch: String, to project: Project, startPoint: String? = nil
    ) throws -> URL {
        let path = project.directory.appendingPathComponent(name, isDirectory: true)
        var arguments = ["worktree", "add", "--quiet", "-b", branch, path.path]
        if let startPoint { arguments.append(startPoint) }
        try git(arguments, in: project.trunk)
        return path
    }

    /// Commits `message` in a throwaway clone of `project.origin` and pushes it, moving the
    /// remote's default branch ahead of every existing clone.
    @discardableResult
    public func advanceOrigin(
        of project: Project, message: String, file: String = "upstream.txt"
    ) throws -> String {
        let clone = root.appendingPathComponent("pushers/\(UUID().uuidString.prefix(8))")
        try git(["clone", "--quiet", project.origin.path, clone.path], in: root)
        try write("\(message)\n", to: file, in: clone)
        let hash = try commitAll(message, in: clone)
        try git(["push", "--quiet", "origin", "HEAD:\(project.defaultBranch)"], in: clone)
        return hash
    }

    // MARK: Oracle answers

    /// The number of lines `git status --porcelain` prints in `worktree`.
    ///
    /// `--no-optional-locks`: a plain `git status` refreshes and rewrites the index, an event
    /// a watcher sees, so asking the oracle would itself make the agent look again.
    public func porcelainLineCount(in worktree: URL) throws -> Int {
        try git(["--no-optional-locks", "status", "--porcelain"], in: worktree)
            .split(separator: "\n", omittingEmptySubsequences: true).count
    }

    /// `git rev-list --count <range>`.
    public func revListCount(_ range: String, in worktree: URL) throws -> Int {
        let output = try git(["rev-list", "--count", range], in: worktree)
        guard let count = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CommandError(
                arguments: ["rev-list", "--count", range], directory: worktree.path,
                result: CommandResult(
                    status: 0, standardOutput: output, standardError: "not a count"))
        }
        return count
    }

    /// `git log -1 --format=%s`, exactly (only git's own line terminator removed); `nil` when
    /// HEAD has no commit.
    public func subject(in worktree: URL) throws -> String? {
        guard try revParseHEAD(in: worktree) != nil else { return nil }
        var output = try git(["log", "-1", "--format=%s"], in: worktree)
        if output.hasSuffix("\n") { output.removeLast() }
        return output
    }

    /// `git rev-parse HEAD`; `nil` when HEAD has no commit (unborn branch).
    public func revParseHEAD(in worktree: URL) throws -> String? {
        try resolve("HEAD", in: worktree)
    }

    /// The commit `revision` names, or `nil` when git cannot resolve it.
    public func resolve(_ revision: String, in worktree: URL) throws -> String? {
        let result = try gitResult(
            ["rev-parse", "--verify", "--quiet", "\(revision)^{commit}"], in: worktree)
        guard result.status == 0 else { return nil }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `git symbolic-ref --short HEAD`; `nil` when HEAD is detached.
    public func currentBranch(in worktree: URL) throws -> String? {
        let result = try gitResult(["symbolic-ref", "--quiet", "--short", "HEAD"], in: worktree)
        guard result.status == 0 else { return nil }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The git state REGISTRY.md defines, computed with the git CLI only.
    public struct CLIState: Sendable, Equatable, CustomStringConvertible {
        public var uncommittedFilesCount: Int
        public var aheadOfTrunk: Int?
        public var behindTrunk: Int?
        public var lastCommitHash: String?
        public var lastCommitMessage: String?
        /// The trunk ref counted against, e.g. `refs/remotes/origin/HEAD`.
        public var trunkRef: String?
        public var branch: String?

        public var description: String {
            "count=\(uncommittedFilesCount) ahead=\(aheadOfTrunk.map(String.init) ?? "nil") "
                + "behind=\(behindTrunk.map(String.init) ?? "nil") "
                + "hash=\(lastCommitHash ?? "nil") subject=\(lastCommitMessage.debugDescription) "
                + "trunk=\(trunkRef ?? "nil") branch=\(branch ?? "nil")"
        }
    }

    /// Trunk = origin/HEAD if it resolves, else origin/<default>, else local <default>; ahead and
    /// behind are `nil` without a trunk or without a HEAD commit.
    public func cliState(of worktree: URL, defaultBranch: String) throws -> CLIState {
        let head = try revParseHEAD(in: worktree)
        var state = CLIState(
            uncommittedFilesCount: try porcelainLineCount(in: worktree),
            lastCommitHash: head,
            lastCommitMessage: try subject(in: worktree),
            branch: try currentBranch(in: worktree))
        guard head != nil else { return state }
        let candidates = [
            "refs/remotes/origin/HEAD", "refs/remotes/origin/\(defaultBranch)",
            "refs/heads/\(defaultBranch)",
        ]
        for candidate in candidates {
            guard try resolve(candidate, in: worktree) != nil else { continue }
            state.trunkRef = candidate
            state.aheadOfTrunk = try revListCount("\(candidate)..HEAD", in: worktree)
            state.behindTrunk = try revListCount("HEAD..\(candidate)", in: worktree)
            break
        }
        return state
    }

    // MARK: Set-up details

    private static func locateGit() throws -> URL {
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in searchPath.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("git")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw CommandError(
            arguments: [], directory: searchPath,
            result: CommandResult(
                status: -1, standardOutput: "",
                standardError: "git not found on PATH; GitFixture needs the git CLI"))
    }

    /// Built from scratch rather than inherited: a GIT_DIR or GIT_INDEX_FILE left in the
    /// environment (say, by a hook running the tests) would redirect every command.
    private static func environment(home: URL) -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": home.path,
            "XDG_CONFIG_HOME": home.appendingPathComponent(".config").path,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Fixture Author",
            "GIT_AUTHOR_EMAIL": "author@fixture.invalid",
            "GIT_COMMITTER_NAME": "Fixture Committer",
            "GIT_COMMITTER_EMAIL": "committer@fixture.invalid",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "TZ": "UTC",
        ]
    }

    private static func globalConfig(defaultBranch: String) -> String {
        """
        [user]
        \tname = Fixture Author
        \temail = author@fixture.invalid
        [init]
        \tdefaultBranch = \(defaultBranch)
        [commit]
        \tgpgSign = false
        [gc]
        \tauto = 0
        [maintenance]
        \tauto = false
        [advice]
        \tdetachedHead = false
        [protocol "file"]
        \tallow = always

        """
    }
}
