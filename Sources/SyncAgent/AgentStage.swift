import Logging

/// One job of `run`'s agent, called by ``AgentLoop`` on its thread: it owns its state, says
/// when it next needs the loop, does what is due, forgets a worktree in one call, and counts
/// what it did. (The loop only waits and dispatches, as swift-nio's event loop does for its
/// channel handlers.)
package protocol AgentStage: AnyObject {
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
    package var keptWorktrees: Set<String> { [] }
    package func report(into statistics: inout AgentStatus.Statistics) {}
    package func reload(_ configuration: AgentConfiguration, at now: Duration) {}
}

/// What the stages share, on the loop's thread: the registry session, the table of
/// worktrees and their watch states, the configuration and the logger.
package final class AgentContext {
    package var configuration: AgentConfiguration
    package let logger: Logger
    package let session: RegistrySession
    package var worktrees = WorktreeTable()
    /// The first full sync is done (READY=1 sent).
    package var ready = false
    /// A shutdown was asked for.
    package var stopping = false

    package init(configuration: AgentConfiguration, logger: Logger, session: RegistrySession) {
        self.configuration = configuration
        self.logger = logger
        self.session = session
    }
}
