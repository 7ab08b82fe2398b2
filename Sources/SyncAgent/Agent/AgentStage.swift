import Logging

/// One job of `run`'s agent, called by ``AgentLoop`` on its thread: it owns its state, says
/// when it next needs the loop, does what is due, forgets a worktree in one call, and counts
/// what it did. (The loop only waits and dispatches, as swift-nio's event loop does for its
/// channel handlers.)
protocol AgentStage: AnyObject {
    /// When the stage next needs the loop; `nil`: only when input arrives.
    var nextDeadline: Duration? { get }
    /// Does what is due at `now`.
    func runDue(at now: Duration)
    /// Forgets everything kept for the worktree (it left the registry).
    func forget(_ id: String)
    /// The worktrees the stage keeps anything for (tests check that forgetting forgets).
    var keptWorktrees: Set<String> { get }
    /// Adds the stage's counters to the agent's statistics.
    func report(into statistics: inout AgentStatus.Statistics)
    /// The configuration was reloaded (SIGHUP).
    func reload(_ configuration: AgentConfiguration, at now: Duration)
}

extension AgentStage {
    var keptWorktrees: Set<String> { [] }
    func report(into statistics: inout AgentStatus.Statistics) {}
    func reload(_ configuration: AgentConfiguration, at now: Duration) {}
}

/// What the stages share, on the loop's thread: the registry session, the table of
/// worktrees and their watch states, the configuration and the logger.
final class AgentContext {
    var configuration: AgentConfiguration
    let logger: Logger
    let session: RegistrySession
    var worktrees = WorktreeTable()
    /// The first full sync is done (READY=1 sent).
    var ready = false
    /// A shutdown was asked for.
    var stopping = false

    init(configuration: AgentConfiguration, logger: Logger, session: RegistrySession) {
        self.configuration = configuration
        self.logger = logger
        self.session = session
    }
}
