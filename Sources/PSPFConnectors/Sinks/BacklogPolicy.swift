/// What a sink does when its backlog (results in the output log it has not delivered yet)
/// exceeds its quota — for example during a long outage of the destination.
public enum BacklogPolicy: String, Sendable, Hashable, CaseIterable {
    /// Stop taking new results: the pipeline is paused (and through the input log's quota,
    /// ingest), so nothing is lost; the broker queues for the persistent session.
    case block
    /// Skip the oldest undelivered results to get back under the quota; every dropped result is
    /// counted and logged.
    case dropOldest = "drop_oldest"
}

/// A sink's backlog bound, in records of the output log.
public struct BacklogQuota: Sendable, Hashable {
    public var maxRecords: Int64
    public var policy: BacklogPolicy

    public init(maxRecords: Int64, policy: BacklogPolicy = .block) {
        self.maxRecords = maxRecords
        self.policy = policy
    }
}
