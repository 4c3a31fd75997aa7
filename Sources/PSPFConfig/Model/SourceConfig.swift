import PSPFJSON

/// `sources.<name>`: what the durable MQTT ingest subscribes to and how it stores messages in
/// the source's input log.
public struct SourceConfig: Sendable, Hashable {
    public var name: String
    /// `broker` (required): a name in `brokers`.
    public var broker: String
    /// `topics` (required): topic filters, wildcards allowed.
    public var topics: [String]
    /// `qos`: 0 or 1 (default 1).
    public var qos = 1
    /// `key`: the partitioning key of each record. Default: the whole topic.
    public var key: KeySelector = .topic
    /// `event_time`: a payload field with the event time, stored with each record.
    public var eventTime: TimestampField?
    /// `max_payload_bytes`, default 256 KiB: larger payloads are dead-lettered.
    public var maxPayloadBytes = 256 << 10
    /// `dedup`: dropping redelivered messages.
    public var dedup = DedupConfig()
    /// `log`: the input log.
    public var log = InputLogConfig()

    public init(name: String, broker: String, topics: [String]) {
        self.name = name
        self.broker = broker
        self.topics = topics
    }
}

/// Where a record's key comes from.
public enum KeySelector: Sendable, Hashable, CustomStringConvertible {
    /// The whole MQTT topic.
    case topic
    /// One level of the topic, from 0: segment 1 of `sensors/dev-7/reading` is `dev-7`.
    case topicSegment(Int)
    /// A payload field (a string, or a number's JSON text).
    case field(JSONFieldPath)

    public var description: String {
        switch self {
        case .topic: "topic"
        case .topicSegment(let n): "topic segment \(n)"
        case .field(let path): "field \(path)"
        }
    }
}

/// A payload field holding a timestamp, and how it is written.
public struct TimestampField: Sendable, Hashable, CustomStringConvertible {
    public var field: JSONFieldPath
    public var format: JSONTimestampFormat

    public init(field: JSONFieldPath, format: JSONTimestampFormat = .epoch(.milliseconds)) {
        self.field = field
        self.format = format
    }

    public var description: String { "\(field) (\(TimestampField.name(of: format)))" }

    static let formats: KeyValuePairs<String, JSONTimestampFormat> = [
        "epoch_ms": .epoch(.milliseconds), "epoch_s": .epoch(.seconds), "epoch_us": .epoch(.microseconds),
        "epoch_ns": .epoch(.nanoseconds), "rfc3339": .rfc3339,
    ]

    static func name(of format: JSONTimestampFormat) -> String {
        formats.first { $0.value == format }?.key ?? "\(format)"
    }
}

/// `sources.<name>.dedup`.
public struct DedupConfig: Sendable, Hashable {
    public enum Identity: Sendable, Hashable {
        /// `by: none` (default): nothing is de-duplicated.
        case none
        /// `by: event_time`: same topic, key and event time (needs `event_time`).
        case eventTime
        /// `by: payload`: byte-identical payloads on the same topic and key.
        case payload
        /// `by: field` with `field`: a message-id field of the payload.
        case field(JSONFieldPath)
    }
    public var by: Identity = .none
    /// `horizon`, default 10 min: how long a message is remembered.
    public var horizon: Duration = .seconds(60)
    /// `max_entries`, default 1,000,000.
    public var maxEntries = 100_000
    public init() {}
}

/// `sources.<name>.log`: the partitioned input log.
public struct InputLogConfig: Sendable, Hashable {
    /// `partitions`, default 4 (fixed once the log exists).
    public var partitions = 4
    /// `fsync`, default every 10 ms (group commit).
    public var fsync: FsyncConfig = .interval(.milliseconds(10))
    /// `segment_bytes`, default 64 MiB.
    public var segmentBytes = ByteSize(bytes: 64 << 20)
    /// `retention.max_bytes`.
    public var retentionBytes: ByteSize?
    /// `retention.max_age`.
    public var retentionAge: Duration?
    /// `disk_quota`: hard limit on the log's size on disk.
    public var diskQuota: ByteSize?
    /// `quota_policy`: `block` (default) or `drop_oldest`.
    public var quotaPolicy: QuotaPolicyConfig = .block
    public init() {}
}

/// When a log or file is fsync'd: `every` write batch, at most every `<duration>`, or `none`.
public enum FsyncConfig: Sendable, Hashable, CustomStringConvertible {
    case every
    case interval(Duration)
    case none

    public var description: String {
        switch self {
        case .every: "every"
        case .interval(let d): ConfigDuration.format(d)
        case .none: "none"
        }
    }
}

/// What happens when a disk quota is reached: `block` (backpressure, default) or
/// `drop_oldest` (delete the oldest data, counted and logged).
public enum QuotaPolicyConfig: String, Sendable, Hashable {
    case block
    case dropOldest = "drop_oldest"
}
