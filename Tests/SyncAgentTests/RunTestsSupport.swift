import Foundation
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Synchronization
import Testing

@testable import SyncAgent
@testable import LinuxPlatform
@testable import WorktreeMembership

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
final class Recorded<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

extension RegistrySeeder {
    /// A fresh registry holding one project made in `fixture`, its trunk registered as a
    /// worktree; returns the registry, the project and the trunk's id.
    static func withTrunk(
        of name: String, in fixture: GitFixture
    ) throws -> (RegistrySeeder, GitFixture.Project, String) {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject(name)
        let projectID = try registry.addProject(name, trunk: project.trunk)
        return (registry, project, try registry.addWorktree("trunk-main", path: project.trunk, project: projectID))
    }
}

/// An agent running on its own thread, with fast timings, stopped by `stop()`.
final class RunningAgent: @unchecked Sendable {
    let agent: AgentLoop

    let messages = Recorded<String>()

    init(
        settings: ConnectionSettings, configuration: AgentConfiguration = .fastForTests,
        watchLimit: Int? = nil, settingsOnReload: Recorded<ConnectionSettings>? = nil,
        configurationOnReload: Recorded<AgentConfiguration>? = nil,
        legacyPath: String? = nil, host: HostScope = .forTests,
        pooling: PoolingMode = .auto, listenSettings: ConnectionSettings? = nil,
        versionPoll: Duration = .milliseconds(100), hubPath: String? = nil, metrics: AgentMetrics? = nil
    ) {
        let messages = self.messages
        let echo = ProcessInfo.processInfo.environment["IMI_TEST_LOG"] != nil
        var logger = Logger(label: "imi-sync-test") { label in
            RecordingLogHandler(messages: messages, echo: echo ? JournalLogHandler(label: label, journal: false) : nil)
        }
        logger.logLevel = .debug
        let agent = AgentLoop(
            settings: settings, configuration: configuration,
            loadConfiguration: { configurationOnReload?.all.last ?? configuration },
            loadConnectionSettings: settingsOnReload.map { box in
                { @Sendable in box.all.last ?? settings }
            },
            clock: ContinuousClock(), logger: logger,
            watchLimit: watchLimit, legacyPath: legacyPath, host: host, pooling: pooling,
            listenSettings: listenSettings, versionPoll: versionPoll, hubPath: hubPath, metrics: metrics)
        self.agent = agent
        agent.start()
    }

    var statistics: AgentLoop.Statistics { agent.currentStatistics }

    /// Posts a graceful shutdown and waits for the agent to finish.
    func stop() async {
        await agent.stop()
    }
}

/// Runs `body` with an agent and stops the agent afterwards, also when `body` throws: no test
/// leaves an agent thread running.
func withRunningAgent<T>(
    _ make: @autoclosure () -> RunningAgent, _ body: (RunningAgent) async throws -> T
) async throws -> T {
    let running = make()
    do {
        let value = try await body(running)
        await running.stop()
        return value
    } catch {
        await running.stop()
        throw error
    }
}

extension HostScope {
    /// The host tests run as, unless they name another.
    static let forTests = HostScope(name: "test-host")
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
