#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LogTopic {
    /// Reads every segment of every partition and checks every frame (structure and CRC-32C).
    /// Blocking file IO on the calling thread; covers the readable data as of the call.
    ///
    /// ```swift
    /// let report = try topic.verify()
    /// if !report.isClean { print("\(report.corruptRecords) corrupt records", report.corruptRegions) }
    /// ```
    public func verify() throws -> VerifyReport {
        let scanner = SegmentScanner()
        var partitions: [PartitionVerification] = []
        for p in 0..<partitionCount {
            let view = core.view(p)
            var verification = PartitionVerification(
                partition: p, segments: view.segmentCount, validRecords: 0, validBytes: 0, corruptRegions: [], tailBytes: 0
            )
            let directory = core.layout.partitionDirectory(p)
            for i in 0..<view.segmentCount {
                let segment = view.segment(at: i)
                let path = TopicLayout.logPath(directory, segment.baseOffset)
                let fd: Int32
                do {
                    fd = try FileSystem.open(path, O_RDONLY)
                } catch let error as LogError where error.errno == ENOENT {
                    continue  // deleted by retention meanwhile
                }
                defer { FileSystem.close(fd) }
                let limit = min(segment.bytes, try FileSystem.size(fd, path: path))
                let scan = try scanner.scan(
                    fd: fd, path: path, limit: limit, partition: p, baseOffset: segment.baseOffset,
                    previousOffset: segment.baseOffset - 1
                )
                verification.validRecords += scan.records
                verification.validBytes += scan.validEnd - scan.corruptRegions.reduce(0) { $0 + $1.length }
                verification.corruptRegions += scan.corruptRegions
                if scan.tailBytes > 0 {
                    if i < view.segmentCount - 1 {
                        // Closed segments were fsync'd whole: bad bytes at their end are corruption.
                        let last = scan.lastOffset ?? segment.baseOffset - 1
                        verification.corruptRegions.append(CorruptRegion(
                            partition: p, segmentBaseOffset: segment.baseOffset, position: scan.validEnd,
                            length: scan.tailBytes, firstMissingOffset: last + 1,
                            missingRecords: max(0, segment.endOffset - last - 1)
                        ))
                    } else {
                        verification.tailBytes += scan.tailBytes
                    }
                }
            }
            partitions.append(verification)
        }
        return VerifyReport(partitions: partitions)
    }
}
