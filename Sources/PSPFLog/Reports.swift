/// What opening a topic found and repaired, per partition. Anything other than a clean open is
/// also logged as a warning.
public struct RecoveryReport: Sendable, Hashable {
    public var partitions: [PartitionRecovery]

    /// True if no tail was truncated, no corrupt region found and no index rebuilt.
    public var isClean: Bool { partitions.allSatisfy(\.isClean) }
    /// Bytes cut from torn or corrupt tails.
    public var truncatedBytes: Int { partitions.reduce(0) { $0 + $1.truncatedBytes } }
    /// Records lost in mid-segment corruption.
    public var skippedRecords: Int64 { partitions.reduce(0) { $0 + $1.skippedRecords } }
    public var corruptRegions: [CorruptRegion] { partitions.flatMap(\.corruptRegions) }
}

/// Recovery of one partition. Only the last (active) segment is scanned on open: older segments
/// were fsync'd when they were rolled; corruption in them is caught by readers and ``LogTopic/verify()``.
public struct PartitionRecovery: Sendable, Hashable {
    public var partition: Int
    public var segments: Int
    public var startOffset: Int64
    public var endOffset: Int64
    /// Valid records found in the scanned (last) segment.
    public var scannedRecords: Int
    /// Bytes after the last valid frame not followed by any valid frame: a torn write or a
    /// corrupt tail. Truncated (unless opened read-only).
    public var truncatedBytes: Int
    /// Mid-segment corruption: bad bytes followed by valid frames. Skipped, not truncated.
    public var corruptRegions: [CorruptRegion]
    /// Index files rebuilt (missing, damaged, or the active segment's after a torn tail).
    public var rebuiltIndexes: Int
    /// Leftover files removed (temp files, index files without a segment).
    public var removedFiles: [String]

    public var skippedRecords: Int64 { corruptRegions.reduce(0) { $0 + $1.missingRecords } }
    public var isClean: Bool { truncatedBytes == 0 && corruptRegions.isEmpty && rebuiltIndexes == 0 }
}

/// Result of a full CRC scan of every segment (``LogTopic/verify()``).
public struct VerifyReport: Sendable, Hashable {
    public var partitions: [PartitionVerification]
    public var validRecords: Int { partitions.reduce(0) { $0 + $1.validRecords } }
    public var corruptRecords: Int64 { partitions.reduce(0) { $0 + $1.corruptRecords } }
    public var corruptRegions: [CorruptRegion] { partitions.flatMap(\.corruptRegions) }
    public var tailBytes: Int { partitions.reduce(0) { $0 + $1.tailBytes } }
    /// No corrupt record anywhere (a torn tail is reported in ``tailBytes`` but is not corruption:
    /// opening the topic for writing truncates it).
    public var isClean: Bool { corruptRegions.isEmpty }
}

public struct PartitionVerification: Sendable, Hashable {
    public var partition: Int
    public var segments: Int
    public var validRecords: Int
    public var validBytes: Int
    public var corruptRegions: [CorruptRegion]
    /// Records lost in corrupt regions.
    public var corruptRecords: Int64 { corruptRegions.reduce(0) { $0 + $1.missingRecords } }
    /// Bytes at the end of segments not followed by a valid frame.
    public var tailBytes: Int
}

/// What a retention run deleted.
public struct RetentionReport: Sendable, Hashable {
    public var deletedSegments = 0
    public var deletedBytes: Int64 = 0
    /// Offsets covered by the deleted segments.
    public var deletedRecords: Int64 = 0
    /// Segments deleted only because the disk quota forced it (``QuotaPolicy/dropOldest``).
    public var quotaDeletedSegments = 0
    /// Records deleted by the quota before every consumer group had read them.
    public var unconsumedRecordsDropped: Int64 = 0
    /// The topic is still over its quota (only active segments are left to delete).
    public var stillOverQuota = false

    public init() {}
}

/// Counters since the topic was opened.
public struct TopicStats: Sendable, Hashable {
    public var appendedRecords: Int64 = 0
    public var appendedBytes: Int64 = 0
    /// `write` calls on segment files.
    public var writes: Int64 = 0
    /// `fdatasync` calls on segment files (excluding rolls and close).
    public var fsyncs: Int64 = 0
    /// Writer cycles (each takes everything pending and writes it).
    public var cycles: Int64 = 0
    public var segmentsRolled: Int64 = 0
    public var segmentsDeleted: Int64 = 0
    /// Appends rejected with ``LogError/Code-swift.struct/quotaExceeded``.
    public var quotaRejections: Int64 = 0
    public var quotaDeletedSegments: Int64 = 0
    public var unconsumedRecordsDropped: Int64 = 0
    /// Corrupt regions readers skipped.
    public var corruptRegionsRead: Int64 = 0

    public init() {}
}

/// Disk usage against the quota, for backpressure.
public struct QuotaState: Sendable, Hashable {
    /// Bytes of log and index files.
    public var usedBytes: Int64
    /// Bytes appended but not yet written by the writer thread.
    public var pendingBytes: Int64
    public var quotaBytes: Int64?
    public var policy: QuotaPolicy
    /// `usedBytes + pendingBytes >= quotaBytes`.
    public var isOverQuota: Bool {
        guard let quotaBytes else { return false }
        return usedBytes + pendingBytes >= quotaBytes
    }
}

/// The offsets one append assigned: per partition it touched, a contiguous range (records of one
/// batch that share a partition get consecutive offsets, in batch order).
public struct AppendResult: Sendable, Hashable {
    public struct Range: Sendable, Hashable {
        public var partition: Int
        public var firstOffset: Int64
        public var count: Int
        public var offsets: Swift.Range<Int64> { firstOffset..<(firstOffset + Int64(count)) }
    }

    /// In order of first appearance in the batch.
    public var ranges: [Range]
    public var recordCount: Int { ranges.reduce(0) { $0 + $1.count } }

    /// The range of `partition`, if the append touched it.
    public func range(partition: Int) -> Range? { ranges.first { $0.partition == partition } }
}

/// Result of one ``PartitionReader/read(maxRecords:maxBytes:_:)`` call.
public struct ReadResult: Sendable, Hashable {
    /// Records passed to the callback.
    public var records = 0
    /// Their frame bytes.
    public var bytes = 0
    /// The next offset to read.
    public var nextOffset: Int64 = 0
    /// Corrupt regions skipped during this call (also counted in ``TopicStats`` and logged).
    public var corruptRegions: [CorruptRegion] = []
    /// Offsets the reader jumped over because retention had deleted them.
    public var deletedRecordsSkipped: Int64 = 0
}

/// Size and offsets of one partition.
public struct PartitionInfo: Sendable, Hashable {
    public var partition: Int
    /// First offset still stored.
    public var startOffset: Int64
    /// Next offset after the last readable record.
    public var endOffset: Int64
    public var segments: Int
    /// Log and index bytes.
    public var bytes: Int64
}
