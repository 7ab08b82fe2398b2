internal import CGit2

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
        return GitProbeError(
            code: code,
            path: path,
            operation: operation,
            libgit2Code: returnCode,
            libgit2Class: errorClass,
            libgit2Message: message
        )
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
        if let errorClass = error.libgit2Class, repositoryDataClasses.contains(UInt32(errorClass)) {
            error.code = .brokenRepository
        }
        return error
    }
}
