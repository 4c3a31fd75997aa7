import PSPFJSON
import PSPFMQTT

/// What the durable MQTT ingest subscribes to and how it turns a message into a log record.
/// Every option is documented once, in `docs/ingest.md`.
///
/// ```swift
/// var ingest = MQTTIngestConfiguration(topicFilters: ["sensors/+/reading"], key: .topicSegment(1))
/// ingest.eventTime = EventTimeField("ts")                 // epoch ms (number) or RFC 3339 (string)
/// ingest.deduplication = Deduplication(identity: .keyAndEventTime, horizon: .seconds(600))
/// ingest.maxPayloadBytes = 64 << 10
/// ```
public struct MQTTIngestConfiguration: Sendable, Hashable {
    /// Topic filters to subscribe to (wildcards allowed; `$share/GROUP/…` for shared subscriptions).
    public var topicFilters: [String]
    /// The QoS to subscribe with. QoS 1 is the durable choice; see `docs/ingest.md` for why
    /// QoS 2 is weaker for a crashing consumer.
    public var qos: MQTTQoS = .atLeastOnce
    /// Where the record key (the partitioning key) comes from.
    public var key: IngestKey
    /// The payload field that holds the event time, stored in the record's `eventTime`.
    public var eventTime: EventTimeField?
    /// Which messages count as the same message, and for how long.
    public var deduplication = Deduplication()
    /// Larger payloads go to the dead-letter topic (reason `payload_too_large`).
    public var maxPayloadBytes: Int = 256 << 10
    /// When to stop and resume reading from the broker as the input topic fills its disk quota.
    public var backpressure = IngestBackpressure()
    /// The `pipeline` field of dead-letter envelopes written by the ingest.
    public var deadLetterSource: String = "ingest"

    public init(topicFilters: [String], qos: MQTTQoS = .atLeastOnce, key: IngestKey) {
        self.topicFilters = topicFilters
        self.qos = qos
        self.key = key
    }

    /// Throws ``ConnectorError/Code/invalidConfiguration`` naming the first invalid value.
    public func validate() throws(ConnectorError) {
        func invalid(_ message: String) -> ConnectorError { ConnectorError(.invalidConfiguration, message) }
        guard !topicFilters.isEmpty else { throw invalid("ingest: at least one topic filter is needed") }
        for filter in topicFilters where filter.isEmpty { throw invalid("ingest: empty topic filter") }
        if case .topicSegment(let index) = key, index < 0 {
            throw invalid("ingest: key topic segment must be 0 or more, got \(index)")
        }
        guard maxPayloadBytes >= 1 else { throw invalid("ingest: maxPayloadBytes must be at least 1") }
        try deduplication.validate()
        try backpressure.validate()
    }

    /// The payload fields the ingest reads (key, event time, message id), without repeats.
    var payloadFields: [JSONFieldPath] {
        var fields: [JSONFieldPath] = []
        func add(_ path: JSONFieldPath) { if !fields.contains(path) { fields.append(path) } }
        if case .payloadField(let path) = key { add(path) }
        if let eventTime { add(eventTime.path) }
        if case .payloadField(let path) = deduplication.identity { add(path) }
        return fields
    }
}

/// Where an ingested message's key comes from. The key routes the record to its partition
/// (`murmur2(key) % partitions`), so all readings of one device stay in order in one partition.
public enum IngestKey: Sendable, Hashable, CustomStringConvertible {
    /// A level of the MQTT topic, counted from 0: for `sensors/dev-7/reading`, segment 1 is `dev-7`.
    case topicSegment(Int)
    /// A payload field (a JSON string, or a number's JSON text): `"device"`, `"meta.device_id"`.
    case payloadField(JSONFieldPath)
    /// The whole topic name.
    case topic

    public var description: String {
        switch self {
        case .topicSegment(let index): "topic segment \(index)"
        case .payloadField(let path): "payload field '\(path)'"
        case .topic: "topic"
        }
    }
}

/// The payload field holding a message's event time.
public struct EventTimeField: Sendable, Hashable {
    public var path: JSONFieldPath
    /// How the field is written. `nil` (the default) accepts a JSON number as epoch
    /// milliseconds and a JSON string as RFC 3339; set it to read epoch seconds, for example.
    public var format: JSONTimestampFormat?

    public init(_ path: JSONFieldPath, format: JSONTimestampFormat? = nil) {
        self.path = path
        self.format = format
    }
}

/// De-duplication of redelivered messages over a bounded horizon (see `docs/ingest.md`).
///
/// Two messages are the same when they arrived on the same MQTT topic with the same key and the
/// same identity value (below). A message whose identity value is missing is never treated as a
/// duplicate: it is always appended.
public struct Deduplication: Sendable, Hashable {
    /// What identifies a message besides its MQTT topic and key.
    public enum Identity: Sendable, Hashable, CustomStringConvertible {
        /// The event time (``MQTTIngestConfiguration/eventTime``): one reading per device and
        /// millisecond. Messages without an event time are not de-duplicated.
        case keyAndEventTime
        /// A message-id field of the payload (its JSON text: a string's bytes or a number's digits).
        case payloadField(JSONFieldPath)
        /// The whole payload: byte-identical messages on one topic with one key are duplicates.
        case payloadBytes
        /// No de-duplication: every message is appended.
        case none

        public var description: String {
            switch self {
            case .keyAndEventTime: "key + event time"
            case .payloadField(let path): "key + payload field '\(path)'"
            case .payloadBytes: "key + payload bytes"
            case .none: "none"
            }
        }
    }

    public var identity: Identity
    /// How far back (in append time, not counting time the ingest was not running) a message is
    /// remembered.
    public var horizon: Duration
    /// At most this many messages are remembered (the newest); about 60 bytes of memory each.
    public var maxEntries: Int

    public init(identity: Identity = .keyAndEventTime, horizon: Duration = .seconds(600), maxEntries: Int = 1_000_000) {
        self.identity = identity
        self.horizon = horizon
        self.maxEntries = maxEntries
    }

    /// Nothing is de-duplicated.
    public static let disabled = Deduplication(identity: .none, horizon: .zero, maxEntries: 0)

    var isEnabled: Bool { identity != .none && maxEntries > 0 && horizon > .zero }

    var horizonMilliseconds: Int64 {
        horizon.components.seconds * 1000 + horizon.components.attoseconds / 1_000_000_000_000_000
    }

    func validate() throws(ConnectorError) {
        guard identity == .none || (horizon > .zero && maxEntries >= 1) else {
            throw ConnectorError(
                .invalidConfiguration,
                "ingest: deduplication needs a positive horizon and maxEntries ≥ 1 (or identity .none)")
        }
    }
}

/// Backpressure at ingest: reading from the broker pauses when the input topic's disk usage
/// reaches `pauseAtFraction` of its quota and resumes at or below `resumeBelowFraction`.
/// Messages that still arrive while paused are appended as long as they fit under the quota
/// itself. (With a quota and no size retention, the log deletes consumed segments down to
/// 90 % of the quota, hence the default resume threshold of 0.9.)
public struct IngestBackpressure: Sendable, Hashable {
    /// Pause reading at this share of the input topic's disk quota.
    public var pauseAtFraction: Double = 0.95
    /// Resume reading at or below this share.
    public var resumeBelowFraction: Double = 0.90
    /// How often a paused ingest asks the log to apply retention and checks the quota again.
    public var checkInterval: Duration = .milliseconds(250)

    public init(pauseAtFraction: Double = 0.95, resumeBelowFraction: Double = 0.90, checkInterval: Duration = .milliseconds(250)) {
        self.pauseAtFraction = pauseAtFraction
        self.resumeBelowFraction = resumeBelowFraction
        self.checkInterval = checkInterval
    }

    func validate() throws(ConnectorError) {
        guard resumeBelowFraction > 0, resumeBelowFraction < pauseAtFraction, pauseAtFraction <= 1 else {
            throw ConnectorError(
                .invalidConfiguration,
                "ingest: backpressure needs 0 < resumeBelowFraction < pauseAtFraction ≤ 1, got \(resumeBelowFraction) and \(pauseAtFraction)")
        }
        guard checkInterval > .zero else {
            throw ConnectorError(.invalidConfiguration, "ingest: backpressure checkInterval must be positive")
        }
    }
}
