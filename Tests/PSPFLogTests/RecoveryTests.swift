#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import PSPFLog

/// Records 0..<10 with key "k", topic "sensors/<i>" and a 20-byte payload: 74-byte frames.
private let frameBytes = 44 + 1 + 9 + 20

private func writeTenRecords(_ path: String, config: TopicConfig = TopicConfig(partitions: 1, fsync: .every)) throws {
    let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
    try topic.append(makeBatch(0..<10, key: { _ in "k" }, payloadBytes: 20))
    try topic.close()
}

@Suite("Recovery")
struct RecoveryTests {
    @Test(arguments: [1, 10, 43, 44, 73])
    func aTornTailIsTruncated(cutInsideLastFrame: Int) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            try writeTenRecords(path)
            let log = segmentPath(path, partition: 0, base: 0)
            #expect(fileSize(log) == 10 * frameBytes)
            truncateFile(log, to: 9 * frameBytes + cutInsideLastFrame)

            let capture = LogCapture()
            let topic = try LogTopic.open(directory: path, config: TopicConfig(partitions: 1, fsync: .every), logger: capture.logger)
            let recovery = topic.recoveryReport.partitions[0]
            #expect(recovery.truncatedBytes == cutInsideLastFrame)
            #expect(recovery.corruptRegions.isEmpty)
            #expect(recovery.scannedRecords == 9)
            #expect(!topic.recoveryReport.isClean)
            #expect(fileSize(log) == 9 * frameBytes)
            #expect(topic.endOffset(partition: 0) == 9)
            #expect(capture.warnings.count == 1)
            #expect(capture.warnings.first?.metadata.contains("truncatedTailBytes") == true)

            let result = try topic.append(makeBatch(100..<101, key: { _ in "k" }, payloadBytes: 20))
            #expect(result.ranges.first?.firstOffset == 9)
            try topic.flush()
            #expect(try topic.readAll(partition: 0).map(\.offset) == Array(0..<10))
            try topic.close()
        }
    }

    @Test func aZeroFilledTailIsTruncated() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            try writeTenRecords(path)
            let log = segmentPath(path, partition: 0, base: 0)
            truncateFile(log, to: 10 * frameBytes + 4096)   // extends with zeros, as after a crash
            let topic = try LogTopic.open(directory: path, config: TopicConfig(partitions: 1), logger: LogCapture().logger)
            #expect(topic.recoveryReport.truncatedBytes == 4096)
            #expect(topic.endOffset(partition: 0) == 10)
            try topic.close()
        }
    }

    /// Byte positions inside record 4's frame: length, CRC, offset, magic, attributes, payload, last byte.
    @Test(arguments: [0, 5, 10, 32, 35, 50, 73])
    func aCorruptRecordMidSegmentIsSkippedCountedAndReported(byteInFrame: Int) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            try writeTenRecords(path)
            let log = segmentPath(path, partition: 0, base: 0)
            try flipByte(log, at: 4 * frameBytes + byteInFrame)

            let capture = LogCapture()
            let topic = try LogTopic.open(directory: path, config: TopicConfig(partitions: 1, fsync: .every), logger: capture.logger)
            let recovery = topic.recoveryReport
            #expect(recovery.truncatedBytes == 0)
            #expect(recovery.corruptRegions == [CorruptRegion(
                partition: 0, segmentBaseOffset: 0, position: 4 * frameBytes, length: frameBytes,
                firstMissingOffset: 4, missingRecords: 1
            )])
            #expect(recovery.skippedRecords == 1)
            #expect(fileSize(log) == 10 * frameBytes)        // nothing truncated
            #expect(topic.endOffset(partition: 0) == 10)
            #expect(capture.warnings.count == 1)
            #expect(capture.warnings[0].metadata.contains("skippedRecords"))

            // The records after it are readable; the reader reports the region too.
            let reader = topic.reader(partition: 0)
            var offsets: [Int64] = []
            let result = try reader.read { offsets.append($0.offset) }
            #expect(offsets == [0, 1, 2, 3, 5, 6, 7, 8, 9])
            #expect(result.corruptRegions.count == 1)
            #expect(result.corruptRegions.first?.missingRecords == 1)
            #expect(topic.stats.corruptRegionsRead == 1)

            // Seeking into and past the damaged record works.
            #expect(try topic.readAll(partition: 0, from: 4).first?.offset == 5)
            #expect(try topic.readAll(partition: 0, from: 6).first?.offset == 6)

            let verification = try topic.verify()
            #expect(!verification.isClean)
            #expect(verification.corruptRecords == 1)
            #expect(verification.validRecords == 9)

            // Appends continue after the last valid record.
            #expect(try topic.append(makeBatch(0..<1)).ranges.first?.firstOffset == 10)
            try topic.close()
        }
    }

    @Test func corruptionOfTheLastRecordLooksLikeATornTail() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            try writeTenRecords(path)
            try flipByte(segmentPath(path, partition: 0, base: 0), at: 9 * frameBytes + 50)
            let topic = try LogTopic.open(directory: path, config: TopicConfig(partitions: 1), logger: LogCapture().logger)
            #expect(topic.recoveryReport.truncatedBytes == frameBytes)
            #expect(topic.recoveryReport.corruptRegions.isEmpty)
            #expect(topic.endOffset(partition: 0) == 9)
            try topic.close()
        }
    }

    @Test func readersSkipCorruptionInClosedSegments() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, indexIntervalBytes: 1024, fsync: .every)
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.append(makeBatch(0..<10, key: { _ in "k" }, payloadBytes: 20))
            try topic.append(makeBatch(10..<200, key: { _ in "k" }, payloadBytes: 20))
            try topic.close()
            // Record 2 of the first (closed) segment.
            try flipByte(segmentPath(path, partition: 0, base: 0), at: 2 * frameBytes + 60)

            let capture = LogCapture()
            let reopened = try LogTopic.open(directory: path, config: config, logger: capture.logger)
            #expect(reopened.recoveryReport.isClean)   // only the active segment is scanned on open
            let reader = reopened.reader(partition: 0)
            var offsets: [Int64] = []
            let result = try reader.read { offsets.append($0.offset) }
            #expect(offsets == [0, 1] + Array(3..<200))
            #expect(result.corruptRegions.map(\.firstMissingOffset) == [2])
            #expect(capture.warnings.contains { $0.message.contains("corrupt") })
            let verification = try reopened.verify()
            #expect(verification.corruptRecords == 1)
            #expect(verification.validRecords == 199)
            try reopened.close()
        }
    }

    @Test func readOnlyOpenReportsButDoesNotRepair() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            try writeTenRecords(path)
            let log = segmentPath(path, partition: 0, base: 0)
            truncateFile(log, to: 10 * frameBytes - 5)
            let inspector = try LogTopic.openReadOnly(directory: path, logger: LogCapture().logger)
            #expect(inspector.recoveryReport.truncatedBytes == frameBytes - 5)
            #expect(inspector.endOffset(partition: 0) == 9)
            #expect(try inspector.readAll(partition: 0).count == 9)
            #expect(fileSize(log) == 10 * frameBytes - 5)
            let verification = try inspector.verify()
            #expect(verification.isClean)
            #expect(verification.validRecords == 9)
        }
    }

    @Test func aMissingIndexIsRebuilt() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, indexIntervalBytes: 256, fsync: .none)
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.append(makeBatch(0..<300, key: { _ in "k" }, payloadBytes: 20))
            try topic.close()
            let index = segmentPath(path, partition: 0, base: 0, ext: "index")
            let original = try FileSystem.readAll(index)
            #expect(unlink(index) == 0)
            let reopened = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            #expect(reopened.recoveryReport.partitions[0].rebuiltIndexes == 1)
            #expect(try FileSystem.readAll(index) == original)
            #expect(try reopened.readAll(partition: 0, from: 37).first?.offset == 37)
            try reopened.close()
        }
    }

    @Test func aDamagedIndexEntryNeverMisleadsASeek() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, indexIntervalBytes: 256, fsync: .none)
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.append(makeBatch(0..<100, key: { _ in "k" }, payloadBytes: 20))
            try topic.flush()
            // Point the second index entry at a wrong position (inside a frame).
            try flipByte(segmentPath(path, partition: 0, base: 0, ext: "index"), at: 8 + 4)
            let capture = LogCapture()
            let inspector = try LogTopic.openReadOnly(directory: path, logger: capture.logger)
            for target in Int64(0)..<100 {
                #expect(try inspector.readAll(partition: 0, from: target).first?.offset == target)
            }
            #expect(capture.warnings.isEmpty)
            try topic.close()
        }
    }
}
