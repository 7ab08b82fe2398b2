import Foundation

/// A program started for a test with posix_spawn and reaped with waitpid.
///
/// Foundation's `Process.waitUntilExit()` was seen spinning forever at full CPU after its child
/// had exited; tests that start `imi-sync` (or anything long-lived) use this instead.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with `arguments` and exactly `environment`; standard input is
    /// /dev/null, standard output and error go to the given files (appended) or /dev/null.
    public init(
        _ executable: URL, _ arguments: [String], environment: [String: String],
        standardOutput: String = "/dev/null", standardError: String = "/dev/null"
    ) throws {
        BrokenPipes.ignore()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable.path, &actions, nil, argv, envp)
        guard result == 0 else {
            throw TestSupportError("cannot start \(executable.path): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Whether the child is still running (reaps it when it has exited).
    public var isRunning: Bool {
        reap(blocking: false)
        return status == nil && !reapedElsewhere
    }

    /// Waits up to `timeout` seconds; returns the exit code, or `nil` if it is still running
    /// or was killed by a signal (see ``terminatingSignal``).
    @discardableResult
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(5_000) }
        guard let status, status & 0x7f == 0 else { return nil }
        return (status >> 8) & 0xff
    }

    /// How a child ended, as seen by an asynchronous wait.
    public enum Exit: Equatable, Sendable {
        /// It exited with this code.
        case status(Int32)
        /// A signal ended it.
        case signal(Int32)
        /// Someone else in this process (Foundation's SIGCHLD handling for its own `Process`es)
        /// reaped it first: it has exited, its status is unknown.
        case reapedElsewhere
    }

    /// Waits up to `seconds` without blocking a thread; `nil` if it is still running. The
    /// deadline is checked once more after it passes, so a test task the cooperative pool ran
    /// late still sees an exit that happened in time.
    public func exit(within seconds: Double) async throws -> Exit? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, isRunning {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard !isRunning else { return nil }
        if reapedElsewhere { return .reapedElsewhere }
        if let code = terminatingSignal { return .signal(code) }
        return status.map { .status(($0 >> 8) & 0xff) }
    }

    /// The signal that ended the child, if one did.
    public var terminatingSignal: Int32? {
        guard let status, status & 0x7f != 0 else { return nil }
        return status & 0x7f
    }

    public var hasExited: Bool { !isRunning }

    private var reapedElsewhere = false

    private func reap(blocking: Bool) {
        guard status == nil, !reapedElsewhere else { return }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
        if result == pid { status = raw }
        if result == -1, errno == ECHILD { reapedElsewhere = true }
    }
}

/// The `imi-sync` binary built next to the test bundle.
public func imiSyncBinary() throws -> URL {
    let url = URL(fileURLWithPath: CommandLine.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("imi-sync")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw TestSupportError("imi-sync is not built at \(url.path); run `swift build` first")
    }
    return url
}
