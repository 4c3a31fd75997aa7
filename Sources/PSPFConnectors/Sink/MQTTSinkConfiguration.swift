import PSPFMQTT

/// How an ``MQTTSink`` forwards an output topic. Every option is documented in `docs/ingest.md`.
///
/// ```swift
/// var sink = MQTTSinkConfiguration(name: "cloud", topic: try TopicTemplate("agg/{pipeline}/{key}"))
/// sink.qos = .atLeastOnce
/// sink.maxInflight = 128
/// ```
public struct MQTTSinkConfiguration: Sendable, Hashable {
    /// The sink's name; its delivered offset is the consumer group `sink.<name>` of the output topic.
    public var name: String
    /// Where each record goes.
    public var topic: TopicTemplate
    public var qos: MQTTQoS = .atLeastOnce
    public var retain = false
    /// Publishes awaiting acknowledgement at once (keep it ≤ the client's `maxInflightPublishes`).
    public var maxInflight = 64
    /// Records read from one partition per step.
    public var batchRecords = 256
    /// Pause before resending after a failed publish.
    public var retryDelay: Duration = .seconds(1)
    /// While busy, the delivered offset is committed at most this often (always when idle and on stop).
    public var commitInterval: Duration = .milliseconds(100)
    /// On stop, how long to wait for publishes in flight.
    public var drainTimeout: Duration = .seconds(5)
    /// Output partitions to forward; `nil` forwards all.
    public var partitions: [Int]?

    public init(name: String, topic: TopicTemplate) {
        self.name = name
        self.topic = topic
    }

    /// The consumer group holding the delivered offset.
    public var groupName: String { "sink." + name }

    func validate(partitionCount: Int) throws(ConnectorError) {
        func invalid(_ message: String) -> ConnectorError { ConnectorError(.invalidConfiguration, "sink '\(name)': \(message)") }
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= 190, allowed else {
            throw invalid("the name must be 1...190 of [A-Za-z0-9._-]")
        }
        guard maxInflight >= 1 else { throw invalid("maxInflight must be at least 1") }
        guard batchRecords >= 1 else { throw invalid("batchRecords must be at least 1") }
        guard retryDelay >= .zero, commitInterval >= .zero, drainTimeout >= .zero else {
            throw invalid("durations must not be negative")
        }
        if let partitions {
            guard !partitions.isEmpty, partitions.allSatisfy({ (0..<partitionCount).contains($0) }),
                Set(partitions).count == partitions.count
            else { throw invalid("partitions must be distinct and in 0..<\(partitionCount)") }
        }
    }
}

/// Counters of an MQTT sink: a `Sendable` snapshot.
public struct MQTTSinkStats: Sendable, Hashable {
    /// Publishes the broker acknowledged (QoS 0: written).
    public var published: Int64 = 0
    public var publishedBytes: Int64 = 0
    /// Publishes awaiting acknowledgement now.
    public var inflight = 0
    /// Publishes that failed (each leads to a resend).
    public var failures: Int64 = 0
    /// Rewinds after failures.
    public var retries: Int64 = 0
    /// Publishes the broker rejected (MQTT 5 reason ≥ 0x80): not retried.
    public var rejected: Int64 = 0
    /// Placeholders rendered as `_` because the result had no such field.
    public var unresolvedPlaceholders: Int64 = 0
    /// Records deleted (disk quota, `dropOldest`) before the sink delivered them.
    public var skippedByRetention: Int64 = 0
    /// Per partition, the end of the contiguous acknowledged prefix.
    public var deliveredOffsets: [Int: Int64] = [:]
    /// Per partition, the delivered offset committed to the consumer group (durable).
    public var committedOffsets: [Int: Int64] = [:]

    public init() {}
}
