// The rows a checkpoint stores. All are plain values; bytes are `[UInt8]` because the engine's
// state encoding is not fixed yet (the store never looks inside keys, namespaces or values).

/// Identifies one piece of keyed operator state: a key's value in one namespace (for windows, the
/// encoded window) of one operator of one pipeline partition.
///
/// Equality and hashing compare the names as UTF-8 bytes, as SQLite does, not by Swift's Unicode
/// canonical equivalence: `"é"` precomposed and `"e\u{301}"` are two different pipelines.
public struct StateKey: Hashable, Sendable {
    public var pipeline: String
    public var partition: Int
    public var operatorID: String
    public var key: [UInt8]
    public var namespace: [UInt8]

    public init(pipeline: String, partition: Int, operatorID: String, key: [UInt8], namespace: [UInt8] = []) {
        self.pipeline = pipeline
        self.partition = partition
        self.operatorID = operatorID
        self.key = key
        self.namespace = namespace
    }

    public static func == (a: StateKey, b: StateKey) -> Bool {
        a.partition == b.partition && a.key == b.key && a.namespace == b.namespace
            && a.pipeline.utf8.elementsEqual(b.pipeline.utf8) && a.operatorID.utf8.elementsEqual(b.operatorID.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(partition)
        hasher.combine(key)
        hasher.combine(namespace)
        hasher.combine(pipeline.utf8.count)
        for byte in pipeline.utf8 { hasher.combine(byte) }
        hasher.combine(operatorID.utf8.count)
        for byte in operatorID.utf8 { hasher.combine(byte) }
    }
}

/// A state key with its value.
public struct StateEntry: Hashable, Sendable {
    public var key: StateKey
    public var value: [UInt8]

    public init(key: StateKey, value: [UInt8]) {
        self.key = key
        self.value = value
    }

    public init(
        pipeline: String, partition: Int, operatorID: String, key: [UInt8], namespace: [UInt8] = [], value: [UInt8]
    ) {
        self.init(
            key: StateKey(
                pipeline: pipeline, partition: partition, operatorID: operatorID, key: key, namespace: namespace),
            value: value
        )
    }
}

/// The next input offset to read for one (pipeline, topic, partition): everything before it is
/// reflected in the checkpointed state.
public struct InputOffset: Hashable, Sendable {
    public var pipeline: String
    public var topic: String
    public var partition: Int
    public var nextOffset: Int64

    public init(pipeline: String, topic: String, partition: Int, nextOffset: Int64) {
        self.pipeline = pipeline
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }
}

/// The end offset (one past the last record) of an output log partition at the checkpoint.
/// Recovery truncates the output log back to it.
public struct OutputLogEnd: Hashable, Sendable {
    public var topic: String
    public var partition: Int
    public var endOffset: Int64

    public init(topic: String, partition: Int, endOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.endOffset = endOffset
    }
}

/// A sink's delivered offset in its output log (the next record to deliver), plus an optional
/// opaque position in the sink's target (the file sink's byte offset, for exactly-once files).
public struct SinkOffset: Hashable, Sendable {
    public var sink: String
    public var deliveredOffset: Int64
    public var filePosition: [UInt8]?

    public init(sink: String, deliveredOffset: Int64, filePosition: [UInt8]? = nil) {
        self.sink = sink
        self.deliveredOffset = deliveredOffset
        self.filePosition = filePosition
    }
}

/// An ingest de-duplication entry: `key` from `source` was seen with this event time.
public struct DedupEntry: Hashable, Sendable {
    public var source: String
    public var key: [UInt8]
    public var eventTimeMs: Int64

    public init(source: String, key: [UInt8], eventTimeMs: Int64) {
        self.source = source
        self.key = key
        self.eventTimeMs = eventTimeMs
    }
}

/// Drops a source's dedup entries whose event time is before `horizonMs` (the horizon moves
/// forward with event time, so the table stays bounded).
public struct DedupPrune: Hashable, Sendable {
    public var source: String
    public var horizonMs: Int64

    public init(source: String, horizonMs: Int64) {
        self.source = source
        self.horizonMs = horizonMs
    }
}

// MARK: Ordering

// The order SQLite returns rows in: TEXT and BLOB compare as bytes (memcmp, then length), which
// is not Swift's `String <` (Unicode canonical ordering). The in-memory store sorts with these so
// both stores return identical sequences.

extension String {
    @inline(__always)
    static func bytewiseCompare(_ a: String, _ b: String) -> Int {
        if a.utf8.elementsEqual(b.utf8) { return 0 }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
    }
}

@inline(__always)
func bytewiseCompare(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a == b { return 0 }
    return a.lexicographicallyPrecedes(b) ? -1 : 1
}

@inline(__always)
func compare<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }

extension StateKey {
    /// Storage order: (pipeline, partition, operator, key, namespace), bytewise.
    static func storageOrder(_ a: StateKey, _ b: StateKey) -> Bool {
        var c = String.bytewiseCompare(a.pipeline, b.pipeline)
        if c == 0 { c = compare(a.partition, b.partition) }
        if c == 0 { c = String.bytewiseCompare(a.operatorID, b.operatorID) }
        if c == 0 { c = bytewiseCompare(a.key, b.key) }
        if c == 0 { c = bytewiseCompare(a.namespace, b.namespace) }
        return c < 0
    }
}
