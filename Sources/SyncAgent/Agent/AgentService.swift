import ServiceLifecycle

/// The agent as a swift-service-lifecycle service: SIGTERM/SIGINT start a graceful shutdown,
/// which the agent turns into "probe what is dirty, flush, stop".
struct AgentService: Service {
    let agent: BackgroundAgent

    func run() async throws {
        let inbox = agent.inbox
        await withGracefulShutdownHandler {
            await agent.run()
        } onGracefulShutdown: {
            inbox.post(.shutdown)
        }
    }
}
