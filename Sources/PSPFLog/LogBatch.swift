/// A reusable batch of records, encoded once into one contiguous buffer.
///
/// Records are framed as they are added (one copy from the caller's buffers); appending the
/// batch copies the frames into the partition's write buffer, stamps offset and append time,
/// and the writer thread computes the CRCs and writes each partition's frames with one
/// `write`. Keep one batch per producer and ``removeAll()`` it after each append.
///
/// ```swift
/// var batch = LogBatch()
/// for reading in readings {
///     batch.append(key: reading.device, topic: reading.mqttTopic, payload: reading.bytes,
///                  eventTime: reading.timestamp)
/// }
/// let result = try await topic.appendDurably(batch)
/// batch.removeAll()
/// ```
public struct LogBatch: @unchecked Sendable {
    // Value semantics by copy-on-write of a private storage object (hence @unchecked Sendable).
    private var storage: Storage

    final class Storage {
        let frames: ByteBuffer
        /// One routing word per record: `explicitBit | partition`, `emptyKeyBit`, or the key hash.
        var routes: [UInt64]
        var maxRecordBytes = 0

        init(capacity: Int) {
            frames = ByteBuffer(capacity: capacity)
            routes = []
        }

        func copy() -> Storage {
            let other = Storage(capacity: frames.capacity)
            other.frames.append(frames.bytes)
            other.routes = routes
            other.maxRecordBytes = maxRecordBytes
            return other
        }
    }

    static let explicitBit: UInt64 = 1 << 63
    static let emptyKeyBit: UInt64 = 1 << 62

    /// An empty batch with room for `capacity` bytes of frames (it grows as needed).
    public init(capacity: Int = 64 << 10) {
        storage = Storage(capacity: capacity)
    }

    /// Number of records.
    public var count: Int { storage.routes.count }
    public var isEmpty: Bool { storage.routes.isEmpty }
    /// Encoded size of all frames.
    public var byteCount: Int { storage.frames.count }

    var frames: UnsafeRawBufferPointer { storage.frames.bytes }
    var routes: [UInt64] { storage.routes }
    var largestRecordBytes: Int { storage.maxRecordBytes }

    private mutating func unique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// Removes all records, keeping the buffer.
    public mutating func removeAll() {
        unique()
        storage.frames.count = 0
        storage.routes.removeAll(keepingCapacity: true)
        storage.maxRecordBytes = 0
    }

    /// Adds one record from raw buffers (copied once, into the batch).
    ///
    /// - Parameters:
    ///   - key: routing key (at most 65 535 bytes); an empty key is routed round-robin.
    ///   - topic: source topic, stored as given (at most 65 535 bytes).
    ///   - payload: the bytes as they arrived.
    ///   - eventTime: ms since the epoch, if known.
    ///   - attributes: application-defined flags.
    ///   - partition: overrides key routing.
    /// - Precondition: key and topic are at most 65 535 bytes. (Record size against the
    ///   topic's `maxRecordBytes` is checked when the batch is appended.)
    public mutating func append(
        key: UnsafeRawBufferPointer, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
        eventTime: Int64? = nil, attributes: UInt16 = 0, partition: Int? = nil
    ) {
        precondition(key.count <= 0xFFFF, "LogBatch: key longer than 65535 bytes")
        precondition(topic.count <= 0xFFFF, "LogBatch: topic longer than 65535 bytes")
        precondition(payload.count <= RecordFrame.maxRecordBytes, "LogBatch: payload larger than 64 MiB")
        unique()
        let frames = storage.frames
        let size = RecordFrame.frameBytes(keyCount: key.count, topicCount: topic.count, payloadCount: payload.count)
        let p = frames.reserve(size)
        RecordFrame.encode(
            into: p, offset: 0, eventTime: eventTime ?? RecordFrame.noEventTime, appendTime: 0,
            attributes: attributes, key: key, topic: topic, payload: payload
        )
        frames.count += size
        let route: UInt64
        if let partition {
            precondition(partition >= 0, "LogBatch: negative partition")
            route = Self.explicitBit | UInt64(partition)
        } else if key.isEmpty {
            route = Self.emptyKeyBit
        } else {
            route = UInt64(KeyHash.murmur2(key))
        }
        storage.routes.append(route)
        storage.maxRecordBytes = max(storage.maxRecordBytes, size - RecordFrame.headerBytes)
    }

    /// Adds one record.
    public mutating func append(_ record: AppendRecord) {
        record.key.withUnsafeBytes { key in
            record.topic.withUnsafeBytes { topic in
                record.payload.withUnsafeBytes { payload in
                    append(
                        key: key, topic: topic, payload: payload, eventTime: record.eventTime,
                        attributes: record.attributes, partition: record.partition
                    )
                }
            }
        }
    }

    /// Adds one record with UTF-8 key, topic and payload.
    public mutating func append(key: String, topic: String = "", payload: String, eventTime: Int64? = nil) {
        append(AppendRecord(key: key, topic: topic, payload: payload, eventTime: eventTime))
    }

    /// A batch holding `records`.
    public init(_ records: some Sequence<AppendRecord>) {
        self.init()
        for record in records { append(record) }
    }
}
