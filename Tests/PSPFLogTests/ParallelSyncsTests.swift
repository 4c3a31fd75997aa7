import Foundation
import Synchronization
import Testing
@testable import PSPFLog

#if canImport(Glibc)
import Glibc
#endif

@Suite("Parallel fsyncs of a writer cycle")
struct ParallelSyncsTests {
    @Test func runsEveryIndexOnceAcrossManyCalls() {
        let syncs = ParallelSyncs(maxHelpers: 3)
        defer { syncs.stop() }
        for count in [0, 1, 2, 4, 9] {
            for _ in 0..<200 {
                let hits = Mutex([Int](repeating: 0, count: count))
                syncs.perform(count) { index in hits.withLock { $0[index] += 1 } }
                #expect(hits.withLock { $0 } == [Int](repeating: 1, count: count))
            }
        }
    }

    /// Four jobs that each wait until all four are running at once: only concurrent execution
    /// completes (sequential execution would fail after the generous failsafe deadline).
    @Test func runsTheJobsOfOneCallConcurrently() {
        let syncs = ParallelSyncs(maxHelpers: 3)
        defer { syncs.stop() }
        let arrived = Atomic<Int>(0)
        let allRan = Mutex([Bool](repeating: false, count: 4))
        syncs.perform(4) { index in
            arrived.add(1, ordering: .sequentiallyConsistent)
            let deadline = monotonicNanoseconds() + 10_000_000_000
            while arrived.load(ordering: .sequentiallyConsistent) < 4, monotonicNanoseconds() < deadline {
                sched_yield()
            }
            allRan.withLock { $0[index] = arrived.load(ordering: .sequentiallyConsistent) == 4 }
        }
        #expect(allRan.withLock { $0 } == [true, true, true, true])
    }

    @Test func withoutHelpersRunsInlineInOrder() {
        let syncs = ParallelSyncs(maxHelpers: 0)
        var order: [Int] = []
        syncs.perform(5) { order.append($0) }
        #expect(order == [0, 1, 2, 3, 4])
        syncs.stop()
    }

    @Test func aTopicWithFourPartitionsSyncsEachWrittenPartitionOnce() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(
                directory: dir + "/t", config: TopicConfig(partitions: 4, fsync: .every), logger: LogCapture().logger)
            for round in 1...20 {
                try topic.append(makeBatch(((round - 1) * 40)..<(round * 40)))
                try topic.flush()
                #expect(topic.stats.fsyncs == Int64(round * 4))
            }
            #expect((0..<4).reduce(Int64(0)) { $0 + topic.endOffset(partition: $1) } == 800)
            try topic.close()
            let reopened = try LogTopic.open(directory: dir + "/t", config: TopicConfig(partitions: 4), logger: LogCapture().logger)
            #expect((0..<4).reduce(Int64(0)) { $0 + reopened.endOffset(partition: $1) } == 800)
            try reopened.close()
        }
    }

    @Test func theWriterAndItsSyncHelpersAreNamedAfterTheTopic() async throws {
        try await withTemporaryDirectory { dir in
            let topic = try LogTopic.open(
                directory: dir + "/named", config: TopicConfig(partitions: 3, fsync: .every), logger: LogCapture().logger)
            try topic.append(makeBatch(0..<30))
            try topic.flush()  // the writer has run a cycle with helpers by now
            let names = threadNames()
            #expect(names.contains("log:named"))
            #expect(names.filter { $0 == "fsync:named" }.count == 2)
            try topic.close()
        }
    }

    private func threadNames() -> [String] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
        return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}
