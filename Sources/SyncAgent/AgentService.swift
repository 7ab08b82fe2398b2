import ServiceLifecycle
import UnixSignals

/// The agent as a swift-service-lifecycle service: SIGTERM/SIGINT start a graceful shutdown,
/// which the agent turns into "probe what is dirty, flush, stop". The loop itself runs on its
/// own thread (see ``AgentLoop/run()``).
package struct AgentService: Service {
    package let agent: AgentLoop

    package func run() async throws {
        let inbox = agent.inbox
        await withGracefulShutdownHandler {
            await agent.run()
        } onGracefulShutdown: {
            inbox.post(.shutdown)
        }
    }

    package init(agent: AgentLoop) {
        self.agent = agent
    }
}

/// SIGHUP, as an async sequence of signals, becomes a reload request for the agent.
package struct ReloadOnHangup: Service {
    package let inbox: Inbox

    package func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            inbox.post(.reload)
        }
    }

    package init(inbox: Inbox) {
        self.inbox = inbox
    }
}
