internal import CGit2

/// The `ignore` setting git applies to each submodule's worktree changes.
///
/// git takes `submodule.<name>.ignore` from the repository's config, then from `.gitmodules`,
/// then `diff.ignoreSubmodules`, then `none`. libgit2 1.5 reads only `.gitmodules`, so the
/// others are looked up here and passed explicitly.
final class SubmoduleIgnores {
    private let repository: GitRepository
    private let config: OpaquePointer?
    /// `.gitmodules` parsed on its own, needed only to tell "unset" from "none" there when
    /// `diff.ignoreSubmodules` could apply.
    private let gitmodules: OpaquePointer?
    private let diffDefault: git_submodule_ignore_t?

    init(repository: GitRepository) throws(GitProbeError) {
        self.repository = repository
        var snapshot: OpaquePointer?
        config = git_repository_config_snapshot(&snapshot, repository.handle) == 0 ? snapshot : nil
        diffDefault = Self.string(config, "diff.ignoreSubmodules").flatMap(Self.ignore(named:))

        var file: OpaquePointer?
        if diffDefault != nil, let workdir = git_repository_workdir(repository.handle),
            git_config_open_ondisk(&file, String(cString: workdir) + ".gitmodules") == 0
        {
            gitmodules = file
        } else {
            gitmodules = nil
        }
    }

    deinit {
        git_config_free(config)
        git_config_free(gitmodules)
    }

    /// The setting for the submodule at `path`; `GIT_SUBMODULE_IGNORE_UNSPECIFIED` lets libgit2
    /// use `.gitmodules` (or `none`).
    func setting(forSubmoduleAt path: [UInt8]) -> git_submodule_ignore_t {
        guard let name = submoduleName(at: path) else {
            return diffDefault ?? GIT_SUBMODULE_IGNORE_UNSPECIFIED
        }
        let key = "submodule.\(name).ignore"
        if let value = Self.string(config, key).flatMap(Self.ignore(named:)) { return value }
        guard let diffDefault else { return GIT_SUBMODULE_IGNORE_UNSPECIFIED }
        return Self.string(gitmodules, key).flatMap(Self.ignore(named:)) ?? diffDefault
    }

    /// The submodule's name (the `.gitmodules` section), which need not equal its path.
    private func submoduleName(at path: [UInt8]) -> String? {
        var submodule: OpaquePointer?
        let found = (path + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { name in
                git_submodule_lookup(&submodule, repository.handle, name.baseAddress) == 0
            }
        }
        guard found, let submodule else { return nil }
        defer { git_submodule_free(submodule) }
        return git_submodule_name(submodule).map { String(cString: $0) }
    }

    private static func string(_ config: OpaquePointer?, _ name: String) -> String? {
        guard let config else { return nil }
        var buffer = git_buf()
        guard git_config_get_string_buf(&buffer, config, name) == 0, let text = buffer.ptr else {
            return nil
        }
        defer { git_buf_dispose(&buffer) }
        return String(cString: text)
    }

    /// git's words for the setting; anything else is ignored (git warns and ignores it too).
    private static func ignore(named value: String) -> git_submodule_ignore_t? {
        switch value.lowercased() {
        case "none": GIT_SUBMODULE_IGNORE_NONE
        case "untracked": GIT_SUBMODULE_IGNORE_UNTRACKED
        case "dirty": GIT_SUBMODULE_IGNORE_DIRTY
        case "all": GIT_SUBMODULE_IGNORE_ALL
        default: nil
        }
    }
}
