/// A record as read from the log: a non-owning view into the reader's buffer.
///
/// `key`, `topic` and `payload` are valid only during the callback the record is passed to;
/// copy what you keep (``owned()``).
public struct LogRecord {
    public var partition: Int
    public var offset: Int64
    /// Event time in ms since the epoch, if the appender knew it.
    public var eventTime: Int64?
    /// When the record was appended (the topic's ``LogClock``), ms since the epoch.
    public var appendTime: Int64
    /// Application-defined flags, stored as given.
    public var attributes: UInt16
    public var key: UnsafeRawBufferPointer
    /// The source topic (for MQTT: the MQTT topic), UTF-8 as received.
    public var topic: UnsafeRawBufferPointer
    public var payload: UnsafeRawBufferPointer
    /// Size of the record's frame on disk.
    public var frameBytes: Int

    /// Parses a frame already checked by ``RecordFrame/check(_:available:)``.
    @inline(__always)
    init(frame p: UnsafeRawPointer, frameBytes: Int, partition: Int) {
        let keyCount = Int(RecordFrame.u16(p, RecordFrame.keyLengthField))
        let topicCount = Int(RecordFrame.u16(p, RecordFrame.topicLengthField))
        let payloadCount = Int(RecordFrame.u32(p, RecordFrame.payloadLengthField))
        let event = RecordFrame.i64(p, RecordFrame.eventTimeField)
        self.partition = partition
        self.offset = RecordFrame.i64(p, RecordFrame.offsetField)
        self.eventTime = event == RecordFrame.noEventTime ? nil : event
        self.appendTime = RecordFrame.i64(p, RecordFrame.appendTimeField)
        self.attributes = RecordFrame.u16(p, RecordFrame.attributesField)
        let keyStart = p + RecordFrame.headerBytes
        self.key = UnsafeRawBufferPointer(start: keyStart, count: keyCount)
        self.topic = UnsafeRawBufferPointer(start: keyStart + keyCount, count: topicCount)
        self.payload = UnsafeRawBufferPointer(start: keyStart + keyCount + topicCount, count: payloadCount)
        self.frameBytes = frameBytes
    }

    /// An owned copy.
    public func owned() -> OwnedLogRecord {
        OwnedLogRecord(
            partition: partition, offset: offset, eventTime: eventTime, appendTime: appendTime,
            attributes: attributes, key: Array(key), topic: Array(topic), payload: Array(payload)
        )
    }
}

/// An owned copy of a ``LogRecord``.
public struct OwnedLogRecord: Sendable, Hashable {
    public var partition: Int
    public var offset: Int64
    public var eventTime: Int64?
    public var appendTime: Int64
    public var attributes: UInt16
    public var key: [UInt8]
    public var topic: [UInt8]
    public var payload: [UInt8]

    public init(
        partition: Int, offset: Int64, eventTime: Int64?, appendTime: Int64, attributes: UInt16,
        key: [UInt8], topic: [UInt8], payload: [UInt8]
    ) {
        self.partition = partition
        self.offset = offset
        self.eventTime = eventTime
        self.appendTime = appendTime
        self.attributes = attributes
        self.key = key
        self.topic = topic
        self.payload = payload
    }
}

/// A record to append, with owned bytes. For appends without intermediate copies, build a
/// ``LogBatch`` from raw buffers instead.
public struct AppendRecord: Sendable, Hashable {
    /// Routing key: records with equal keys go to the same partition, in order.
    public var key: [UInt8]
    public var topic: [UInt8]
    public var payload: [UInt8]
    public var eventTime: Int64?
    public var attributes: UInt16
    /// Overrides key routing when set.
    public var partition: Int?

    public init(
        key: [UInt8], topic: [UInt8] = [], payload: [UInt8], eventTime: Int64? = nil,
        attributes: UInt16 = 0, partition: Int? = nil
    ) {
        self.key = key
        self.topic = topic
        self.payload = payload
        self.eventTime = eventTime
        self.attributes = attributes
        self.partition = partition
    }

    /// A record with UTF-8 key, topic and payload (convenient in tests and tools).
    public init(key: String, topic: String = "", payload: String, eventTime: Int64? = nil) {
        self.init(key: Array(key.utf8), topic: Array(topic.utf8), payload: Array(payload.utf8), eventTime: eventTime)
    }
}

/// A position in a topic.
public struct LogPosition: Sendable, Hashable, CustomStringConvertible {
    public var partition: Int
    public var offset: Int64
    public init(partition: Int, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
    public var description: String { "\(partition)@\(offset)" }
}
