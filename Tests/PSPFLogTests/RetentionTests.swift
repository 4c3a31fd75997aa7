import Testing
@testable import PSPFLog

/// 74-byte frames (key "k", topic "sensors/<digit>", 20-byte payload) would vary with the
/// topic length; these tests use key "k", topic "" and 29-byte payloads: 44 + 1 + 29 = 74 bytes,
/// 55 frames per 4096-byte segment.
private func records(_ range: Range<Int>) -> LogBatch {
    var batch = LogBatch()
    for i in range {
        batch.append(AppendRecord(key: bytes("k"), topic: [], payload: Array(repeating: UInt8(i & 0xFF), count: 29)))
    }
    return batch
}

private func segmentBases(_ path: String, partition: Int = 0) throws -> [Int64] {
    try FileSystem.list("\(path)/p\(partition)").filter { $0.hasSuffix(".log") }.map { Int64($0.dropLast(4))! }
}

@Suite("Retention")
struct RetentionTests {
    @Test func sizeRetentionNeverDeletesWhatAGroupHasNotRead() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(
                partitions: 1, segmentBytes: 4096, fsync: .none, retention: Retention(maxBytes: 3 * 4096 + 1024)
            )
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.groups.register(group: "sink")
            try topic.append(records(0..<550))   // 10 segments of 55
            try topic.flush()
            #expect(try segmentBases(path) == stride(from: 0, to: 550, by: 55).map { Int64($0) })

            #expect(try topic.enforceRetention().deletedSegments == 0)
            #expect(topic.startOffset(partition: 0) == 0)

            // Read up to 200: only segments ending at or before 200 may go.
            try topic.groups.commit(group: "sink", partition: 0, nextOffset: 200)
            let report = try topic.enforceRetention()
            #expect(report.deletedSegments == 3)          // [0,55) [55,110) [110,165)
            #expect(report.deletedRecords == 165)
            #expect(report.unconsumedRecordsDropped == 0)
            #expect(topic.startOffset(partition: 0) == 165)
            #expect(try segmentBases(path).first == 165)

            // Everything read: down to the size limit (the active segment always stays).
            try topic.groups.commit(group: "sink", partition: 0, nextOffset: 550)
            try topic.enforceRetention()
            #expect(topic.diskBytes <= 3 * 4096 + 1024)
            #expect(topic.startOffset(partition: 0) == 385)

            // A reader positioned at a deleted offset continues at the start and says so.
            let reader = topic.reader(partition: 0)
            let result = try reader.read(from: 100, maxRecords: 1) { _ in }
            #expect(result.deletedRecordsSkipped == 285)
            #expect(reader.nextOffset == 386)
            #expect(topic.stats.segmentsDeleted == 7)
            try topic.close()
        }
    }

    @Test func ageRetentionUsesTheClockAndRespectsGroups() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let clock = ManualClock(1_000_000)
            let config = TopicConfig(
                partitions: 1, segmentBytes: 4096, fsync: .every, retention: Retention(maxAge: .seconds(3600))
            )
            let topic = try LogTopic.open(directory: path, config: config, clock: clock.logClock, logger: LogCapture().logger)
            try topic.groups.register(group: "g")
            try topic.append(records(0..<110))         // segments [0,55) and [55,110) at t0
            clock.advance(by: 2 * 3_600_000)
            try topic.append(records(110..<111))       // rolls: segment 110 at t0 + 2h
            try topic.flush()
            #expect(try segmentBases(path) == [0, 55, 110])

            #expect(try topic.enforceRetention().deletedSegments == 0)   // g has read nothing
            try topic.groups.commit(group: "g", partition: 0, nextOffset: 60)
            #expect(try topic.enforceRetention().deletedSegments == 1)
            #expect(try segmentBases(path) == [55, 110])
            try topic.groups.commit(group: "g", partition: 0, nextOffset: 111)
            // Not old yet at an earlier time.
            #expect(try topic.enforceRetention(now: 1_000_000 + 3_600_000 - 1).deletedSegments == 0)
            #expect(try topic.enforceRetention().deletedSegments == 1)
            #expect(try segmentBases(path) == [110])
            #expect(topic.startOffset(partition: 0) == 110)
            try topic.close()
        }
    }

    @Test func withoutGroupsRetentionDeletesFreely() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, fsync: .none, retention: Retention(maxBytes: 8192))
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.append(records(0..<550))
            try topic.flush()
            try topic.enforceRetention()
            #expect(topic.diskBytes <= 8192)
            try topic.close()
        }
    }

    @Test func quotaBlockRejectsAppendsUntilConsumedDataCanGo() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, fsync: .every, diskQuotaBytes: 3 * 4096, quotaPolicy: .block)
            let capture = LogCapture()
            let topic = try LogTopic.open(directory: path, config: config, logger: capture.logger)
            try topic.groups.register(group: "sink")
            var appended = 0
            var rejection: LogError?
            while appended < 1_000 {
                do {
                    try topic.append(records(appended..<(appended + 5)))
                    try topic.flush()
                    appended += 5
                } catch let error as LogError {
                    rejection = error
                    break
                }
            }
            #expect(rejection?.code == .quotaExceeded)
            #expect(topic.stats.quotaRejections == 1)
            #expect(topic.diskBytes <= 3 * 4096)
            #expect(topic.quota.quotaBytes == Int64(3 * 4096))
            #expect(topic.stats.segmentsDeleted == 0)      // nothing unconsumed is ever deleted under .block
            #expect(topic.startOffset(partition: 0) == 0)
            #expect { try topic.append(records(0..<5)) } throws: { ($0 as? LogError)?.code == .quotaExceeded }

            // The sink catches up; the next retention run frees the consumed segments.
            try topic.groups.commit(group: "sink", partition: 0, nextOffset: Int64(appended))
            try topic.enforceRetention()
            #expect(topic.startOffset(partition: 0) > 0)
            #expect(!topic.isOverQuota)
            try topic.append(records(0..<5))
            try topic.flush()
            #expect(topic.endOffset(partition: 0) == Int64(appended + 5))
            try topic.close()
        }
    }

    @Test func quotaDropOldestDeletesUnconsumedDataCountedAndLogged() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, fsync: .none, diskQuotaBytes: 3 * 4096 + 2048, quotaPolicy: .dropOldest)
            let capture = LogCapture()
            let topic = try LogTopic.open(directory: path, config: config, logger: capture.logger)
            try topic.groups.register(group: "sink")
            for chunk in 0..<10 {
                try topic.append(records((chunk * 55)..<(chunk * 55 + 55)))
            }
            try topic.flush()
            try topic.enforceRetention()
            #expect(topic.diskBytes <= 3 * 4096 + 2048)
            let start = topic.startOffset(partition: 0)
            #expect(start > 0)
            let stats = topic.stats
            #expect(stats.quotaDeletedSegments == Int64(start / 55))
            #expect(stats.unconsumedRecordsDropped == start)
            #expect(capture.warnings.contains { $0.message.contains("quota forced deletion") })
            #expect(try topic.readAll(partition: 0).count == Int(550 - start))
            try topic.close()
        }
    }

    @Test func retentionPicksTheOldestSegmentAcrossPartitions() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let clock = ManualClock(0)
            let config = TopicConfig(partitions: 2, segmentBytes: 4096, fsync: .none, retention: Retention(maxBytes: 6 * 4096))
            let topic = try LogTopic.open(directory: path, config: config, clock: clock.logClock, logger: LogCapture().logger)
            var batch = LogBatch()
            for i in 0..<220 { batch.append(AppendRecord(key: bytes("k"), payload: Array(repeating: 0, count: 29), partition: 0)); _ = i }
            try topic.append(batch)          // partition 0: 4 segments, old
            try topic.flush()
            clock.advance(by: 1_000)
            batch.removeAll()
            for _ in 0..<220 { batch.append(AppendRecord(key: bytes("k"), payload: Array(repeating: 0, count: 29), partition: 1)) }
            try topic.append(batch)          // partition 1: 4 segments, newer
            try topic.flush()
            try topic.enforceRetention()
            #expect(topic.diskBytes <= 6 * 4096)
            #expect(topic.startOffset(partition: 0) > 0)
            #expect(topic.startOffset(partition: 1) == 0)
            try topic.close()
        }
    }
}
