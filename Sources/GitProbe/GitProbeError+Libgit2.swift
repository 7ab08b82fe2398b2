internal import CGit2

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension GitProbeError {
    /// Builds an error from a failed libgit2 call, reading `git_error_last()` before anything
    /// else can overwrite it (it is per thread, so concurrent probes do not mix messages).
    static func libgit2(
        _ code: Code,
        path: String,
        operation: String,
        returnCode: Int32
    ) -> GitProbeError {
        var errorClass: Int32?
        var message: String?
        if let last = git_error_last() {
            errorClass = last.pointee.klass
            if let text = last.pointee.message {
                message = String(cString: text)
            }
        }
        var error = GitProbeError(
            code: code,
            path: path,
            operation: operation,
            libgit2Code: returnCode,
            libgit2Class: errorClass,
            libgit2Message: message
        )
        if let explanation = message.flatMap(Self.unsupportedFormat(libgit2Message:)) {
            error.code = .unsupportedFormat
            error.explanation = explanation
        }
        // libgit2 1.5.1 refuses a repository of another user with GIT_ENOTFOUND and the words
        // of the config lookup it failed ("config value 'safe.directory' was not found"), not
        // with GIT_EOWNER; both are said as what they are.
        if returnCode == GIT_EOWNER.rawValue
            || (returnCode == GIT_ENOTFOUND.rawValue && message?.contains("'safe.directory'") == true)
        {
            error.code = .ownedByAnotherUser
            error.explanation = ownership(of: path)
            error.libgit2Message = nil
        }
        return error
    }

    /// Who owns the repository at `path` (its top or its `.git`, whichever another user owns),
    /// as one clause: "/srv/repo is owned by another user (uid 65534); git refuses it unless
    /// listed in safe.directory".
    static func ownership(of path: String, currentUser: uid_t = geteuid()) -> String {
        let candidates = [path, path.hasSuffix("/") ? path + ".git" : path + "/.git"]
        for candidate in candidates {
            var info = stat()
            guard lstat(candidate, &info) == 0, info.st_uid != currentUser else { continue }
            return ownership(of: candidate, uid: info.st_uid)
        }
        return "\(path) is owned by another user; git refuses it unless listed in safe.directory"
    }

    static func ownership(of path: String, uid: uid_t) -> String {
        "\(path) is owned by another user (uid \(uid)); git refuses it unless listed in safe.directory"
    }

    /// What a libgit2 1.5 message says the repository uses that it cannot read, in git's
    /// terms and with the way out; `nil` for any other failure.
    ///
    /// libgit2 1.5 refuses `extensions.objectFormat = sha256` when opening and a sparse index
    /// (the `sdir` index extension, written with `index.sparse = true`) when reading the index.
    static func unsupportedFormat(libgit2Message message: String) -> String? {
        let lowered = message.lowercased()
        if lowered.contains("extensions.objectformat") {
            return "it uses SHA-256 object names (extensions.objectFormat = sha256), "
                + "which libgit2 1.5 cannot read; only SHA-1 repositories can be synced"
        }
        if lowered.contains("unsupported mandatory extension"), lowered.contains("sdir") {
            return "its index is a sparse index (index.sparse = true), which libgit2 1.5 "
                + "cannot read; turn it off there with `git sparse-checkout init --no-sparse-index`"
        }
        if let range = lowered.range(of: "unsupported extension name ") {
            let name = message[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
            return "it needs the repository extension \(name), which libgit2 1.5 does not know"
        }
        return nil
    }

    /// Like `libgit2(_:path:operation:returnCode:)`, choosing `.brokenRepository` when libgit2
    /// blames the repository's own data and `.libgit2` for everything else (I/O, memory, ...).
    static func classified(path: String, operation: String, returnCode: Int32) -> GitProbeError {
        let repositoryDataClasses: Set<UInt32> = [
            GIT_ERROR_REFERENCE.rawValue, GIT_ERROR_ZLIB.rawValue, GIT_ERROR_REPOSITORY.rawValue,
            GIT_ERROR_ODB.rawValue, GIT_ERROR_INDEX.rawValue, GIT_ERROR_OBJECT.rawValue,
            GIT_ERROR_TREE.rawValue, GIT_ERROR_CONFIG.rawValue, GIT_ERROR_WORKTREE.rawValue,
            GIT_ERROR_SUBMODULE.rawValue,
        ]
        var error = libgit2(.libgit2, path: path, operation: operation, returnCode: returnCode)
        if error.code == .libgit2, let errorClass = error.libgit2Class,
            repositoryDataClasses.contains(UInt32(errorClass))
        {
            error.code = .brokenRepository
        }
        return error
    }
}
