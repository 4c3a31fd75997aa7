/// A non-owning view of one input record, as read from the input log or an MQTT callback.
///
/// Its buffers are valid only during the call it is passed to: operators must copy what they
/// keep (typically they decode the payload into a value right away, in a `tryMap`).
public struct InputRecord {
    /// The record's key bytes (for MQTT input: whatever the ingest chose, usually the device id).
    public var key: UnsafeRawBufferPointer
    /// The payload bytes as they arrived.
    public var payload: UnsafeRawBufferPointer
    /// The topic, UTF-8.
    public var topic: UnsafeRawBufferPointer
    /// The event time, if the source already knows it.
    public var eventTime: Timestamp?
    /// When the record was appended to the input log (processing time).
    public var appendTime: Timestamp
    /// The input partition.
    public var partition: Int
    /// The record's offset within its partition.
    public var offset: Int64

    public init(
        key: UnsafeRawBufferPointer,
        payload: UnsafeRawBufferPointer,
        topic: UnsafeRawBufferPointer,
        eventTime: Timestamp? = nil,
        appendTime: Timestamp,
        partition: Int,
        offset: Int64
    ) {
        self.key = key
        self.payload = payload
        self.topic = topic
        self.eventTime = eventTime
        self.appendTime = appendTime
        self.partition = partition
        self.offset = offset
    }

    /// The key decoded as UTF-8 (allocates; prefer working on the bytes in hot code).
    public var keyString: String { String(decoding: key, as: UTF8.self) }
    /// The topic decoded as UTF-8 (allocates).
    public var topicString: String { String(decoding: topic, as: UTF8.self) }
}
