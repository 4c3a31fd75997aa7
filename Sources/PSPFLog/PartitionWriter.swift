#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frames appended to one partition and not yet written, plus truncation markers in order.
/// Two of these per partition swap between appenders and the writer thread.
final class PendingFrames {
    let buffer: ByteBuffer
    var records = 0
    /// `truncate(to: offset)` requests, applied after the frames before `position` are written.
    var truncations: [(position: Int, offset: Int64)] = []

    init(capacity: Int) {
        buffer = ByteBuffer(capacity: capacity)
    }

    func reset(trimTo limit: Int) {
        buffer.count = 0
        records = 0
        truncations.removeAll()
        buffer.trim(to: limit)
    }
}

/// The writer thread's view of one partition: its segment files, the active segment's file
/// descriptors, the sparse-index cursor and durability. Touched only by the writer thread.
final class PartitionWriter {
    let partition: Int
    let directory: String
    let segmentBytes: Int
    let indexInterval: Int
    let scanner: SegmentScanner

    private(set) var closed: [SegmentInfo]
    private(set) var active: SegmentInfo
    private(set) var closedBytes: Int64
    private var logFD: Int32 = -1
    private var indexFD: Int32 = -1
    private var bytesSinceIndex: Int
    /// Written since the last fsync.
    private(set) var dirty = false
    /// Durable (policy `.none`: written) prefix of the active segment, what readers may see.
    private var visibleBytes: Int
    private var visibleEnd: Int64
    private let indexScratch = ByteBuffer(capacity: 4096)

    // Counters the writer thread collects after each cycle.
    var writes: Int64 = 0
    var rolls: Int64 = 0
    var rolledSinceCheck = false
    /// Truncations so far (readers drop their buffers when it changes).
    private(set) var epoch: UInt64 = 0

    init(partition: Int, directory: String, config: TopicConfig, loaded: PartitionLoader.Loaded, scanner: SegmentScanner) throws {
        self.partition = partition
        self.directory = directory
        self.segmentBytes = config.segmentBytes
        self.indexInterval = config.indexIntervalBytes
        self.scanner = scanner
        self.closed = loaded.closed
        self.active = loaded.active
        self.closedBytes = loaded.closed.reduce(0) { $0 + $1.diskBytes }
        self.bytesSinceIndex = loaded.bytesSinceIndexEntry
        self.visibleBytes = loaded.active.bytes
        self.visibleEnd = loaded.active.endOffset
        try openActive(create: false)
        // What survived a process crash may still be only in the page cache: make it durable
        // before readers see it.
        try FileSystem.datasync(logFD, path: logPath(active.baseOffset))
    }

    deinit {
        closeFiles()
    }

    var diskBytes: Int64 { closedBytes + active.diskBytes }
    var endOffset: Int64 { active.endOffset }

    var view: PartitionView {
        var visible = active
        visible.bytes = visibleBytes
        visible.endOffset = visibleEnd
        return PartitionView(closed: closed, active: visible, epoch: epoch)
    }

    private func logPath(_ base: Int64) -> String { TopicLayout.logPath(directory, base) }
    private func indexPath(_ base: Int64) -> String { TopicLayout.indexPath(directory, base) }

    private func openActive(create: Bool) throws {
        let flags = O_WRONLY | O_APPEND | (create ? O_CREAT | O_TRUNC : 0)
        logFD = try FileSystem.open(logPath(active.baseOffset), flags)
        do {
            indexFD = try FileSystem.open(indexPath(active.baseOffset), flags | O_CREAT)
        } catch {
            FileSystem.close(logFD)
            logFD = -1
            throw error
        }
    }

    func closeFiles() {
        if logFD >= 0 { FileSystem.close(logFD) }
        if indexFD >= 0 { FileSystem.close(indexFD) }
        logFD = -1
        indexFD = -1
    }

    // MARK: Writing

    /// Writes pending frames (stamped with offset and append time, CRC not yet computed),
    /// applying truncation markers in order.
    func write(_ pending: PendingFrames) throws {
        var start = 0
        for truncation in pending.truncations {
            try writeFrames(pending.buffer.base + start, truncation.position - start)
            try truncate(to: truncation.offset)
            start = truncation.position
        }
        try writeFrames(pending.buffer.base + start, pending.buffer.count - start)
    }

    /// Seals each frame (CRC), adds sparse index entries, rolls segments and issues one `write`
    /// per segment touched.
    private func writeFrames(_ frames: UnsafeMutableRawPointer, _ count: Int) throws {
        guard count > 0 else { return }
        var position = 0
        var chunkStart = 0
        var lastOffset = active.endOffset - 1
        var lastAppendTime = active.lastAppendTime
        while position < count {
            let frame = frames + position
            let size = RecordFrame.frameBytes(at: frame)
            let offset = RecordFrame.offset(at: frame)
            let inChunk = position - chunkStart
            if active.bytes + inChunk + size > segmentBytes, active.bytes + inChunk > 0 {
                try writeChunk(frames + chunkStart, inChunk, lastOffset: lastOffset, lastAppendTime: lastAppendTime)
                try roll(newBase: offset)
                chunkStart = position
            }
            RecordFrame.seal(frame, frameBytes: size)
            if bytesSinceIndex >= indexInterval {
                let filePosition = active.bytes + (position - chunkStart)
                let p = indexScratch.reserve(IndexEntry.size)
                p.storeBytes(of: UInt32(truncatingIfNeeded: offset - active.baseOffset).littleEndian, as: UInt32.self)
                p.storeBytes(of: UInt32(filePosition).littleEndian, toByteOffset: 4, as: UInt32.self)
                indexScratch.count += IndexEntry.size
                bytesSinceIndex = 0
            }
            bytesSinceIndex += size
            lastOffset = offset
            lastAppendTime = RecordFrame.appendTime(at: frame)
            position += size
        }
        try writeChunk(frames + chunkStart, position - chunkStart, lastOffset: lastOffset, lastAppendTime: lastAppendTime)
    }

    private func writeChunk(_ p: UnsafeMutableRawPointer, _ count: Int, lastOffset: Int64, lastAppendTime: Int64?) throws {
        guard count > 0 else { return }
        try FileSystem.writeAll(logFD, p, count, path: logPath(active.baseOffset))
        writes += 1
        if indexScratch.count > 0 {
            try FileSystem.writeAll(indexFD, indexScratch.base, indexScratch.count, path: indexPath(active.baseOffset))
            active.indexBytes += indexScratch.count
            indexScratch.count = 0
        }
        active.bytes += count
        active.endOffset = lastOffset + 1
        active.lastAppendTime = lastAppendTime
        dirty = true
    }

    /// Closes the active segment durably and starts a new one at `newBase`.
    private func roll(newBase: Int64) throws {
        try FileSystem.datasync(logFD, path: logPath(active.baseOffset))
        try FileSystem.datasync(indexFD, path: indexPath(active.baseOffset))
        closeFiles()
        var finished = active
        finished.endOffset = newBase
        closed.append(finished)
        closedBytes += finished.diskBytes
        active = SegmentInfo(baseOffset: newBase, endOffset: newBase, bytes: 0, indexBytes: 0, lastAppendTime: nil)
        try openActive(create: true)
        try FileSystem.syncDirectory(directory)
        visibleBytes = 0
        visibleEnd = newBase
        bytesSinceIndex = 0
        dirty = false
        rolls += 1
        rolledSinceCheck = true
    }

    /// fdatasync of the active segment if anything was written since the last one; afterwards
    /// readers may see everything written. Returns whether a sync was issued.
    @discardableResult
    func sync() throws -> Bool {
        var synced = false
        if dirty {
            try FileSystem.datasync(logFD, path: logPath(active.baseOffset))
            dirty = false
            synced = true
        }
        visibleBytes = active.bytes
        visibleEnd = active.endOffset
        return synced
    }

    /// Policy `.none`: what is written is what readers see.
    func publishWritten() {
        visibleBytes = active.bytes
        visibleEnd = active.endOffset
    }

    // MARK: Truncation

    /// Removes every record with offset ≥ `offset`, durably. Afterwards the next append gets
    /// `offset` (if the records before it end earlier, a new segment starts at `offset`).
    func truncate(to offset: Int64) throws {
        guard offset < active.endOffset else { return }
        let firstBase = closed.first?.baseOffset ?? active.baseOffset
        if offset <= firstBase {
            closeFiles()
            for segment in closed + [active] { try removeFiles(segment.baseOffset) }
            closed.removeAll()
            closedBytes = 0
            active = SegmentInfo(baseOffset: offset, endOffset: offset, bytes: 0, indexBytes: 0, lastAppendTime: nil)
            try openActive(create: true)
            try finishTruncation()
            return
        }
        if offset < active.baseOffset {
            // Drop the active segment and every closed one starting at or after `offset`, then
            // reopen the one containing it as active.
            closeFiles()
            try removeFiles(active.baseOffset)
            while let last = closed.last, last.baseOffset >= offset {
                try removeFiles(last.baseOffset)
                closedBytes -= last.diskBytes
                closed.removeLast()
            }
            active = closed.removeLast()
            closedBytes -= active.diskBytes
            try openActive(create: false)
        }
        // Cut the active segment before the first record ≥ offset.
        let path = logPath(active.baseOffset)
        let readFD = try FileSystem.open(path, O_RDONLY)
        defer { FileSystem.close(readFD) }
        var cut = 0
        var lastKept: Int64?
        var lastKeptTime: Int64?
        let scan = try scanner.scan(
            fd: readFD, path: path, limit: active.bytes, partition: partition, baseOffset: active.baseOffset,
            previousOffset: active.baseOffset - 1, indexInterval: indexInterval
        ) { frame, size, position in
            let recordOffset = RecordFrame.offset(at: frame)
            if recordOffset < offset {
                lastKept = recordOffset
                lastKeptTime = RecordFrame.appendTime(at: frame)
                cut = position + size
            }
        }
        let entries = scan.index.filter { Int($0.position) < cut }
        try FileSystem.truncate(logFD, to: cut, path: path)
        try FileSystem.truncate(indexFD, to: 0, path: indexPath(active.baseOffset))
        indexScratch.count = 0
        OffsetIndex.encode(entries, into: indexScratch)
        if indexScratch.count > 0 {
            try FileSystem.writeAll(indexFD, indexScratch.base, indexScratch.count, path: indexPath(active.baseOffset))
        }
        active.indexBytes = indexScratch.count
        indexScratch.count = 0
        active.bytes = cut
        active.endOffset = lastKept.map { $0 + 1 } ?? active.baseOffset
        active.lastAppendTime = lastKeptTime
        bytesSinceIndex = cut - Int(entries.last?.position ?? 0)
        try FileSystem.datasync(logFD, path: path)
        try FileSystem.datasync(indexFD, path: indexPath(active.baseOffset))
        if active.endOffset != offset {
            // Records before `offset` end earlier (corruption gap) or the segment is empty: start
            // a segment at `offset` so the next append gets exactly `offset`, also after a reopen.
            if active.bytes == 0 {
                closeFiles()
                try removeFiles(active.baseOffset)
                if !closed.isEmpty { closed[closed.count - 1].endOffset = offset }
                active = SegmentInfo(baseOffset: offset, endOffset: offset, bytes: 0, indexBytes: 0, lastAppendTime: nil)
                try openActive(create: true)
            } else {
                try roll(newBase: offset)
            }
        }
        try finishTruncation()
    }

    private func finishTruncation() throws {
        epoch += 1
        try FileSystem.syncDirectory(directory)
        dirty = false
        visibleBytes = active.bytes
        visibleEnd = active.endOffset
        if active.bytes == 0 { bytesSinceIndex = 0 }
    }

    private func removeFiles(_ base: Int64) throws {
        try FileSystem.remove(indexPath(base))
        try FileSystem.remove(logPath(base))
    }

    // MARK: Retention

    /// The oldest closed segment, if any.
    var oldestClosed: SegmentInfo? { closed.first }

    /// Deletes the oldest closed segment (index first, then log; the caller fsyncs the directory).
    func deleteOldest() throws -> SegmentInfo {
        let segment = closed.removeFirst()
        closedBytes -= segment.diskBytes
        try removeFiles(segment.baseOffset)
        return segment
    }

    /// Closes the files after a final sync.
    func close() throws {
        defer { closeFiles() }
        if logFD >= 0 {
            try sync()
            try FileSystem.datasync(indexFD, path: indexPath(active.baseOffset))
        }
    }
}
