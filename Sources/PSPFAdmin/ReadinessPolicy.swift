/// The thresholds `/readyz` judges a ``DaemonStatus`` by (see ``Readiness``).
///
/// ```swift
/// var policy = ReadinessPolicy()
/// policy.sinkFailingLimit = .seconds(120)   // a flaky uplink is tolerated for two minutes
/// let verdict = Readiness(judging: status, policy: policy)
/// ```
public struct ReadinessPolicy: Sendable, Hashable {
    /// The last checkpoint may be at most `checkpointIntervals` × the checkpoint interval old…
    public var checkpointIntervals: Double
    /// …but never less than this, so a 1 s interval does not flap on one slow commit.
    public var checkpointAgeFloor: Duration
    /// A pipeline with no checkpoint yet is ready only this long after the daemon started.
    public var firstCheckpointGrace: Duration
    /// A sink may fail (retrying one batch) this long before the daemon is not ready.
    public var sinkFailingLimit: Duration
    /// Every source's broker must be connected.
    public var requireConnectedSources: Bool

    public init(
        checkpointIntervals: Double = 3, checkpointAgeFloor: Duration = .seconds(10),
        firstCheckpointGrace: Duration = .seconds(30), sinkFailingLimit: Duration = .seconds(60),
        requireConnectedSources: Bool = true
    ) {
        self.checkpointIntervals = checkpointIntervals
        self.checkpointAgeFloor = checkpointAgeFloor
        self.firstCheckpointGrace = firstCheckpointGrace
        self.sinkFailingLimit = sinkFailingLimit
        self.requireConnectedSources = requireConnectedSources
    }

    /// The oldest a last checkpoint may be, in milliseconds, for a checkpoint interval in seconds.
    public func checkpointAgeLimitMilliseconds(intervalSeconds: Double) -> Int64 {
        let scaled = Int64((intervalSeconds * checkpointIntervals * 1000).rounded(.up))
        return max(scaled, checkpointAgeFloor.wholeMilliseconds)
    }
}

extension Duration {
    /// Whole milliseconds (truncated).
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
