#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// A cursor over one partition: reads big chunks (1 MiB `pread`) and parses frames in place,
/// verifying every CRC, with no allocation per record.
///
/// ```swift
/// let reader = topic.reader(partition: 2)
/// reader.seek(to: committed)
/// while true {
///     let result = try reader.read(maxRecords: 10_000) { record in
///         process(record.key, record.payload)    // views, valid only inside the closure
///     }
///     if result.records == 0 { try await topic.waitForRecords(partition: 2, from: reader.nextOffset) }
/// }
/// ```
///
/// Seeking uses the segment's sparse index (the last entry at or below the offset, then a short
/// forward scan). A corrupt region met while reading is skipped to the next valid frame,
/// counted (``ReadResult/corruptRegions``, ``TopicStats/corruptRegionsRead``) and logged as a
/// warning. If retention deleted the offset the reader was at, it continues at the partition's
/// start offset and reports the jump in ``ReadResult/deletedRecordsSkipped``.
///
/// Not thread-safe: one reader per consumer. Reading is blocking file IO (usually from the page
/// cache).
public final class PartitionReader {
    public let partition: Int
    /// The next offset ``read(maxRecords:maxBytes:_:)`` will deliver (or the first after it).
    public private(set) var nextOffset: Int64

    private let core: TopicCore
    private let directory: String
    private let buffer: ByteBuffer
    private let chunkBytes: Int
    /// File bytes `[bufferStart, bufferStart + buffer.count)` of segment `bufferSegment` are in the buffer.
    private var bufferStart = 0
    private var bufferSegment: Int64 = -1
    /// The segment and byte position of `nextOffset`, when known.
    private var cursor: (segment: Int64, position: Int)?
    private var fd: Int32 = -1
    private var fdSegment: Int64 = -1
    /// Truncation count of the partition when the buffer was filled.
    private var epoch: UInt64 = 0
    private lazy var scanner = SegmentScanner(chunkBytes: 64 << 10)

    init(core: TopicCore, partition: Int, chunkBytes: Int = 1 << 20) {
        self.core = core
        self.partition = partition
        self.directory = core.layout.partitionDirectory(partition)
        self.chunkBytes = chunkBytes
        self.buffer = ByteBuffer(capacity: chunkBytes)
        self.nextOffset = core.view(partition).startOffset
    }

    deinit {
        if fd >= 0 { FileSystem.close(fd) }
    }

    /// Moves the cursor; the next read starts at the first record at or after `offset`.
    public func seek(to offset: Int64) {
        if offset != nextOffset { cursor = nil }
        nextOffset = offset
    }

    /// Seeks to `offset`, then reads.
    @discardableResult
    public func read(
        from offset: Int64, maxRecords: Int = .max, maxBytes: Int = .max, _ body: (LogRecord) throws -> Void
    ) throws -> ReadResult {
        seek(to: offset)
        return try read(maxRecords: maxRecords, maxBytes: maxBytes, body)
    }

    /// Passes readable records from ``nextOffset`` on to `body`, in offset order, until
    /// `maxRecords` records or at least `maxBytes` frame bytes were delivered or the readable
    /// end is reached. A record and its buffers are valid only during its call.
    ///
    /// If `body` throws, reading stops and ``nextOffset`` points at the record that threw.
    @discardableResult
    public func read(maxRecords: Int = .max, maxBytes: Int = .max, _ body: (LogRecord) throws -> Void) throws -> ReadResult {
        var result = ReadResult()
        var view = core.view(partition)
        var refreshed = false
        if view.epoch != epoch {
            // The partition was truncated: what is buffered may be stale.
            epoch = view.epoch
            bufferSegment = -1
            cursor = nil
        }
        readLoop: while result.records < maxRecords, result.bytes < maxBytes {
            if nextOffset < view.startOffset {
                result.deletedRecordsSkipped += view.startOffset - nextOffset
                nextOffset = view.startOffset
                cursor = nil
            }
            if nextOffset >= view.endOffset { break }
            // Locate the segment and position of nextOffset.
            var segmentIndex: Int
            var position: Int
            if let cursor, let i = view.segmentIndex(base: cursor.segment) {
                segmentIndex = i
                position = cursor.position
            } else {
                segmentIndex = view.segmentIndex(containing: nextOffset)
                let segment = view.segment(at: segmentIndex)
                do {
                    position = try seekPosition(segment, offset: nextOffset)
                } catch let error as LogError where error.errno == ENOENT && !refreshed {
                    view = core.view(partition)   // deleted by retention meanwhile
                    refreshed = true
                    continue readLoop
                }
            }
            let segment = view.segment(at: segmentIndex)
            let isLast = segmentIndex == view.segmentCount - 1
            if position >= segment.bytes {
                if isLast { cursor = (segment.baseOffset, position); break }
                let next = view.segment(at: segmentIndex + 1)
                if nextOffset < next.baseOffset { nextOffset = next.baseOffset }
                cursor = (next.baseOffset, 0)
                continue
            }
            do {
                try ensureBuffered(segment: segment, position: position, need: RecordFrame.headerBytes)
            } catch let error as LogError where error.errno == ENOENT && !refreshed {
                view = core.view(partition)
                refreshed = true
                cursor = nil
                continue readLoop
            }
            // Parse frames in place.
            while result.records < maxRecords, result.bytes < maxBytes, position < segment.bytes {
                let inBuffer = bufferStart + buffer.count - position
                let available = min(inBuffer, segment.bytes - position)
                let frame = UnsafeRawPointer(buffer.base + (position - bufferStart))
                switch RecordFrame.check(frame, available: available) {
                case .valid(let size):
                    let offset = RecordFrame.offset(at: frame)
                    if offset >= nextOffset {
                        let record = LogRecord(frame: frame, frameBytes: size, partition: partition)
                        cursor = (segment.baseOffset, position)
                        try body(record)
                        nextOffset = offset + 1
                        result.records += 1
                        result.bytes += size
                    }
                    position += size
                    cursor = (segment.baseOffset, position)
                case .needMore(let size):
                    if position + size <= segment.bytes, available < size {
                        try ensureBuffered(segment: segment, position: position, need: size)
                        continue
                    }
                    position = try skipCorruption(segment: segment, at: position, into: &result)
                    cursor = (segment.baseOffset, position)
                case .invalid:
                    position = try skipCorruption(segment: segment, at: position, into: &result)
                    cursor = (segment.baseOffset, position)
                }
                if position < segment.bytes, position + RecordFrame.headerBytes > bufferStart + buffer.count {
                    try ensureBuffered(segment: segment, position: position, need: RecordFrame.headerBytes)
                }
            }
        }
        result.nextOffset = nextOffset
        return result
    }

    /// Skips bad bytes at `position` up to the next valid frame (or the segment's end), counts
    /// and logs them. Returns the new position.
    private func skipCorruption(segment: SegmentInfo, at position: Int, into result: inout ReadResult) throws -> Int {
        let path = TopicLayout.logPath(directory, segment.baseOffset)
        let found = try scanner.findNextFrame(fd: fd, path: path, limit: segment.bytes, from: position + 1, after: nextOffset - 1)
        let end = found?.position ?? segment.bytes
        let nextGood = found?.offset ?? segment.endOffset
        let region = CorruptRegion(
            partition: partition, segmentBaseOffset: segment.baseOffset, position: position, length: end - position,
            firstMissingOffset: nextOffset, missingRecords: max(0, nextGood - nextOffset)
        )
        result.corruptRegions.append(region)
        core.corruptRegionsRead.add(1, ordering: .relaxed)
        core.logger.warning("skipped a corrupt region of the log", metadata: [
            "topic": "\(core.name)", "region": "\(region)",
        ])
        if let found { nextOffset = max(nextOffset, found.offset) }
        return end
    }

    /// Byte position in `segment` of the first record at or after `offset`, via the sparse index.
    private func seekPosition(_ segment: SegmentInfo, offset: Int64) throws -> Int {
        guard offset > segment.baseOffset else { return 0 }
        let indexPath = TopicLayout.indexPath(directory, segment.baseOffset)
        guard let size = try FileSystem.size(atPath: indexPath), size >= IndexEntry.size else { return 0 }
        let indexFD = try FileSystem.open(indexPath, O_RDONLY)
        defer { FileSystem.close(indexFD) }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { scratch.deallocate() }
        let n = try FileSystem.pread(indexFD, scratch.baseAddress!, size, at: 0, path: indexPath)
        let entries = OffsetIndex.decode(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), segmentBytes: segment.bytes)
        let relative = UInt32(clamping: offset - segment.baseOffset)
        guard let entry = OffsetIndex.floor(entries, relativeOffset: relative, limit: segment.bytes) else { return 0 }
        // Trust the entry only if a valid frame with the expected offset is there.
        let position = Int(entry.position)
        try ensureBuffered(segment: segment, position: position, need: RecordFrame.headerBytes)
        let available = min(bufferStart + buffer.count, segment.bytes) - position
        var frame = UnsafeRawPointer(buffer.base + (position - bufferStart))
        var check = RecordFrame.check(frame, available: available)
        if case .needMore(let need) = check, position + need <= segment.bytes {
            try ensureBuffered(segment: segment, position: position, need: need)
            frame = UnsafeRawPointer(buffer.base + (position - bufferStart))
            check = RecordFrame.check(frame, available: min(bufferStart + buffer.count, segment.bytes) - position)
        }
        if case .valid = check, RecordFrame.offset(at: frame) == segment.baseOffset + Int64(entry.relativeOffset) {
            return position
        }
        return 0
    }

    /// Makes `[position, position + need)` of the segment available in the buffer (less at the
    /// segment's readable end), reading a whole chunk.
    private func ensureBuffered(segment: SegmentInfo, position: Int, need: Int) throws {
        let wantedEnd = min(position + need, segment.bytes)
        if bufferSegment == segment.baseOffset, position >= bufferStart, wantedEnd <= bufferStart + buffer.count {
            return
        }
        if fdSegment != segment.baseOffset {
            if fd >= 0 { FileSystem.close(fd) }
            fd = -1
            fdSegment = -1
            fd = try FileSystem.open(TopicLayout.logPath(directory, segment.baseOffset), O_RDONLY)
            fdSegment = segment.baseOffset
        }
        let length = min(max(chunkBytes, need), segment.bytes - position)
        buffer.count = 0
        buffer.ensureCapacity(length)
        let n = try FileSystem.pread(fd, buffer.base, length, at: position, path: TopicLayout.logPath(directory, segment.baseOffset))
        buffer.count = n
        bufferStart = position
        bufferSegment = segment.baseOffset
    }
}
