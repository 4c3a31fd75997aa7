import Testing
@testable import PSPFLog

@Suite("Truncation")
struct TruncationTests {
    private func records(_ range: Range<Int>, tag: String = "v") -> LogBatch {
        var batch = LogBatch()
        for i in range { batch.append(AppendRecord(key: bytes("k"), payload: bytes("\(tag)\(i)"), partition: 0)) }
        return batch
    }

    @Test(arguments: [Int64(0), 1, 30, 84, 85, 86, 150, 170, 199])
    func truncateRemovesTheTailDurably(to offset: Int64) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t"
            let config = TopicConfig(partitions: 1, segmentBytes: 4096, indexIntervalBytes: 256, fsync: .none)
            let topic = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            try topic.append(records(0..<200))
            try topic.flush()
            try topic.truncate(partition: 0, to: offset)
            #expect(topic.endOffset(partition: 0) == offset)
            #expect(topic.appendedEndOffset(partition: 0) == offset)
            #expect(try topic.readAll(partition: 0).map(\.offset) == Array(0..<offset))
            let next = try topic.append(records(0..<3, tag: "new"))
            #expect(next.ranges.first?.firstOffset == offset)
            try topic.flush()
            try topic.close()

            let reopened = try LogTopic.open(directory: path, config: config, logger: LogCapture().logger)
            #expect(reopened.recoveryReport.isClean)
            #expect(reopened.endOffset(partition: 0) == offset + 3)
            let all = try reopened.readAll(partition: 0)
            #expect(all.map(\.offset) == Array(0..<(offset + 3)))
            #expect(all.suffix(3).map { text($0.payload) } == ["new0", "new1", "new2"])
            for target in stride(from: Int64(0), to: offset + 3, by: 7) {
                #expect(try reopened.readAll(partition: 0, from: target).first?.offset == target)
            }
            #expect(try reopened.verify().isClean)
            try reopened.close()
        }
    }

    @Test func truncateCutsRecordsStillWaitingForTheWriter() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 1, fsync: .none), logger: LogCapture().logger)
            try topic.append(records(0..<10))
            try topic.truncate(partition: 0, to: 5)
            try topic.append(records(5..<7, tag: "after"))
            try topic.flush()
            #expect(try topic.readAll(partition: 0).map { text($0.payload) } == ["v0", "v1", "v2", "v3", "v4", "after5", "after6"])
            try topic.close()
        }
    }

    @Test func readersSeeTheNewDataAfterATruncation() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 1, fsync: .none), logger: LogCapture().logger)
            try topic.append(records(0..<100))
            try await topic.flush()
            let reader = topic.reader(partition: 0)
            #expect(try reader.read { _ in }.records == 100)
            try await topic.truncate(partition: 0, to: 50)
            try topic.append(records(50..<60, tag: "new"))
            try await topic.flush()
            let payloads = try collect(reader, from: 48).map { text($0.payload) }
            #expect(payloads == ["v48", "v49"] + (50..<60).map { "new\($0)" })
            try topic.close()
        }
    }

    @Test func truncateBeyondTheEndIsRejected() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 1), logger: LogCapture().logger)
            try topic.append(records(0..<10))
            #expect { try topic.truncate(partition: 0, to: 11) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            #expect { try topic.truncate(partition: 1, to: 0) } throws: { ($0 as? LogError)?.code == .invalidArgument }
            try topic.truncate(partition: 0, to: 10)   // no-op
            try topic.flush()
            #expect(topic.endOffset(partition: 0) == 10)
            try topic.close()
        }
    }
}

