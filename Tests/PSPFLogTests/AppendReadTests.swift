#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import PSPFLog

@Suite("Append and read")
struct AppendReadTests {
    @Test func appendsAreRoutedByKeyAndReadBack() async throws {
        try await withTemporaryDirectory { dir in
            let capture = LogCapture()
            let topic = try LogTopic.open(
                directory: dir + "/input", config: TopicConfig(partitions: 4, fsync: .every), logger: capture.logger
            )
            let result = try topic.append(makeBatch(0..<200, key: { "dev-\($0 % 10)" }))
            #expect(result.recordCount == 200)
            try topic.flush()
            var total = 0
            for p in 0..<4 {
                let records = try topic.readAll(partition: p)
                total += records.count
                #expect(records.map(\.offset) == Array(0..<Int64(records.count)))
                #expect(topic.endOffset(partition: p) == Int64(records.count))
                #expect(result.range(partition: p)?.count ?? 0 == records.count)
                for record in records {
                    #expect(topic.partition(forKey: record.key) == p)
                    #expect(record.partition == p)
                    let i = Int(record.eventTime!)
                    #expect(text(record.key) == "dev-\(i % 10)")
                    #expect(text(record.topic) == "sensors/\(i)")
                    #expect(text(record.payload) == "payload-\(i)")
                }
                // Records of one key keep their order.
                let times = records.map { $0.eventTime! }
                for key in 0..<10 {
                    let ofKey = times.filter { $0 % 10 == Int64(key) }
                    #expect(ofKey == ofKey.sorted())
                }
            }
            #expect(total == 200)
            #expect(topic.recoveryReport.isClean)
            try topic.close()
            #expect(capture.warnings.isEmpty)
        }
    }

    @Test func appendTimeComesFromTheClockAndEventTimeIsOptional() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(5_000)
            let topic = try LogTopic.open(
                directory: dir + "/t", config: TopicConfig(partitions: 1, fsync: .none), clock: clock.logClock, logger: LogCapture().logger
            )
            var batch = LogBatch()
            batch.append(AppendRecord(key: bytes("a"), payload: bytes("x"), eventTime: nil, attributes: 0xBEEF))
            try topic.append(batch)
            clock.advance(by: 10)
            let position = try bytes("b").withUnsafeBytes { key in
                try bytes("topic").withUnsafeBytes { t in
                    try bytes("y").withUnsafeBytes { payload in
                        try topic.append(key: key, topic: t, payload: payload, eventTime: 42)
                    }
                }
            }
            #expect(position == LogPosition(partition: 0, offset: 1))
            try topic.flush()
            let records = try topic.readAll(partition: 0)
            #expect(records.count == 2)
            #expect(records[0].eventTime == nil)
            #expect(records[0].appendTime == 5_000)
            #expect(records[0].attributes == 0xBEEF)
            #expect(records[1].eventTime == 42)
            #expect(records[1].appendTime == 5_010)
            #expect(text(records[1].topic) == "topic")
            try topic.close()
        }
    }

    @Test func emptyKeysGoRoundRobinAndExplicitPartitionsAreHonoured() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 3, fsync: .none), logger: LogCapture().logger)
            var batch = LogBatch()
            for i in 0..<6 { batch.append(AppendRecord(key: [], payload: bytes("\(i)"))) }
            batch.append(AppendRecord(key: bytes("x"), payload: bytes("explicit"), partition: 2))
            try topic.append(batch)
            try topic.flush()
            #expect(try topic.readAll(partition: 0).map { text($0.payload) } == ["0", "3"])
            #expect(try topic.readAll(partition: 1).map { text($0.payload) } == ["1", "4"])
            #expect(try topic.readAll(partition: 2).map { text($0.payload) } == ["2", "5", "explicit"])
            var bad = LogBatch()
            bad.append(AppendRecord(key: bytes("x"), payload: bytes("p"), partition: 3))
            #expect { try topic.append(bad) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            try topic.close()
        }
    }

    @Test func recordsLargerThanTheLimitAreRejected() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(
                directory: dir + "/t", config: TopicConfig(partitions: 1, maxRecordBytes: 100), logger: LogCapture().logger
            )
            #expect { try topic.append(makeBatch(0..<1, payloadBytes: 200)) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            try topic.append(makeBatch(0..<1, payloadBytes: 50))
            try topic.close()
        }
    }

    @Test func seeksToAnyOffsetThroughTheSparseIndex() async throws {
        try await withTemporaryDirectory { dir in
            let config = TopicConfig(partitions: 1, segmentBytes: 16 << 10, indexIntervalBytes: 256, fsync: .none)
            let topic = try LogTopic.open(directory: dir + "/t", config: config, logger: LogCapture().logger)
            try topic.append(makeBatch(0..<2_000, payloadBytes: 40))
            try topic.flush()
            #expect(topic.info(partition: 0).segments > 5)
            let index = segmentPath(dir + "/t", partition: 0, base: 0, ext: "index")
            #expect(fileSize(index) > 8 * 10)
            let reader = topic.reader(partition: 0)
            var state: UInt64 = 7
            for _ in 0..<200 {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                let target = Int64(state >> 33) % 2_000
                var seen: [Int64] = []
                try reader.read(from: target, maxRecords: 3) { seen.append($0.offset) }
                let expected = Array(target..<min(target + 3, 2_000))
                #expect(seen == expected)
                #expect(reader.nextOffset == (expected.last ?? target) + 1)
            }
            // Reading past the end returns nothing; reading from 0 in small steps covers everything.
            #expect(try reader.read(from: 2_000) { _ in }.records == 0)
            reader.seek(to: 0)
            var all: [Int64] = []
            while true {
                let result = try reader.read(maxRecords: 333) { all.append($0.offset) }
                if result.records == 0 { break }
            }
            #expect(all == Array(0..<2_000))
            try topic.close()
        }
    }

    @Test func maxBytesBoundsARead() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 1, fsync: .none), logger: LogCapture().logger)
            try topic.append(makeBatch(0..<100, payloadBytes: 100))
            try topic.flush()
            let reader = topic.reader(partition: 0)
            let result = try reader.read(maxBytes: 1_000) { _ in }
            let frame = 44 + "key-0".utf8.count + "sensors/0".utf8.count + 100
            #expect(result.records == (1_000 + frame - 1) / frame)
            #expect(result.nextOffset == Int64(result.records))
            try topic.close()
        }
    }

    @Test func segmentsRollAtTheConfiguredSizeAndAreNamedByBaseOffset() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, indexIntervalBytes: 512, fsync: .every)
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            for chunk in 0..<10 {
                try topic.append(makeBatch((chunk * 20)..<(chunk * 20 + 20), payloadBytes: 100))
            }
            try topic.flush()
            let files = try FileSystem.list(path + "/p0")
            let logs = files.filter { $0.hasSuffix(".log") }
            #expect(logs.count == topic.info(partition: 0).segments)
            #expect(logs.count >= 200 * 170 / 4096)
            #expect(logs.first == "00000000000000000000.log")
            #expect(files.contains("00000000000000000000.index"))
            for name in logs {
                #expect(fileSize(path + "/p0/" + name) <= 4096)
                // The first record of each segment has the segment's base offset.
                let base = Int64(name.dropLast(4))!
                let first = try topic.readAll(partition: 0, from: base).first
                #expect(first?.offset == base)
            }
            #expect(try topic.readAll(partition: 0).map(\.offset) == Array(0..<200))
            #expect(topic.stats.segmentsRolled == Int64(logs.count - 1))
            try topic.close()

            // Reopen: same offsets, appends continue.
            let reopened = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            #expect(reopened.recoveryReport.isClean)
            #expect(reopened.endOffset(partition: 0) == 200)
            #expect(reopened.startOffset(partition: 0) == 0)
            let result = try reopened.append(makeBatch(200..<201))
            #expect(result.ranges.first?.firstOffset == 200)
            try reopened.flush()
            #expect(try reopened.readAll(partition: 0, from: 150).map(\.offset) == Array(150..<201))
            try reopened.close()
        }
    }

    @Test func aRecordLargerThanASegmentGetsOneOfItsOwn() async throws {
        try await withTemporaryDirectory { dir in
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, fsync: .none)
            let topic = try LogTopic.open(directory: dir + "/t", config: config, logger: LogCapture().logger)
            try topic.append(makeBatch(0..<1, payloadBytes: 10))
            try topic.append(makeBatch(1..<2, payloadBytes: 10_000))
            try topic.append(makeBatch(2..<3, payloadBytes: 10))
            try topic.flush()
            #expect(topic.info(partition: 0).segments == 3)
            #expect(try topic.readAll(partition: 0).map(\.payload.count) == [10, 10_000, 10])
            try topic.close()
        }
    }

    @Test func asyncAppendAwaitsDurabilityAndReadersCanWaitForRecords() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(
                directory: dir + "/t", config: TopicConfig(partitions: 2, fsync: .every), logger: LogCapture().logger
            )
            let waiter = Task { try await topic.waitForRecords(partition: 1, from: 0) }
            var batch = LogBatch()
            batch.append(AppendRecord(key: bytes("k"), payload: bytes("v"), partition: 1))
            let result = try await topic.appendDurably(batch)
            #expect(result.ranges == [AppendResult.Range(partition: 1, firstOffset: 0, count: 1)])
            // Durable and visible as soon as the append returns.
            #expect(topic.endOffset(partition: 1) == 1)
            try await waiter.value
            try await topic.waitForRecords(partition: 1, from: 0)   // returns at once

            let cancelled = Task { try await topic.waitForRecords(partition: 0, from: 0) }
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }

            try await topic.flush()
            try await topic.sync()
            try topic.close()
            await #expect { try await topic.appendDurably(batch) } throws: { ($0 as? LogError)?.code == .closed }
        }
    }

    /// The MQTT pattern: a producer on its own thread appends each message from raw buffers,
    /// then calls one blocking flush before acknowledging; after it everything is durable and
    /// readable.
    @Test func aProducerThreadAppendsThenFlushesOnce() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(
                directory: dir + "/t", config: TopicConfig(partitions: 2, fsync: .interval(milliseconds: 1)), logger: LogCapture().logger
            )
            let visibleAfterFlush = LockedValue<[Int64]>([])
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                let thread = Thread {
                    do {
                        let topicBytes = Array("sensors/x".utf8)
                        for round in 0..<20 {
                            for i in 0..<50 {
                                let key = Array("dev-\(i % 5)".utf8)
                                let payload = Array("m\(round)-\(i)".utf8)
                                try key.withUnsafeBytes { k in
                                    try topicBytes.withUnsafeBytes { t in
                                        try payload.withUnsafeBytes { p in _ = try topic.append(key: k, topic: t, payload: p) }
                                    }
                                }
                            }
                            try topic.flush()
                            let visible = topic.endOffset(partition: 0) + topic.endOffset(partition: 1)
                            visibleAfterFlush.withLock { $0.append(visible) }
                        }
                        done.resume()
                    } catch {
                        done.resume(throwing: error)
                    }
                }
                thread.start()
            }
            #expect(visibleAfterFlush.withLock { $0 } == (1...20).map { Int64($0 * 50) })
            try topic.close()
        }
    }

    /// A consumer follows a producer across segment rolls, waiting for records, and sees every
    /// record exactly once, in order.
    @Test(arguments: [FsyncPolicy.none, .every, .interval(milliseconds: 1)])
    func aTailingReaderSeesEveryRecordOnce(policy: FsyncPolicy) async throws {
        try await withTemporaryDirectory { dir in
            let config = TopicConfig(partitions: 1, segmentBytes: 8192, indexIntervalBytes: 512, fsync: policy)
            let topic = try LogTopic.open(directory: dir + "/t", config: config, logger: LogCapture().logger)
            let total = 3_000
            async let consumed: [Int64] = {
                let reader = topic.reader(partition: 0)
                var seen: [Int64] = []
                while seen.count < total {
                    try await topic.waitForRecords(partition: 0, from: reader.nextOffset)
                    seen += try collectOffsets(reader, max: 137)
                }
                return seen
            }()
            for start in stride(from: 0, to: total, by: 100) {
                try await topic.appendDurably(makeBatch(start..<(start + 100), key: { _ in "k" }))
            }
            let offsets = try await consumed
            #expect(offsets == Array(0..<Int64(total)))
            #expect(topic.info(partition: 0).segments > 10)
            try topic.close()
        }
    }

    @Test func withTopicClosesEvenWhenTheBodyThrows() async throws {
        try await withTemporaryDirectory { dir in
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await LogTopic.withTopic(directory: dir + "/t", config: TopicConfig(), logger: LogCapture().logger) { topic in
                    try topic.append(makeBatch(0..<3))
                    throw Boom()
                }
            }
            // Closed: the lock is free again and the appended records were written.
            let count = try await LogTopic.withTopic(directory: dir + "/t", config: TopicConfig(), logger: LogCapture().logger) { topic in
                topic.endOffset(partition: 0)
            }
            #expect(count == 3)
        }
    }

    @Test func concurrentAppendersGetDistinctContiguousOffsets() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(
                directory: dir + "/t", config: TopicConfig(partitions: 2, fsync: .interval(milliseconds: 1)), logger: LogCapture().logger
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                for producer in 0..<4 {
                    group.addTask {
                        for round in 0..<25 {
                            let start = producer * 1_000 + round * 10
                            try await topic.appendDurably(makeBatch(start..<(start + 10), key: { "k\($0 % 7)" }))
                        }
                    }
                }
                try await group.waitForAll()
            }
            var eventTimes: [Int64] = []
            for p in 0..<2 {
                let records = try topic.readAll(partition: p)
                #expect(records.map(\.offset) == Array(0..<Int64(records.count)))
                eventTimes += records.map { $0.eventTime! }
            }
            #expect(eventTimes.count == 1_000)
            #expect(Set(eventTimes).count == 1_000)
            #expect(topic.stats.appendedRecords == 1_000)
            try topic.close()
        }
    }

    @Test func aSecondWriterIsLockedOutAndThePartitionCountIsFixed() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let topic = try LogTopic.open(directory: path, config: TopicConfig(partitions: 2), logger: LogCapture().logger)
            #expect { try LogTopic.open(directory: path, config: TopicConfig(partitions: 2), logger: LogCapture().logger) }
                throws: { ($0 as? LogError)?.code == .locked }
            try topic.close()
            #expect { try LogTopic.open(directory: path, config: TopicConfig(partitions: 3), logger: LogCapture().logger) }
                throws: { ($0 as? LogError)?.code == .topicMismatch }
            #expect { try LogTopic.open(directory: path, config: TopicConfig(partitions: 0), logger: LogCapture().logger) }
                throws: { ($0 as? LogError)?.code == .invalidConfig }
        }
    }

    @Test func partitionedLogListsAndOpensTopics() async throws {
        try await withTemporaryDirectory { dir in
            let log = try PartitionedLog(directory: dir + "/log", logger: LogCapture().logger)
            let input = try log.topic("input", config: TopicConfig(partitions: 2))
            let again = try log.topic("input", config: TopicConfig(partitions: 2))
            #expect(input === again)
            _ = try log.topic("results", config: TopicConfig(partitions: 1))
            #expect(try log.topicNames() == ["input", "results"])
            #expect { try log.topic("../x", config: TopicConfig()) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            try log.close()
        }
    }

    @Test func readOnlyOpenSeesTheDataAndRefusesWrites() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let topic = try LogTopic.open(directory: path, config: TopicConfig(partitions: 2, fsync: .every), logger: LogCapture().logger)
            try topic.append(makeBatch(0..<50))
            try topic.flush()
            // Inspect while the writer still has it open.
            let inspector = try LogTopic.openReadOnly(directory: path, logger: LogCapture().logger)
            #expect(inspector.partitionCount == 2)
            #expect(inspector.endOffset(partition: 0) + inspector.endOffset(partition: 1) == 50)
            #expect(try inspector.readAll(partition: 0).count == Int(inspector.endOffset(partition: 0)))
            #expect { try inspector.append(makeBatch(0..<1)) } throws: { ($0 as? LogError)?.code == .readOnly }
            #expect(try inspector.verify().isClean)
            try topic.close()
        }
    }
}
