/// Exponential backoff with jitter for retrying a delivery: the delay before attempt `n + 1` is
/// `min(maxDelay, initialDelay × multiplierⁿ)`, then spread by ±`jitter` so that many gateways
/// recovering from the same outage do not retry in lockstep. A server's `Retry-After` wins
/// when it asks for longer.
///
/// ```swift
/// var policy = RetryPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(30))
/// policy.delay(afterAttempt: 3, randomUnit: 0.5)   // 1.6 s
/// ```
public struct RetryPolicy: Sendable, Hashable {
    public var initialDelay: Duration
    public var maxDelay: Duration
    public var multiplier: Double
    /// Relative spread, 0…1: a delay `d` becomes a value in `d × (1 − jitter) … d × (1 + jitter)`.
    public var jitter: Double
    /// Attempts in all, including the first; `nil` retries until the sink is stopped.
    public var maxAttempts: Int?

    public init(
        initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(30), multiplier: Double = 2,
        jitter: Double = 0.2, maxAttempts: Int? = nil
    ) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
        self.jitter = jitter
        self.maxAttempts = maxAttempts
    }

    /// The delay after failed attempt `attempt` (1 = the first), for a uniform random number
    /// `randomUnit` in 0..<1 (injected, so tests are deterministic).
    public func delay(afterAttempt attempt: Int, randomUnit: Double, retryAfter: Duration? = nil) -> Duration {
        let base = initialDelay.seconds * pow(multiplier, Double(max(0, attempt - 1)))
        let capped = min(base, maxDelay.seconds)
        let spread = capped * (1 + jitter * (2 * randomUnit - 1))
        let chosen = max(spread, retryAfter?.seconds ?? 0)
        return .milliseconds(Int64((chosen * 1000).rounded()))
    }

    /// Whether attempt `attempt` (1 = the first) may be followed by another.
    public func allowsRetry(afterAttempt attempt: Int) -> Bool {
        maxAttempts.map { attempt < $0 } ?? true
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(exponent)
    while remaining > 0 {
        result *= base
        remaining -= 1
        if result > 1e12 { break }  // far beyond any cap
    }
    return result
}
