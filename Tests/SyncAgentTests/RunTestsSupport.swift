import Foundation
import Logging
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds` (generous:
/// tests assert the values reached, never how fast).
func eventually(
    _ what: String, seconds: Double = 20, _ condition: () throws -> Bool
) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    let final = try condition()
    if !final { Issue.record("timed out waiting for: \(what)") }
    return final
}

/// A thread-safe list of what a callback received.
final class Recorded<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Value] = []

    func append(_ value: Value) { lock.withLock { values.append(value) } }
    var all: [Value] { lock.withLock { values } }
}

/// A migrated registry database with helpers to register worktrees and read rows back.
struct TestRegistry {
    let settings: ConnectionSettings
    let connection: PostgresConnection

    init(settings: ConnectionSettings) throws {
        self.settings = settings
        connection = try PostgresConnection(settings: settings)
        _ = try SchemaMigrator(connection: connection).migrate()
    }

    static func make() throws -> TestRegistry {
        try TestRegistry(settings: try PostgresCluster.shared().createDatabase(prefix: "run"))
    }

    /// Registers a project; returns its id.
    func addProject(_ name: String, trunk: URL, defaultBranch: String = "main") throws -> String {
        try connection.execute(
            "INSERT INTO projects (name, trunk_path, default_branch) VALUES ($1, $2, $3) RETURNING id",
            [name, trunk.path, defaultBranch]
        ).string(0, 0)!
    }

    /// Registers a worktree of `project`; returns its id.
    func addWorktree(_ name: String, path: URL, project: String, branch: String = "main") throws -> String {
        try connection.execute(
            """
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
            VALUES ($1, (SELECT id FROM worktree_types WHERE name = 'feat'), $2, $3, $4)
            RETURNING id
            """,
            [project, name, branch, path.path]
        ).string(0, 0)!
    }

    struct Row: Equatable {
        var files: Int?
        var hash: String?
        var message: String?
        var synced: Bool
    }

    func row(_ id: String) throws -> Row {
        let result = try connection.execute(
            """
            SELECT uncommitted_files_count, last_commit_hash, last_commit_message, last_sync_at IS NOT NULL
            FROM worktrees WHERE id = $1
            """, [id])
        return Row(
            files: result.int(0, 0), hash: result.string(0, 1), message: result.string(0, 2),
            synced: result.bool(0, 3) ?? false)
    }
}

/// An agent running in a task, with fast timings, stopped by `stop()`.
final class RunningAgent: @unchecked Sendable {
    let agent: BackgroundAgent
    private let task: Task<Void, Never>

    let messages = Recorded<String>()

    init(
        settings: ConnectionSettings, configuration: AgentConfiguration = .fastForTests,
        watchLimit: Int? = nil, settingsOnReload: Recorded<ConnectionSettings>? = nil,
        legacyEnvironment: [String: String]? = nil
    ) {
        let messages = self.messages
        let echo = ProcessInfo.processInfo.environment["IMI_TEST_LOG"] != nil
        var logger = Logger(label: "imi-sync-test") { label in
            RecordingLogHandler(messages: messages, echo: echo ? JournalLogHandler(label: label, journal: false) : nil)
        }
        logger.logLevel = .debug
        let agent = BackgroundAgent(
            settings: settings, configuration: configuration,
            loadConfiguration: { configuration },
            loadConnectionSettings: settingsOnReload.map { box in
                { @Sendable in box.all.last ?? settings }
            },
            clock: ContinuousClock(), logger: logger,
            watchLimit: watchLimit, legacyEnvironment: legacyEnvironment)
        self.agent = agent
        task = Task.detached { await agent.run() }
    }

    var statistics: BackgroundAgent.Statistics { agent.currentStatistics }

    /// Posts a graceful shutdown and waits for the agent to finish.
    func stop() async {
        agent.inbox.post(.shutdown)
        await task.value
    }
}

extension AgentConfiguration {
    static var fastForTests: AgentConfiguration {
        var configuration = AgentConfiguration()
        configuration.settle = .milliseconds(40)
        configuration.maxDelay = .milliseconds(400)
        configuration.missingRecheck = .milliseconds(200)
        configuration.pollInterval = .milliseconds(300)
        configuration.reconnect = Backoff(initial: .milliseconds(100), cap: .milliseconds(500))
        return configuration
    }
}

/// Keeps every log message (level and text) so tests can check what the agent told people.
struct RecordingLogHandler: LogHandler {
    let messages: Recorded<String>
    let echo: JournalLogHandler?
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        messages.append("\(event.level): \(event.message)")
        echo?.log(event: event)
    }
}
