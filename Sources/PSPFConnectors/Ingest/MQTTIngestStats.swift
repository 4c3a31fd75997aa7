/// Counters of a durable MQTT ingest since it started: a `Sendable` snapshot.
public struct MQTTIngestStats: Sendable, Hashable {
    /// Messages delivered by the MQTT client.
    public var received: Int64 = 0
    /// Their payload bytes.
    public var receivedBytes: Int64 = 0
    /// Messages appended to the input topic.
    public var appended: Int64 = 0
    /// Their payload bytes.
    public var appendedBytes: Int64 = 0
    /// Messages recognised as duplicates of a message already in the log: acknowledged, not appended.
    public var duplicates: Int64 = 0
    /// Messages written to the dead-letter topic (oversized payload, no key).
    public var deadLettered: Int64 = 0
    /// QoS 1/2 messages that could not be appended (disk quota, log failure): not
    /// acknowledged, so the broker redelivers them.
    public var rejected: Int64 = 0
    /// QoS 0 messages that could not be appended. QoS 0 has no redelivery: these are lost
    /// (and logged).
    public var droppedQoS0: Int64 = 0
    /// How many times reading was paused for backpressure.
    public var pauses: Int64 = 0
    /// Whether reading is paused now.
    public var isPaused = false
    /// Read phases (batches) handled.
    public var readPhases: Int64 = 0
    /// Blocking group-commit flushes (one per batch that held a QoS 1/2 message).
    public var flushes: Int64 = 0
    /// Batches that ended with an error: the connection was dropped before any of their
    /// acknowledgements were sent.
    public var failedPhases: Int64 = 0
    /// Fingerprints the de-duplication state holds now.
    public var dedupEntries = 0
    /// Fingerprints loaded from the log's tail at start.
    public var dedupEntriesRebuilt = 0

    public init() {}
}

/// Something the ingest did, for metrics, progress output and tests. Delivered synchronously
/// on the thread that caused it (usually the MQTT network thread): keep observers short.
public enum MQTTIngestEvent: Sendable, Hashable {
    /// A batch ended: `messages` delivered in it, `appended` of them appended; when `flushed`,
    /// the batch is durable and its acknowledgements are about to be written.
    case batchCompleted(messages: Int, appended: Int, flushed: Bool)
    /// A batch could not be completed; none of its messages is acknowledged.
    case batchFailed(messages: Int, error: String)
    /// Reading from the broker was paused (input topic at `usedBytes` of `quotaBytes`).
    case paused(usedBytes: Int64, quotaBytes: Int64)
    /// Reading resumed.
    case resumed(usedBytes: Int64, quotaBytes: Int64)
}

/// Decides when ingest pauses and resumes reading, from the input topic's disk usage against
/// its quota (a value-type state machine; the handler applies its actions).
struct IngestQuotaGate {
    enum Action: Equatable { case none, pause, resume }

    let pauseAt: Double
    let resumeBelow: Double
    private(set) var paused = false

    init(_ configuration: IngestBackpressure) {
        pauseAt = configuration.pauseAtFraction
        resumeBelow = configuration.resumeBelowFraction
    }

    /// Evaluates usage (`used` bytes incl. pending, against `quota`); `rejected` reports that an
    /// append just failed with a full quota, which pauses whatever the usage says.
    mutating func evaluate(used: Int64, quota: Int64?, rejected: Bool = false) -> Action {
        if rejected, !paused {
            paused = true
            return .pause
        }
        guard let quota, quota > 0 else {
            if paused {
                paused = false
                return .resume
            }
            return .none
        }
        let fraction = Double(used) / Double(quota)
        if !paused, fraction >= pauseAt {
            paused = true
            return .pause
        }
        if paused, !rejected, fraction <= resumeBelow {
            paused = false
            return .resume
        }
        return .none
    }
}
