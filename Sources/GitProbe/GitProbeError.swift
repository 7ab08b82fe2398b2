/// Why a worktree could not be probed, with libgit2's own words when it was libgit2 that failed.
public struct GitProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; callers branch on this, people read `description`.
    public enum Code: String, Sendable, Equatable {
        /// Nothing exists at the path.
        case missingPath
        /// The path exists but is not the top of a non-bare git worktree.
        case notARepository
        /// A repository is there but git could not make sense of it (HEAD, refs or objects).
        case brokenRepository
        /// libgit2 failed for another reason (I/O, memory, permissions, ownership).
        case libgit2
        /// The repository uses a format libgit2 1.5 cannot read (SHA-256 object names, a
        /// sparse index); `explanation` names the git setting responsible.
        case unsupportedFormat
        /// The probe did not finish: it was blocked (opening a FIFO that never answers, a hung
        /// file system) and was given up so that other worktrees are not held up.
        case blocked
        /// A file git keeps small (`.git`, `gitdir`, `commondir`, `HEAD`) is too large to be one.
        case fileTooLarge
        /// The repository belongs to another user; git (and libgit2) refuse it unless it is
        /// listed in `safe.directory`.
        case ownedByAnotherUser
    }

    /// The kind of failure.
    public var code: Code
    /// The worktree path that was probed.
    public var path: String
    /// What the probe was doing, e.g. the libgit2 call that failed.
    public var operation: String
    /// libgit2's return code (`GIT_ENOTFOUND` is -3, ...), when libgit2 reported the failure.
    public var libgit2Code: Int32?
    /// libgit2's error class (`git_error_t`), when libgit2 reported one.
    public var libgit2Class: Int32?
    /// libgit2's error message, when it gave one.
    public var libgit2Message: String?
    /// What the repository uses that cannot be read and how to change it, for
    /// `.unsupportedFormat`.
    public var explanation: String?

    /// Creates an error; `GitProbe` fills the libgit2 fields from `git_error_last()`.
    public init(
        code: Code,
        path: String,
        operation: String,
        libgit2Code: Int32? = nil,
        libgit2Class: Int32? = nil,
        libgit2Message: String? = nil,
        explanation: String? = nil
    ) {
        self.code = code
        self.path = path
        self.operation = operation
        self.libgit2Code = libgit2Code
        self.libgit2Class = libgit2Class
        self.libgit2Message = libgit2Message
        self.explanation = explanation
    }

    /// One line: what failed, where, and libgit2's reason.
    public var description: String {
        var line = "\(summary) at \(path)"
        if let explanation { line += ": \(explanation)" }
        line += " (\(operation)"
        if let libgit2Code { line += ", code \(libgit2Code)" }
        if let libgit2Class { line += ", class \(libgit2Class)" }
        line += ")"
        if let libgit2Message, !libgit2Message.isEmpty {
            // libgit2 messages can span lines (e.g. config parse errors); keep the log one line.
            let flat = libgit2Message.split(whereSeparator: \.isNewline).joined(separator: " ")
            line += ": \(flat)"
        }
        return line
    }

    private var summary: String {
        switch code {
        case .missingPath: "no such path"
        case .notARepository: "not a git worktree"
        case .brokenRepository: "broken git repository"
        case .libgit2: "libgit2 failed"
        case .unsupportedFormat: "repository format libgit2 1.5 cannot read"
        case .blocked: "probe blocked"
        case .fileTooLarge: "not a git repository"
        case .ownedByAnotherUser: "repository refused"
        }
    }
}
