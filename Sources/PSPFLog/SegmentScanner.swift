/// A stretch of a segment that holds no valid frame but is followed by one: mid-segment
/// corruption. Its records are skipped, counted and reported, never silently dropped.
public struct CorruptRegion: Sendable, Hashable, CustomStringConvertible {
    public var partition: Int
    /// Base offset of the segment (its file name).
    public var segmentBaseOffset: Int64
    /// Byte position in the segment file where the bad bytes start.
    public var position: Int
    /// Number of bytes skipped.
    public var length: Int
    /// First offset that could not be read.
    public var firstMissingOffset: Int64
    /// Number of records (offsets) lost: the next valid frame's offset minus the expected one.
    public var missingRecords: Int64

    public var description: String {
        "partition \(partition) segment \(TopicLayout.segmentName(segmentBaseOffset)) bytes \(position)..<\(position + length): "
            + "\(missingRecords) record(s) from offset \(firstMissingOffset) unreadable"
    }
}

/// Outcome of scanning one segment.
struct SegmentScan {
    var records = 0
    /// Position after the last valid frame.
    var validEnd = 0
    var firstOffset: Int64?
    var lastOffset: Int64?
    var lastAppendTime: Int64?
    var corruptRegions: [CorruptRegion] = []
    /// Bytes after `validEnd` not followed by any valid frame (a torn or corrupt tail).
    var tailBytes = 0
    /// The rebuilt sparse index, when asked for.
    var index: [IndexEntry] = []
    /// Bytes appended since the last index entry, to continue the index after a scan.
    var bytesSinceIndexEntry = 0
}

/// Reads a segment file through a reusable window buffer, validates every frame (structure and
/// CRC) and tells a torn tail from mid-segment corruption:
///
/// At a position that holds no valid frame, it scans forward byte by byte for the next position
/// that holds a valid frame (plausible header, CRC matches, offset greater than the last good
/// one). If there is one, the bytes in between are a ``CorruptRegion`` (skipped, counted,
/// reported); if there is none up to the end of the data, they are the tail (truncated by
/// recovery).
final class SegmentScanner {
    private let buffer: ByteBuffer
    private let chunkBytes: Int
    private var windowStart = 0
    private var windowCount = 0
    private var fd: Int32 = -1
    private var path = ""
    private var limit = 0

    init(chunkBytes: Int = 1 << 20) {
        self.chunkBytes = chunkBytes
        buffer = ByteBuffer(capacity: chunkBytes)
    }

    private func attach(fd: Int32, path: String, limit: Int) {
        if fd != self.fd || path != self.path || limit != self.limit {
            windowStart = 0
            windowCount = 0
        }
        self.fd = fd
        self.path = path
        self.limit = limit
    }

    /// Bytes at `position` (at least `need` of them unless the data ends first).
    private func window(at position: Int, need: Int) throws -> (UnsafeRawPointer, Int) {
        if position >= windowStart, position + need <= windowStart + windowCount {
            return (UnsafeRawPointer(buffer.base + (position - windowStart)), windowStart + windowCount - position)
        }
        let length = min(limit - position, max(chunkBytes, need))
        buffer.ensureCapacity(length)
        let n = try FileSystem.pread(fd, buffer.base, length, at: position, path: path)
        windowStart = position
        windowCount = n
        return (UnsafeRawPointer(buffer.base), n)
    }

    /// The frame check at `position`, reading more if the frame extends past the window.
    private func check(at position: Int) throws -> (RecordFrame.Check, UnsafeRawPointer) {
        var (p, available) = try window(at: position, need: RecordFrame.headerBytes)
        var result = RecordFrame.check(p, available: available)
        if case .needMore(let frame) = result {
            guard position + frame <= limit else { return (.invalid, p) }
            (p, available) = try window(at: position, need: frame)
            result = RecordFrame.check(p, available: available)
            if case .needMore = result { result = .invalid }
        }
        return (result, p)
    }

    /// Scans `[from, limit)` of a segment file.
    ///
    /// - Parameters:
    ///   - previousOffset: offset of the record before `from` (base − 1 at the segment start).
    ///   - indexInterval: rebuild the sparse index with this interval (nil: don't).
    ///   - visit: called for every valid frame with its bytes and position.
    func scan(
        fd: Int32, path: String, limit: Int, partition: Int, baseOffset: Int64, from: Int = 0,
        previousOffset: Int64, indexInterval: Int? = nil,
        visit: ((UnsafeRawPointer, Int, Int) throws -> Void)? = nil
    ) throws -> SegmentScan {
        attach(fd: fd, path: path, limit: limit)
        var result = SegmentScan()
        result.validEnd = from
        var position = from
        var last = previousOffset
        var sinceIndex = 0
        while position < limit {
            let (check, p) = try check(at: position)
            if case .valid(let frame) = check, RecordFrame.offset(at: p) > last {
                let offset = RecordFrame.offset(at: p)
                try visit?(p, frame, position)
                if let indexInterval {
                    if sinceIndex >= indexInterval {
                        result.index.append(IndexEntry(relativeOffset: UInt32(truncatingIfNeeded: offset - baseOffset), position: UInt32(position)))
                        sinceIndex = 0
                    }
                    sinceIndex += frame
                }
                if result.firstOffset == nil { result.firstOffset = offset }
                result.lastOffset = offset
                result.lastAppendTime = RecordFrame.appendTime(at: p)
                result.records += 1
                last = offset
                position += frame
                result.validEnd = position
                continue
            }
            if let (next, nextOffset) = try findNextFrame(from: position + 1, after: last) {
                result.corruptRegions.append(CorruptRegion(
                    partition: partition, segmentBaseOffset: baseOffset, position: position, length: next - position,
                    firstMissingOffset: last + 1, missingRecords: nextOffset - last - 1
                ))
                position = next
            } else {
                result.tailBytes = limit - position
                break
            }
        }
        result.bytesSinceIndexEntry = sinceIndex
        return result
    }

    /// The next position in `[from, limit)` holding a valid frame with an offset above `after`.
    func findNextFrame(fd: Int32, path: String, limit: Int, from: Int, after: Int64) throws -> (position: Int, offset: Int64)? {
        attach(fd: fd, path: path, limit: limit)
        return try findNextFrame(from: from, after: after)
    }

    private func findNextFrame(from: Int, after: Int64) throws -> (position: Int, offset: Int64)? {
        var q = from
        while q + RecordFrame.headerBytes <= limit {
            let (p, available) = try window(at: q, need: RecordFrame.headerBytes)
            if available < RecordFrame.headerBytes { return nil }  // the file is shorter than expected
            // Cheap pre-filter on the magic byte before a full check.
            if p.load(fromByteOffset: RecordFrame.magicField, as: UInt8.self) == RecordFrame.magic {
                let (check, frame) = try check(at: q)
                if case .valid = check, RecordFrame.offset(at: frame) > after {
                    return (q, RecordFrame.offset(at: frame))
                }
            }
            q += 1
        }
        return nil
    }
}
