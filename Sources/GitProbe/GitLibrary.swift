internal import CGit2

import Synchronization

/// Process-wide libgit2 set-up: initialise once, tuned for fast read-only probes.
public enum GitLibrary {
    /// Whether `git_libgit2_init()` ran; a lock rather than a lazy global so the call site
    /// decides when libgit2 starts.
    private static let isInitialized = Mutex(false)

    /// Calls `git_libgit2_init()` once per process and sets the global options the probe relies on.
    ///
    /// Idempotent and thread-safe. The executable calls it at start-up; `GitProbe.init()` calls
    /// it too, so a probe can never run against an uninitialised library.
    public static func initialize() {
        isInitialized.withLock { initialized in
            guard !initialized else { return }
            initialized = true
            // libgit2 keeps its own reference count; we never shut it down because probes may
            // run until the process exits.
            _ = git_libgit2_init()
            configureForReadOnlyProbes()
        }
    }

    /// Options that only make sense because the probe reads and never writes.
    private static func configureForReadOnlyProbes() {
        // Reading commits and trees for status and ahead/behind: skip re-hashing every object
        // read from the object database, as git does not re-hash objects it reads for status.
        _ = cgit2_opts_set_int(Int32(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION.rawValue), 0)
        // Only matters when creating objects, which a probe never does.
        _ = cgit2_opts_set_int(Int32(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION.rawValue), 0)
        _ = cgit2_opts_set_int(Int32(GIT_OPT_ENABLE_FSYNC_GITDIR.rawValue), 0)
        // `.keep` files only protect packs from repacking; checking them costs a stat per pack.
        _ = cgit2_opts_set_int(Int32(GIT_OPT_DISABLE_PACK_KEEP_FILE_CHECKS.rawValue), 1)
        // The object cache is process-wide and 256 MB by default; a probe needs the trees of
        // one status at a time, and a long-running agent must not grow towards that.
        _ = cgit2_opts_set_size(Int32(GIT_OPT_SET_CACHE_MAX_SIZE.rawValue), 32 * 1024 * 1024)
    }

    /// A level of libgit2's configuration search path.
    public enum ConfigLevel: Sendable {
        /// `/etc` (gitconfig).
        case system
        /// `$XDG_CONFIG_HOME/git` (config, ignore, attributes).
        case xdg
        /// `$HOME` (.gitconfig).
        case global

        fileprivate var rawValue: Int32 {
            switch self {
            case .system: Int32(GIT_CONFIG_LEVEL_SYSTEM.rawValue)
            case .xdg: Int32(GIT_CONFIG_LEVEL_XDG.rawValue)
            case .global: Int32(GIT_CONFIG_LEVEL_GLOBAL.rawValue)
            }
        }
    }

    /// The directories libgit2 reads the configuration of `level` from, as bytes; a change to
    /// a file there can change every worktree's status.
    public static func configSearchDirectories(level: ConfigLevel) -> [[UInt8]] {
        initialize()
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        guard cgit2_opts_get_search_path(level.rawValue, &buffer) == 0, let text = buffer.ptr else {
            return []
        }
        return PathBytes.of(text).split(separator: UInt8(ascii: ":")).map(Array.init)
    }
}
