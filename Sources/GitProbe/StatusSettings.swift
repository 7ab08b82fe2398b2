internal import CGit2

/// The repository's config that changes what `git status --porcelain` prints.
///
/// git reads these on every `status`; libgit2's status ignores them, so the probe reads them
/// itself to keep counting the lines git would print.
struct StatusSettings: Equatable, Sendable {
    /// `status.showUntrackedFiles`.
    enum UntrackedFiles: Equatable, Sendable {
        /// Untracked files are not listed at all.
        case no
        /// An untracked directory is one line (git's default).
        case normal
        /// Every untracked file is its own line.
        case all
    }

    var untrackedFiles: UntrackedFiles = .normal
    /// `status.renames`, falling back to `diff.renames`; git's default is on.
    var detectsStagedRenames = true
    /// `core.ignoreCase`: paths differing only in case are one path, so a split by top-level
    /// name could see the same file twice.
    var ignoresCase = false

    /// Parses `status.showUntrackedFiles`; git 2.39 knows only these three words and refuses
    /// to run with any other, so anything else keeps the default.
    static func untrackedFiles(fromConfigValue value: String?) -> UntrackedFiles {
        switch value {
        case "no": .no
        case "all": .all
        default: .normal
        }
    }

    /// Parses `status.renames` / `diff.renames`: a boolean, or `copies`/`copy` (which also
    /// detects renames). `nil` means unset or unparsable, so the next setting decides.
    static func renames(fromConfigValue value: String?) -> Bool? {
        guard let value else { return nil }
        switch value.lowercased() {
        case "copies", "copy", "true", "yes", "on", "1": return true
        case "false", "no", "off", "0", "": return false
        default:
            // git also accepts any integer as a boolean.
            if let number = Int(value) { return number != 0 }
            return nil
        }
    }
}

/// How one status run reads HEAD and the index.
struct StatusPass: Sendable {
    /// `GIT_STATUS_SHOW_WORKDIR_ONLY` when the index's cache-tree says it holds HEAD's tree.
    var show: git_status_show_t = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
    /// False when the caller loaded the index itself (and checked it) just before.
    var refreshesIndex = true
}
