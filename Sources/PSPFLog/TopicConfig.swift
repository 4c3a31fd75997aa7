/// When the writer thread calls `fdatasync` on a partition's segment.
public enum FsyncPolicy: Sendable, Hashable, CustomStringConvertible {
    /// After every group of writes: a batch is durable when its append returns
    /// (``LogTopic/appendDurably(_:)``) or ``LogTopic/flush()`` returns.
    case every
    /// Group commit: written data is synced at most `milliseconds` after it was first written
    /// (and not more often than that). Power loss loses at most that window; a process crash
    /// loses nothing that was appended, since every batch is written to the page cache right away.
    case interval(milliseconds: Int)
    /// Never, except on segment roll, ``LogTopic/sync()`` and ``LogTopic/close()``. Data survives a
    /// process crash (it is written at once) but not power loss.
    case none

    public var description: String {
        switch self {
        case .every: "every"
        case .interval(let ms): "interval(\(ms)ms)"
        case .none: "none"
        }
    }
}

/// What an append does when the topic's disk quota is reached.
public enum QuotaPolicy: Sendable, Hashable {
    /// Reject the append with ``LogError/Code-swift.struct/quotaExceeded`` (backpressure). Unconsumed
    /// data is never deleted.
    case block
    /// Accept the append and delete the oldest closed segments until usage is under the quota,
    /// even if a consumer group has not read them; every record so dropped is counted and logged.
    case dropOldest
}

/// Retention of old segments. Only closed segments are deleted, whole, oldest first, and only
/// once every consumer group of the topic has committed an offset past their end.
public struct Retention: Sendable, Hashable {
    /// Keep the topic (all partitions, log and index files) under this many bytes.
    public var maxBytes: Int64?
    /// Delete segments whose newest record was appended longer ago than this.
    public var maxAge: Duration?

    public init(maxBytes: Int64? = nil, maxAge: Duration? = nil) {
        self.maxBytes = maxBytes
        self.maxAge = maxAge
    }

    /// Keep everything (the default).
    public static let unlimited = Retention()

    var maxAgeMilliseconds: Int64? {
        maxAge.map { $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 }
    }
}

/// The configuration of one topic.
///
/// ```swift
/// let config = TopicConfig(
///     partitions: 4,
///     segmentBytes: 64 << 20,
///     fsync: .interval(milliseconds: 1),
///     retention: Retention(maxBytes: 1 << 30, maxAge: .seconds(7 * 86_400)),
///     diskQuotaBytes: 2 << 30
/// )
/// ```
///
/// The partition count is stored in the topic directory and cannot change (it decides where a
/// key goes); every other value may change between opens.
public struct TopicConfig: Sendable, Hashable {
    /// Number of partitions, 1…65 535.
    public var partitions: Int
    /// A segment is rolled before it would exceed this size, 4 KiB … 1 GiB (a single record
    /// larger than this gets a segment of its own).
    public var segmentBytes: Int
    /// One sparse index entry per this many bytes of records, 64 B … 1 MiB.
    public var indexIntervalBytes: Int
    /// When appended data is fsync'd; see ``FsyncPolicy``.
    public var fsync: FsyncPolicy
    public var retention: Retention
    /// Hard limit on the topic's bytes on disk (log + index files of all partitions).
    public var diskQuotaBytes: Int64?
    public var quotaPolicy: QuotaPolicy
    /// Largest key + topic + payload of one record, at most ``RecordFrame/maxRecordBytes``.
    public var maxRecordBytes: Int
    /// Synchronous ``LogTopic/append(_:)`` blocks while more than this many bytes are waiting for
    /// the writer thread.
    public var maxPendingBytes: Int

    public init(
        partitions: Int = 1,
        segmentBytes: Int = 64 << 20,
        indexIntervalBytes: Int = 4096,
        fsync: FsyncPolicy = .interval(milliseconds: 1),
        retention: Retention = .unlimited,
        diskQuotaBytes: Int64? = nil,
        quotaPolicy: QuotaPolicy = .block,
        maxRecordBytes: Int = 1 << 20,
        maxPendingBytes: Int = 16 << 20
    ) {
        self.partitions = partitions
        self.segmentBytes = segmentBytes
        self.indexIntervalBytes = indexIntervalBytes
        self.fsync = fsync
        self.retention = retention
        self.diskQuotaBytes = diskQuotaBytes
        self.quotaPolicy = quotaPolicy
        self.maxRecordBytes = maxRecordBytes
        self.maxPendingBytes = maxPendingBytes
    }

    /// Throws ``LogError/Code-swift.struct/invalidConfig`` naming the first value out of range.
    public func validate() throws {
        func fail(_ message: String) throws -> Never { throw LogError(.invalidConfig, message) }
        if !(1...65_535).contains(partitions) { try fail("partitions must be 1...65535, got \(partitions)") }
        if !(4096...(1 << 30)).contains(segmentBytes) {
            try fail("segmentBytes must be 4096...\(1 << 30), got \(segmentBytes)")
        }
        if !(64...(1 << 20)).contains(indexIntervalBytes) {
            try fail("indexIntervalBytes must be 64...\(1 << 20), got \(indexIntervalBytes)")
        }
        if case .interval(let ms) = fsync, !(1...60_000).contains(ms) {
            try fail("fsync interval must be 1...60000 ms, got \(ms)")
        }
        if let maxBytes = retention.maxBytes, maxBytes <= 0 { try fail("retention.maxBytes must be > 0") }
        if let age = retention.maxAgeMilliseconds, age <= 0 { try fail("retention.maxAge must be > 0") }
        if let quota = diskQuotaBytes, quota <= 0 { try fail("diskQuotaBytes must be > 0") }
        if !(1...RecordFrame.maxRecordBytes).contains(maxRecordBytes) {
            try fail("maxRecordBytes must be 1...\(RecordFrame.maxRecordBytes), got \(maxRecordBytes)")
        }
        if maxPendingBytes < 64 << 10 { try fail("maxPendingBytes must be at least 65536") }
    }
}
