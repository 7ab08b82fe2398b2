/// One path in a worktree's change set: how it differs between `merge-base(HEAD, trunk)` and
/// the tree `git add -A` would record for the working directory.
public struct PathChange: Sendable, Hashable, Comparable {
    public enum Kind: String, Sendable {
        case added, modified, deleted, typeChanged = "type_changed"
    }

    /// The path as git stores it (bytes: names need not be UTF-8).
    public var path: [UInt8]
    public var kind: Kind

    public init(path: [UInt8], kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// The path as text: itself when it is UTF-8, else git's quoted form (`"d\377"`), which
    /// names the same bytes without guessing a decoding.
    public var text: String { PathChange.text(of: path) }

    public static func text(of path: [UInt8]) -> String {
        if let text = String(validating: path, as: UTF8.self) { return text }
        var quoted = "\""
        for byte in path {
            switch byte {
            case UInt8(ascii: "\""): quoted += "\\\""
            case UInt8(ascii: "\\"): quoted += "\\\\"
            case 0x20..<0x7F: quoted.append(Character(Unicode.Scalar(byte)))
            default: quoted += "\\" + String(byte, radix: 8).leftPadded(to: 3)
            }
        }
        return quoted + "\""
    }

    public static func < (lhs: PathChange, rhs: PathChange) -> Bool {
        lhs.path.lexicographicallyPrecedes(rhs.path)
    }
}

/// A worktree's working state, built in a ``MergeSandbox``: what its change set is and the
/// tree it would commit, for merging with another worktree's.
public struct WorkingState: Sendable, Equatable {
    /// The worktree's top directory.
    public var worktreePath: String
    /// HEAD's commit; `nil` when unborn.
    public var headCommit: String?
    /// `merge-base(HEAD, trunk)`, the change set's starting point; HEAD without a trunk,
    /// `nil` (the empty tree) for an unborn HEAD or histories with no common commit.
    public var baseCommit: String?
    /// The tree `git add -A` would record (its object lives only in the sandbox).
    public var tree: String
    /// The change set, sorted by path.
    public var changes: [PathChange]
    /// The change set as it is stored and shown, sorted: like `git status`, a directory that
    /// is new (absent from the base tree) is one entry `dir/`, however many files it holds.
    public var listedChanges: [PathChange]
    /// Tracked paths whose working content the tree cannot hold: a FIFO, socket or device
    /// where a file was (`git add -A` refuses it, `git status` says modified). The tree keeps
    /// the index's entry; a merge involving such a path has no exact verdict.
    public var unreadablePaths: Set<[UInt8]> = []

    public var paths: Set<[UInt8]> { Set(changes.map(\.path)) }

    /// The entry of `listedChanges` that stands for `path`: itself, or the new directory
    /// holding it.
    public func listedEntry(for path: [UInt8]) -> [UInt8] {
        for change in listedChanges where change.path.last == UInt8(ascii: "/") {
            if path.starts(with: change.path) { return change.path }
        }
        return path
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

/// What a worktree's working directory adds to its index (`MergeSandbox.scan`): read on any
/// thread, turned into a ``WorkingState`` by a sandbox.
public struct WorkdirScan: Sendable {
    enum Edit: Sendable {
        case remove([UInt8])
        case add([UInt8], blob: FileBlob, mode: UInt32)
        /// A tracked path where something `git add` refuses now is (a FIFO, a socket).
        case unreadable([UInt8])
    }

    let worktreePath: String
    let indexPath: String
    /// The common git directory of the worktree's repository: the sandbox it is built in.
    public let commonDirectory: String
    let headCommit: String?
    let trunkCommit: String?
    let edits: [Edit]
}
