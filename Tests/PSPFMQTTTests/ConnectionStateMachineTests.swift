import Testing

@testable import PSPFMQTT

/// The reconnect state machine, driven with made-up instants (no clock, no sleeping) and
/// seeded jitter.
@Suite("Reconnect state machine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    let t0 = ContinuousClock.now

    func policy(jitter: Double = 0) -> MQTTReconnectPolicy {
        MQTTReconnectPolicy(
            initialDelay: .seconds(1), maximumDelay: .seconds(8), multiplier: 2, jitter: jitter,
            connectTimeout: .seconds(5), stableConnectionThreshold: .seconds(30))
    }

    /// A machine that connected at t0 and lost the connection at `lostAt`.
    func connectedThenLost(_ machine: inout Machine, lostAt: Duration) -> Machine.Action {
        #expect(machine.start(now: t0) == .connect(initial: true))
        #expect(machine.attemptSucceeded(now: t0) == .announceConnected)
        return machine.connectionLost(now: t0 + lostAt)
    }

    @Test("The initial attempt connects, or fails connect() without retrying")
    func initialAttempt() {
        var ok = Machine(policy: policy(), seed: 1)
        #expect(ok.start(now: t0) == .connect(initial: true))
        #expect(ok.nextDeadline == t0 + .seconds(5))
        #expect(ok.attemptSucceeded(now: t0 + .seconds(1)) == .announceConnected)
        #expect(ok.isConnected && ok.nextDeadline == nil)

        var failing = Machine(policy: policy(), seed: 1)
        _ = failing.start(now: t0)
        #expect(failing.attemptFailed(now: t0 + .milliseconds(3)) == .failInitialConnect)
        #expect(failing.state == .closed)
        #expect(failing.tick(now: t0 + .seconds(100)) == .none)
    }

    @Test(
        "Un-jittered delays grow by the multiplier up to the cap",
        arguments: [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (60, 8.0), (10_000, 8.0)])
    func baseDelays(attempt: Int, seconds: Double) {
        let machine = Machine(policy: policy(), seed: 0)
        #expect(machine.baseDelay(attempt: attempt) == .seconds(seconds))
    }

    @Test("Exponential backoff across failed attempts, driven by tick(now:)")
    func backoffSequence() {
        var machine = Machine(policy: policy(), seed: 7)
        var now = t0 + .seconds(100)
        #expect(connectedThenLost(&machine, lostAt: .seconds(100)) == .scheduleRetry(delay: .seconds(1), attempt: 1))
        var delays: [Duration] = []
        for _ in 0..<5 {
            guard case .waiting(_, let until) = machine.state else {
                Issue.record("expected waiting, got \(machine.state)")
                return
            }
            #expect(machine.nextDeadline == until)
            #expect(machine.tick(now: until - .milliseconds(1)) == .none)   // not yet
            now = until
            #expect(machine.tick(now: now) == .connect(initial: false))
            #expect(machine.isConnecting)
            guard case .scheduleRetry(let delay, _) = machine.attemptFailed(now: now) else {
                Issue.record("expected a retry")
                return
            }
            delays.append(delay)
        }
        #expect(delays == [.seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        guard case .waiting(let failures, _) = machine.state else { return }
        #expect(failures == 6)
    }

    @Test("Seeded jitter is reproducible and stays within [d × (1 − jitter), d]")
    func seededJitter() {
        func delays(seed: UInt64) -> [Duration] {
            var machine = Machine(policy: policy(jitter: 0.5), seed: seed)
            var result: [Duration] = []
            var action = connectedThenLost(&machine, lostAt: .seconds(60))
            var now = t0 + .seconds(60)
            for _ in 0..<8 {
                guard case .scheduleRetry(let delay, _) = action else { break }
                result.append(delay)
                now = now + delay
                _ = machine.tick(now: now)
                action = machine.attemptFailed(now: now)
            }
            return result
        }
        let first = delays(seed: 42)
        #expect(first == delays(seed: 42))
        #expect(first != delays(seed: 43))
        let bases: [Double] = [1, 2, 4, 8, 8, 8, 8, 8]
        for (delay, base) in zip(first, bases) {
            #expect(delay <= .seconds(base) && delay >= .seconds(base * 0.5), "\(delay) outside [\(base / 2), \(base)] s")
        }
    }

    @Test("A stable connection resets the backoff; a flapping one keeps escalating")
    func stableVersusFlapping() {
        var machine = Machine(policy: policy(), seed: 3)
        // Fail twice so the counter is at 3, then connect.
        _ = connectedThenLost(&machine, lostAt: .seconds(60))
        var now = t0 + .seconds(60)
        for _ in 0..<2 {
            now = machine.nextDeadline!
            _ = machine.tick(now: now)
            _ = machine.attemptFailed(now: now)
        }
        now = machine.nextDeadline!
        _ = machine.tick(now: now)
        #expect(machine.attemptSucceeded(now: now) == .announceConnected)
        // Dropped after 2 s (< 30 s): flapping, keep escalating.
        #expect(machine.connectionLost(now: now + .seconds(2)) == .scheduleRetry(delay: .seconds(8), attempt: 4))

        now = machine.nextDeadline!
        _ = machine.tick(now: now)
        _ = machine.attemptSucceeded(now: now)
        // Up for 30 s: stable, start over.
        #expect(machine.connectionLost(now: now + .seconds(30)) == .scheduleRetry(delay: .seconds(1), attempt: 1))
    }

    @Test("An attempt that passes its deadline is abandoned and retried")
    func connectTimeout() {
        var machine = Machine(policy: policy(), seed: 5)
        _ = connectedThenLost(&machine, lostAt: .seconds(60))
        let retryAt = machine.nextDeadline!
        #expect(machine.tick(now: retryAt) == .connect(initial: false))
        #expect(machine.nextDeadline == retryAt + .seconds(5))
        #expect(machine.tick(now: retryAt + .seconds(4)) == .none)
        #expect(machine.tick(now: retryAt + .seconds(5)) == .abandonAttempt)
        #expect(machine.attemptFailed(now: retryAt + .seconds(5)) == .scheduleRetry(delay: .seconds(2), attempt: 2))

        var initial = Machine(policy: policy(), seed: 5)
        _ = initial.start(now: t0)
        #expect(initial.tick(now: t0 + .seconds(5)) == .abandonAttempt)
        #expect(initial.attemptFailed(now: t0 + .seconds(5)) == .failInitialConnect)
    }

    @Test("stop() closes from every state; gracefully only when connected")
    func stop() {
        var connected = Machine(policy: policy(), seed: 1)
        _ = connected.start(now: t0)
        _ = connected.attemptSucceeded(now: t0)
        #expect(connected.stop() == .close(graceful: true))
        #expect(connected.stop() == .none)

        var waiting = Machine(policy: policy(), seed: 1)
        _ = connectedThenLost(&waiting, lostAt: .seconds(1))
        #expect(waiting.stop() == .close(graceful: false))
        #expect(waiting.nextDeadline == nil)
        #expect(waiting.tick(now: t0 + .seconds(1000)) == .none)

        var idle = Machine(policy: policy(), seed: 1)
        #expect(idle.stop() == .close(graceful: false))
        #expect(idle.start(now: t0) == .none)
    }

    @Test("Events that do not apply to the current state are ignored")
    func irrelevantEvents() {
        var machine = Machine(policy: policy(), seed: 1)
        #expect(machine.attemptSucceeded(now: t0) == .none)
        #expect(machine.connectionLost(now: t0) == .none)
        _ = machine.start(now: t0)
        #expect(machine.connectionLost(now: t0) == .none)
        _ = machine.attemptSucceeded(now: t0)
        #expect(machine.attemptFailed(now: t0) == .none)
        #expect(machine.start(now: t0) == .none)
    }
}
