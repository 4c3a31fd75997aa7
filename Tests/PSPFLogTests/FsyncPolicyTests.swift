import Testing
@testable import PSPFLog

@Suite("Fsync policies")
struct FsyncPolicyTests {
    @Test func everyFsyncsEachGroupBeforeFlushReturns() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 1, fsync: .every), logger: LogCapture().logger)
            for i in 0..<5 {
                try topic.append(makeBatch(i..<(i + 1)))
                try topic.flush()
                #expect(topic.stats.fsyncs == Int64(i + 1))
                #expect(topic.endOffset(partition: 0) == Int64(i + 1))
            }
            try topic.flush()   // nothing new: no further fsync
            #expect(topic.stats.fsyncs == 5)
            try topic.close()
        }
    }

    @Test func noneWritesWithoutFsyncUntilSyncIsCalled() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 2, fsync: .none), logger: LogCapture().logger)
            try topic.append(makeBatch(0..<100))
            try topic.flush()
            #expect(topic.stats.fsyncs == 0)
            #expect(topic.endOffset(partition: 0) + topic.endOffset(partition: 1) == 100)   // visible once written
            try topic.sync()
            #expect(topic.stats.fsyncs == 2)    // one per partition written
            try topic.sync()
            #expect(topic.stats.fsyncs == 2)
            try topic.close()
        }
    }

    @Test func intervalGroupsWritesUntilTheClockSaysSo() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(10_000)
            let topic = try LogTopic.open(
                directory: dir + "/t", config: TopicConfig(partitions: 1, fsync: .interval(milliseconds: 100)),
                clock: clock.logClock, logger: LogCapture().logger
            )
            try topic.append(makeBatch(0..<10))
            try topic.waitUntilWritten()
            #expect(topic.stats.fsyncs == 0)
            #expect(topic.endOffset(partition: 0) == 0)           // written, not yet durable: not readable
            #expect(topic.appendedEndOffset(partition: 0) == 10)

            clock.set(10_050)
            try topic.append(makeBatch(10..<20))                  // joins the same group
            try topic.waitUntilWritten()
            #expect(topic.stats.fsyncs == 0)

            clock.set(10_100)                                     // 100 ms after the first write
            try await topic.flush()
            #expect(topic.stats.fsyncs == 1)
            #expect(topic.endOffset(partition: 0) == 20)

            try topic.append(makeBatch(20..<30))
            try topic.waitUntilWritten()
            clock.set(10_199)
            try topic.waitUntilWritten()
            #expect(topic.stats.fsyncs == 1)
            clock.set(10_200)
            try await topic.flush()
            #expect(topic.stats.fsyncs == 2)

            // sync() forces an fsync regardless of the interval.
            try topic.append(makeBatch(30..<31))
            try await topic.sync()
            #expect(topic.stats.fsyncs == 3)
            try topic.close()
        }
    }
}
