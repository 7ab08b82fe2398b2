import ServiceLifecycle
import UnixSignals

/// The agent as a swift-service-lifecycle service: SIGTERM/SIGINT start a graceful shutdown,
/// which the agent turns into "probe what is dirty, flush, stop". The loop itself runs on its
/// own thread (see ``AgentLoop/run()``).
struct AgentService: Service {
    let agent: AgentLoop

    func run() async throws {
        let inbox = agent.inbox
        await withGracefulShutdownHandler {
            await agent.run()
        } onGracefulShutdown: {
            inbox.post(.shutdown)
        }
    }
}

/// SIGHUP, as an async sequence of signals, becomes a reload request for the agent.
struct ReloadOnHangup: Service {
    let inbox: Inbox

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            inbox.post(.reload)
        }
    }
}
