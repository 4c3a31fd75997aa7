#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The connection lifecycle as a value-type state machine: every event returns the action the
/// network loop must perform. It never reads a clock or sleeps: the loop passes `now`, and the
/// jitter comes from a seedable generator, so tests drive it with made-up instants.
///
/// ```
///  idle ──start──▶ connecting ──succeeded──▶ connected ──lost──▶ waiting ──tick ≥ until──▶ connecting
///                    │  ▲ failed/timed out (not initial)            ▲
///                    │  └──────────────── waiting ◀─────────────────┘
///                    └── failed/timed out (initial attempt) ──▶ closed (connect() throws)
///  any ──stop──▶ closed
/// ```
struct ConnectionStateMachine {
    typealias Instant = ContinuousClock.Instant

    enum State: Equatable {
        case idle
        /// `failures`: consecutive failed attempts before this one (0 for a fresh attempt).
        case connecting(initial: Bool, failures: Int, deadline: Instant)
        case connected(since: Instant, failures: Int)
        case waiting(failures: Int, until: Instant)
        case closed
    }

    enum Action: Equatable {
        case none
        /// Start a connection attempt (the initial one uses the blocking libmosquitto connect).
        case connect(initial: Bool)
        /// The CONNACK was a success: restore subscriptions, publish the birth message, report.
        case announceConnected
        /// The attempt in progress has passed its deadline: the loop abandons it and reports
        /// ``attemptFailed(now:)`` with a timeout error.
        case abandonAttempt
        /// Drop whatever is left of the socket and wait `delay` before attempt number `attempt`.
        case scheduleRetry(delay: Duration, attempt: Int)
        /// The initial connect failed: stop and make `connect()` throw.
        case failInitialConnect
        /// Stop the loop (after a graceful DISCONNECT when `graceful`).
        case close(graceful: Bool)
    }

    private(set) var state: State = .idle
    let policy: MQTTReconnectPolicy
    private var random: SplitMix64

    init(policy: MQTTReconnectPolicy, seed: UInt64) {
        self.policy = policy
        self.random = SplitMix64(seed: seed)
    }

    mutating func start(now: Instant) -> Action {
        guard case .idle = state else { return .none }
        state = .connecting(initial: true, failures: 0, deadline: now + policy.connectTimeout)
        return .connect(initial: true)
    }

    mutating func attemptSucceeded(now: Instant) -> Action {
        guard case .connecting(_, let failures, _) = state else { return .none }
        state = .connected(since: now, failures: failures)
        return .announceConnected
    }

    mutating func attemptFailed(now: Instant) -> Action {
        guard case .connecting(let initial, let failures, _) = state else { return .none }
        if initial {
            state = .closed
            return .failInitialConnect
        }
        return scheduleRetry(failures: failures + 1, now: now)
    }

    mutating func connectionLost(now: Instant) -> Action {
        guard case .connected(let since, let failures) = state else { return .none }
        let stable = now - since >= policy.stableConnectionThreshold
        return scheduleRetry(failures: stable ? 1 : failures + 1, now: now)
    }

    /// Time-driven transitions: the retry time arrived, or the attempt deadline passed.
    mutating func tick(now: Instant) -> Action {
        switch state {
        case .waiting(let failures, let until) where now >= until:
            state = .connecting(initial: false, failures: failures, deadline: now + policy.connectTimeout)
            return .connect(initial: false)
        case .connecting(_, _, let deadline) where now >= deadline:
            return .abandonAttempt
        default:
            return .none
        }
    }

    mutating func stop() -> Action {
        switch state {
        case .closed:
            return .none
        case .connected:
            state = .closed
            return .close(graceful: true)
        default:
            state = .closed
            return .close(graceful: false)
        }
    }

    /// The next instant at which ``tick(now:)`` may act, for the poll timeout.
    var nextDeadline: Instant? {
        switch state {
        case .connecting(_, _, let deadline): deadline
        case .waiting(_, let until): until
        default: nil
        }
    }

    var isConnecting: Bool { if case .connecting = state { true } else { false } }
    var isConnected: Bool { if case .connected = state { true } else { false } }

    /// The un-jittered delay before retry number `attempt` (1-based).
    func baseDelay(attempt: Int) -> Duration {
        let initial = policy.initialDelay.seconds
        let maximum = policy.maximumDelay.seconds
        let exponent = Double(max(0, attempt - 1))
        let grown = initial * pow(policy.multiplier, min(exponent, 1024))
        return .seconds(min(maximum, grown.isFinite ? grown : maximum))
    }

    private mutating func scheduleRetry(failures: Int, now: Instant) -> Action {
        let base = baseDelay(attempt: failures)
        let unit = Double(random.next() >> 11) / Double(1 << 53)   // uniform in [0, 1)
        let delay = base * (1 - policy.jitter * unit)
        state = .waiting(failures: failures, until: now + delay)
        return .scheduleRetry(delay: delay, attempt: failures)
    }
}

/// A small seedable generator (SplitMix64) for reproducible jitter.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
