#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Opens a partition directory: lists segments, recovers the last one (scan, torn-tail
/// truncation, index rebuild) and derives the metadata of the others from their index.
struct PartitionLoader {
    struct Loaded {
        var closed: [SegmentInfo]
        var active: SegmentInfo
        var bytesSinceIndexEntry: Int
        var recovery: PartitionRecovery
    }

    let partition: Int
    let directory: String
    let config: TopicConfig
    let readOnly: Bool
    let scanner: SegmentScanner
    let logger: Logger

    func load() throws -> Loaded {
        var recovery = PartitionRecovery(
            partition: partition, segments: 0, startOffset: 0, endOffset: 0, scannedRecords: 0,
            truncatedBytes: 0, corruptRegions: [], rebuiltIndexes: 0, removedFiles: []
        )
        if !FileSystem.isDirectory(directory) {
            guard !readOnly else { throw LogError(.corrupt, "partition directory missing", path: directory) }
            try FileSystem.makeDirectories(directory)
            try FileSystem.syncDirectory(FileSystem.parentDirectory(directory))
        }
        var (bases, indexes, others) = try TopicLayout.segmentFiles(in: directory)
        if !readOnly {
            for name in others where name.hasSuffix(".tmp") || name.hasSuffix(".deleted") {
                try FileSystem.remove(directory + "/" + name)
                recovery.removedFiles.append(name)
            }
            for base in indexes.subtracting(bases).sorted() {
                try FileSystem.remove(TopicLayout.indexPath(directory, base))
                recovery.removedFiles.append(TopicLayout.segmentName(base) + ".index")
            }
            if bases.isEmpty {
                try createEmptySegment(base: 0)
                bases = [0]
                indexes = [0]
            }
        } else if bases.isEmpty {
            throw LogError(.corrupt, "partition has no segment files", path: directory)
        }

        var closed: [SegmentInfo] = []
        for (i, base) in bases.dropLast().enumerated() {
            let next = bases[i + 1]
            closed.append(try loadClosed(base: base, next: next, hasIndex: indexes.contains(base), recovery: &recovery))
        }
        let (active, sinceIndex) = try recoverActive(base: bases.last!, recovery: &recovery)

        recovery.segments = closed.count + 1
        recovery.startOffset = closed.first?.baseOffset ?? active.baseOffset
        recovery.endOffset = active.endOffset
        if recovery.truncatedBytes > 0 || !recovery.corruptRegions.isEmpty {
            logger.warning(readOnly ? "log partition is damaged (opened read-only: not repaired)" : "log recovery repaired a partition", metadata: [
                "directory": "\(directory)",
                "truncatedTailBytes": "\(recovery.truncatedBytes)",
                "corruptRegions": "\(recovery.corruptRegions.count)",
                "skippedRecords": "\(recovery.skippedRecords)",
                "regions": "\(recovery.corruptRegions.map(\.description))",
                "readOnly": "\(readOnly)",
            ])
        }
        return Loaded(closed: closed, active: active, bytesSinceIndexEntry: sinceIndex, recovery: recovery)
    }

    private func createEmptySegment(base: Int64) throws {
        for path in [TopicLayout.logPath(directory, base), TopicLayout.indexPath(directory, base)] {
            let fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_TRUNC)
            FileSystem.close(fd)
        }
        try FileSystem.syncDirectory(directory)
    }

    /// A closed segment: size from the file, last append time from a short scan that starts at
    /// its last index entry. A missing or damaged index is rebuilt (writer mode).
    private func loadClosed(base: Int64, next: Int64, hasIndex: Bool, recovery: inout PartitionRecovery) throws -> SegmentInfo {
        let logPath = TopicLayout.logPath(directory, base)
        let indexPath = TopicLayout.indexPath(directory, base)
        let fd = try FileSystem.open(logPath, O_RDONLY)
        defer { FileSystem.close(fd) }
        let size = try FileSystem.size(fd, path: logPath)
        var entries: [IndexEntry] = []
        var indexSize = 0
        if hasIndex {
            let raw = try FileSystem.readAll(indexPath)
            indexSize = raw.count
            entries = raw.withUnsafeBytes { OffsetIndex.decode($0, segmentBytes: size) }
        }
        var start = 0
        var previous = base - 1
        if let last = entries.last {
            start = Int(last.position)
            previous = base + Int64(last.relativeOffset) - 1
        }
        var scan = try scanner.scan(
            fd: fd, path: logPath, limit: size, partition: partition, baseOffset: base, from: start, previousOffset: previous
        )
        let indexDamaged = !hasIndex || entries.count * IndexEntry.size != indexSize
            || (start > 0 && scan.firstOffset != previous + 1)
        if indexDamaged {
            // Rebuild from a full scan.
            previous = base - 1
            scan = try scanner.scan(
                fd: fd, path: logPath, limit: size, partition: partition, baseOffset: base, previousOffset: base - 1,
                indexInterval: config.indexIntervalBytes
            )
            if !readOnly {
                try writeIndex(scan.index, path: indexPath, sync: true)
                indexSize = scan.index.count * IndexEntry.size
            }
            recovery.rebuiltIndexes += 1
        }
        recovery.corruptRegions += scan.corruptRegions
        if scan.tailBytes > 0 {
            // A closed segment was fsync'd when it was rolled, so bad bytes at its end are
            // corruption, not a torn write: report them; readers skip them.
            let last = scan.lastOffset ?? previous
            recovery.corruptRegions.append(CorruptRegion(
                partition: partition, segmentBaseOffset: base, position: scan.validEnd, length: scan.tailBytes,
                firstMissingOffset: last + 1, missingRecords: max(0, next - last - 1)
            ))
        }
        return SegmentInfo(
            baseOffset: base, endOffset: next, bytes: size, indexBytes: indexSize, lastAppendTime: scan.lastAppendTime
        )
    }

    /// The last segment: full scan; a tail not followed by a valid frame is truncated, mid-segment
    /// corruption is reported; the index is rebuilt from the scan.
    private func recoverActive(base: Int64, recovery: inout PartitionRecovery) throws -> (SegmentInfo, Int) {
        let logPath = TopicLayout.logPath(directory, base)
        let indexPath = TopicLayout.indexPath(directory, base)
        let fd = try FileSystem.open(logPath, readOnly ? O_RDONLY : O_RDWR)
        defer { FileSystem.close(fd) }
        let size = try FileSystem.size(fd, path: logPath)
        let scan = try scanner.scan(
            fd: fd, path: logPath, limit: size, partition: partition, baseOffset: base, previousOffset: base - 1,
            indexInterval: config.indexIntervalBytes
        )
        recovery.scannedRecords = scan.records
        recovery.corruptRegions = scan.corruptRegions
        recovery.truncatedBytes = scan.tailBytes
        var indexSize = scan.index.count * IndexEntry.size
        if !readOnly {
            if scan.tailBytes > 0 {
                try FileSystem.truncate(fd, to: scan.validEnd, path: logPath)
                try FileSystem.datasync(fd, path: logPath)
            }
            let existing = (try? FileSystem.readAll(indexPath)) ?? []
            let rebuilt = ByteBuffer(capacity: indexSize)
            OffsetIndex.encode(scan.index, into: rebuilt)
            if !existing.elementsEqual(rebuilt.bytes) {
                try writeIndex(scan.index, path: indexPath, sync: false)
                if !existing.isEmpty || !scan.index.isEmpty { recovery.rebuiltIndexes += 1 }
            }
        } else {
            indexSize = (try FileSystem.size(atPath: indexPath)) ?? 0
        }
        let info = SegmentInfo(
            baseOffset: base, endOffset: scan.lastOffset.map { $0 + 1 } ?? base, bytes: scan.validEnd,
            indexBytes: indexSize, lastAppendTime: scan.lastAppendTime
        )
        return (info, scan.bytesSinceIndexEntry)
    }

    private func writeIndex(_ entries: [IndexEntry], path: String, sync: Bool) throws {
        let buffer = ByteBuffer(capacity: entries.count * IndexEntry.size)
        OffsetIndex.encode(entries, into: buffer)
        let fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { FileSystem.close(fd) }
        if buffer.count > 0 { try FileSystem.writeAll(fd, buffer.base, buffer.count, path: path) }
        if sync { try FileSystem.datasync(fd, path: path) }
    }
}
