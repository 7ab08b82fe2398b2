import Testing
import TestSupport

@testable import SyncAgent

/// The registry session's phases and actions, event by event, without a server or a clock.
@Suite("the registry session's state machine", .ownThreads)
struct RegistrySessionStateTests {
    private let backoff = Backoff(initial: .milliseconds(100), cap: .milliseconds(800))

    @Test("a first attempt is due at once; failures back off (warning once), success reports the return")
    func connecting() {
        var state = RegistrySessionState(backoff: backoff)
        #expect(state.tick(at: .zero) == .connect)
        #expect(state.connectFailed(at: .zero) == .reportUnreachable(firstFailure: true, retryIn: .milliseconds(100)))
        #expect(state.nextDeadline == .milliseconds(100))
        #expect(state.tick(at: .milliseconds(50)) == .none)
        #expect(state.tick(at: .milliseconds(100)) == .connect)
        #expect(state.connectFailed(at: .milliseconds(100)) == .reportUnreachable(firstFailure: false, retryIn: .milliseconds(200)))
        #expect(state.tick(at: .milliseconds(300)) == .connect)
        #expect(state.connectSucceeded() == .reportBack)
        #expect(state.isConnected)
        #expect(state.nextDeadline == nil)
    }

    @Test("a first connection says nothing; a lost one reconnects after the first delay")
    func lost() {
        var state = RegistrySessionState(backoff: backoff)
        _ = state.tick(at: .zero)
        #expect(state.connectSucceeded() == .none)
        #expect(state.lost(at: .seconds(5)) == .reportLost(retryIn: .milliseconds(100)))
        #expect(!state.isConnected)
        #expect(state.lost(at: .seconds(5)) == .none, "lost twice is one loss")
        #expect(state.tick(at: .seconds(5) + .milliseconds(100)) == .connect)
        #expect(state.connectFailed(at: .seconds(6)) == .reportUnreachable(firstFailure: false, retryIn: .milliseconds(200)))
    }

    @Test("refusals back off and are announced once; a read-only one opens a new session when due")
    func refusals() {
        var state = connected()
        #expect(state.refused(readOnly: false, at: .seconds(1)) == .reportRefused(first: true, retryIn: .milliseconds(100)))
        #expect(!state.refusedRowsDue(at: .seconds(1)))
        #expect(state.refused(readOnly: false, at: .seconds(2)) == .reportRefused(first: false, retryIn: .milliseconds(200)))
        #expect(state.refusedRowsDue(at: .seconds(2) + .milliseconds(200)))
        #expect(state.accepted() == .reportAccepted)
        #expect(state.accepted() == .none)

        #expect(state.refused(readOnly: true, at: .seconds(3)) == .reportRefused(first: true, retryIn: .milliseconds(100)))
        #expect(state.tick(at: .seconds(3)) == .none)
        #expect(state.tick(at: .seconds(3) + .milliseconds(100)) == .drop)
        #expect(state.tick(at: .seconds(3) + .milliseconds(100)) == .connect)
        #expect(state.connectSucceeded() == .none)
        // The refusal outlives the session: the rows are retried, and their acceptance said.
        #expect(state.refusedRowsDue(at: .seconds(4)))
        #expect(state.accepted() == .reportAccepted)
    }

    @Test("a busy registry holds writes back with backoff; the end of it is said once")
    func busy() {
        var state = connected()
        #expect(state.busy(at: .seconds(1)) == .reportBusy(first: true, retryIn: .milliseconds(100)))
        #expect(state.writesHeldBack(at: .seconds(1)))
        #expect(!state.writesHeldBack(at: .seconds(1) + .milliseconds(100)))
        #expect(state.busy(at: .seconds(2)) == .reportBusy(first: false, retryIn: .milliseconds(200)))
        #expect(state.nextDeadline == .seconds(2) + .milliseconds(200))
        #expect(state.notBusy() == .reportNotBusy)
        #expect(state.notBusy() == .none)
    }

    @Test("a reload with other settings drops and reconnects at once; refused rows are retried at once")
    func reload() {
        var state = connected()
        _ = state.refused(readOnly: false, at: .seconds(1))
        #expect(state.reload(settingsChanged: false, at: .seconds(1)) == .none)
        #expect(state.refusedRowsDue(at: .seconds(1)))
        #expect(state.reload(settingsChanged: true, at: .seconds(2)) == .drop)
        #expect(state.tick(at: .seconds(2)) == .connect)
        #expect(state.stop() == .none)
        #expect(state.tick(at: .seconds(9)) == .none)
        #expect(state.nextDeadline == nil)
    }

    private func connected() -> RegistrySessionState {
        var state = RegistrySessionState(backoff: backoff)
        _ = state.tick(at: .zero)
        _ = state.connectSucceeded()
        return state
    }
}
