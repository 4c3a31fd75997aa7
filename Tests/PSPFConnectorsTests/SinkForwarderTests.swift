import Logging
import PSPFJSON
import PSPFLog
import PSPFRuntime
import PSPFTesting
import Synchronization
import Testing

@testable import PSPFConnectors

/// Counts events and lets a test await a count without sleeping.
final class Counter: Sendable {
    private let state = Mutex<(count: Int, waiters: [(Int, CheckedContinuation<Void, Never>)])>((0, []))

    func add(_ n: Int = 1) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count += n
            let due = state.waiters.filter { $0.0 <= state.count }.map(\.1)
            state.waiters.removeAll { $0.0 <= state.count }
            return due
        }
        ready.forEach { $0.resume() }
    }

    var value: Int { state.withLock { $0.count } }

    func wait(for target: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.count >= target { return true }
                state.waiters.append((target, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// Accepts every batch, recording the ids in order.
final class CollectingSink: OutputSink {
    let name: String
    let retryPolicy = RetryPolicy(initialDelay: .milliseconds(1))
    let ids = Mutex<[String]>([])
    let counter = Counter()

    init(name: String = "collect") { self.name = name }

    func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome {
        ids.withLock { $0 += records.map(\.id) }
        counter.add(records.count)
        return .delivered
    }
}

/// Accepts every batch and records any result at or above the read limit in force.
final class LimitCheckingSink: OutputSink {
    let name = "limited"
    let retryPolicy = RetryPolicy(initialDelay: .milliseconds(1))
    let limit: Observed<Int64>
    let ids = Mutex<[String]>([])
    let violations = Mutex<[Int64]>([])
    let counter = Counter()

    init(limit: Observed<Int64>) { self.limit = limit }

    func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome {
        let bound = limit.value
        violations.withLock { $0 += records.map(\.offset).filter { $0 >= bound } }
        ids.withLock { $0 += records.map(\.id) }
        counter.add(records.count)
        return .delivered
    }
}

/// Records the size of every batch it accepts.
final class BatchSizeSink: OutputSink {
    let name = "sizes"
    let retryPolicy = RetryPolicy(initialDelay: .milliseconds(1))
    let sizes = Mutex<[Int]>([])
    let counter = Counter()

    func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome {
        sizes.withLock { $0.append(records.count) }
        counter.add(records.count)
        return .delivered
    }
}

/// Wraps a sink and counts committed results (the forwarder's position), so a test can stop
/// the forwarder once everything it expects is committed.
final class CommitObservingSink: OutputSink {
    let inner: any OutputSink
    let committedResults = Counter()
    private let positions = Mutex<[Int: Int64]>([:])
    var name: String { inner.name }
    var retryPolicy: RetryPolicy { inner.retryPolicy }

    init(_ inner: any OutputSink) { self.inner = inner }

    func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome { try await inner.deliver(records) }

    func committed(_ offsets: [Int: Int64]) async throws {
        let increase = positions.withLock { positions -> Int64 in
            var increase: Int64 = 0
            for (partition, offset) in offsets {
                increase += offset - (positions[partition] ?? 0)
                positions[partition] = offset
            }
            return increase
        }
        committedResults.add(Int(increase))
        try await inner.committed(offsets)
    }
}

@Suite struct SinkForwarderTests {
    private let logger = Logger(label: "test")

    /// An output topic holding `count` results with ids r0000…, as the runner writes them.
    private func outputTopic(_ directory: String, count: Int, partitions: Int = 1) async throws -> LogTopic {
        let topic = try LogTopic.open(
            directory: directory + "/results", config: TopicConfig(partitions: partitions, fsync: .none), logger: logger)
        var batch = LogBatch()
        for index in 0..<count {
            let id = "r" + String(1000 + index).dropFirst()
            batch.append(
                key: "dev-\(index % 3)", topic: "p",
                payload: #"{"id":"\#(id)","pipeline":"p","key":"dev-\#(index % 3)","window_start":1732406400000,"count":\#(index)}"#)
        }
        try await topic.appendDurably(batch)
        return topic
    }

    private func ids(_ count: Int) -> [String] { (0..<count).map { "r" + String(1000 + $0).dropFirst() } }

    @Test func httpSinkUnavailableForAWhileReceivesEveryBatchInOrderWithoutRepeatingAnAcceptedKey() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 50)
            let server = try await HTTPTestServer.start { _, index in .init(status: index < 4 ? 503 : 200) }
            let sink = CommitObservingSink(try HTTPSink(
                name: "http",
                configuration: .init(url: "http://127.0.0.1:\(server.port)/in", retry: RetryPolicy(initialDelay: .milliseconds(1))),
                sleeper: RecordingSleeper()))
            let forwarder = SinkForwarder(
                sink: sink, output: output, options: .init(batchRecords: 10), sleeper: RecordingSleeper())
            let task = Task { try await forwarder.run() }
            await sink.committedResults.wait(for: 50)
            task.cancel()
            try await task.value

            let requests = server.requests
            let accepted = requests.dropFirst(4)
            let bodies = accepted.flatMap { request in
                (try? JSONValue(parsing: request.bodyText))?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            }
            #expect(bodies == ids(50))
            let acceptedKeys = accepted.map { $0.headers["idempotency-key"] ?? "" }
            #expect(Set(acceptedKeys).count == acceptedKeys.count)
            // The first batch was retried with its key until accepted, then never sent again.
            #expect(Set(requests.prefix(5).map { $0.headers["idempotency-key"] ?? "" }).count == 1)
            #expect(output.groups.committedOffset(group: "sink.http", partition: 0) == 50)
            #expect(forwarder.stats.delivered == 50 && forwarder.stats.retries == 4)
            try await server.stop()
            try output.close()
        }
    }

    @Test func rejectedBatchesGoToTheDeadLettersWithStatusAndBody() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 3)
            let deadLetters = try LogTopic.open(directory: directory + "/dead-letters", config: TopicConfig(fsync: .none), logger: logger)
            let server = try await HTTPTestServer.start { _, _ in .init(status: 400, body: "unknown field count") }
            let sink = try HTTPSink(name: "http", configuration: .init(url: "http://127.0.0.1:\(server.port)/in"))
            let forwarder = SinkForwarder(sink: sink, output: output, deadLetters: deadLetters, sleeper: RecordingSleeper())
            let task = Task { try await forwarder.run() }
            try await deadLetters.waitForRecords(partition: 0, from: 2)
            task.cancel()
            try await task.value

            var letters: [DeadLetterEnvelope] = []
            try deadLetters.reader(partition: 0).read(from: 0) { record in
                DeadLetterEnvelope(json: record.payload).map { letters.append($0) }
            }
            #expect(letters.count == 3)
            #expect(letters.allSatisfy { $0.reason == "sink_rejected" && $0.message.contains("HTTP 400") && $0.message.contains("unknown field count") })
            #expect(letters.map(\.offset) == [0, 1, 2])
            #expect(String(decoding: letters[0].payload, as: UTF8.self).contains(#""id":"r000""#))
            #expect(forwarder.stats.deadLettered == 3)
            try await server.stop()
            try deadLetters.close()
            try output.close()
        }
    }

    @Test func sinkDownForTheWholeLoadThenUpDeliversTheBacklogInOrder() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 0, partitions: 2)
            let up = Atomic<Bool>(false)
            let accepted = Mutex<[[String]]>([])
            let server = try await HTTPTestServer.start { request, _ in
                guard up.load(ordering: .sequentiallyConsistent) else { return .init(status: 503) }
                let ids = (try? JSONValue(parsing: request.bodyText))?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                accepted.withLock { $0.append(ids) }
                return .init(status: 200)
            }
            let attempts = Counter()
            let sink = CommitObservingSink(try HTTPSink(
                name: "http", configuration: .init(url: "http://127.0.0.1:\(server.port)/in", retry: RetryPolicy(initialDelay: .milliseconds(1)))))
            let forwarder = SinkForwarder(
                sink: sink, output: output, options: .init(batchRecords: 7), sleeper: CountingSleeper(counter: attempts))
            let task = Task { try await forwarder.run() }
            // The whole load arrives while the sink is down.
            var batch = LogBatch()
            for index in 0..<40 {
                batch.append(key: "k\(index % 5)", payload: #"{"id":"r\#(index)","n":\#(index)}"#)
            }
            try await output.appendDurably(batch)
            await attempts.wait(for: 5)
            #expect(forwarder.stats.failing)
            up.store(true, ordering: .sequentiallyConsistent)
            await sink.committedResults.wait(for: 40)
            task.cancel()
            try await task.value

            // Per output partition, results arrive in log order, each once.
            let acceptedIDs = accepted.withLock { $0.flatMap { $0 } }
            #expect(acceptedIDs.count == 40)
            for partition in 0..<2 {
                var expected: [String] = []
                try output.reader(partition: partition).read(from: 0) { record in
                    expected.append(try JSONValue(parsing: record.payload)["id"]?.stringValue ?? "")
                }
                #expect(acceptedIDs.filter { expected.contains($0) } == expected)
            }
            #expect(forwarder.stats.delivered == 40)
            try await server.stop()
            try output.close()
        }
    }

    @Test func dropOldestUnderATinyQuotaCountsExactlyTheMissingResults() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 100)
            let sink = CollectingSink()
            let forwarder = SinkForwarder(
                sink: sink, output: output,
                options: .init(batchRecords: 5, backlog: BacklogQuota(maxRecords: 8, policy: .dropOldest)),
                sleeper: RecordingSleeper())
            let task = Task { try await forwarder.run() }
            await sink.counter.wait(for: 8)
            task.cancel()
            try await task.value
            let received = sink.ids.withLock { $0 }
            let missing = Set(ids(100)).subtracting(received)
            #expect(forwarder.stats.dropped == Int64(missing.count))
            #expect(missing.count == 92)
            #expect(received == Array(ids(100).suffix(8)))
            try output.close()
        }
    }

    /// A read limit (the checkpointed output end, for exactly-once sinks) holds results back
    /// until it moves; nothing at or above the limit in force is ever delivered.
    @Test func readLimitHoldsResultsBackUntilItMoves() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 10)
            let limit = Observed<Int64>(4)
            let sink = LimitCheckingSink(limit: limit)
            let forwarder = SinkForwarder(
                sink: sink, output: output,
                options: .init(batchRecords: 3, tick: .milliseconds(5), readLimit: { _ in limit.value }),
                sleeper: RecordingSleeper())
            let task = Task { try await forwarder.run() }
            await sink.counter.wait(for: 4)
            limit.update { $0 = 10 }
            await sink.counter.wait(for: 10)
            task.cancel()
            try await task.value
            #expect(sink.ids.withLock { $0 } == ids(10))
            #expect(sink.violations.withLock { $0 }.isEmpty)
            try output.close()
        }
    }

    /// `batch.max_wait`: a partial first batch waits for more results, up to a full batch.
    @Test func lingerFillsAPartialBatchBeforeSendingIt() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 3)
            let sink = BatchSizeSink()
            let forwarder = SinkForwarder(
                sink: sink, output: output, options: .init(batchRecords: 10, linger: .seconds(3600)),
                sleeper: RecordingSleeper())
            let task = Task { try await forwarder.run() }
            var more = LogBatch()
            for index in 3..<10 {
                more.append(key: "dev-0", topic: "p", payload: #"{"id":"r\#(index)","count":\#(index)}"#)
            }
            try await output.appendDurably(more)
            await sink.counter.wait(for: 10)
            task.cancel()
            try await task.value
            #expect(sink.sizes.withLock { $0 } == [10])
            try output.close()
        }
    }

    /// …and once the wait is over, what is there goes out.
    @Test func lingerSendsAPartialBatchWhenTheWaitIsOver() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 3)
            let sink = BatchSizeSink()
            let forwarder = SinkForwarder(
                sink: sink, output: output, options: .init(batchRecords: 10, linger: .milliseconds(20)),
                sleeper: RecordingSleeper())
            let task = Task { try await forwarder.run() }
            await sink.counter.wait(for: 3)
            task.cancel()
            try await task.value
            #expect(sink.sizes.withLock { $0 } == [3])
            try output.close()
        }
    }

    @Test func blockPolicyClosesTheGateUntilTheBacklogIsDelivered() async throws {
        try await withTemporaryDirectory { directory in
            let output = try await outputTopic(directory, count: 20)
            let gate = BackpressureGate()
            let up = Atomic<Bool>(false)
            let attempts = Counter()
            let server = try await HTTPTestServer.start { _, _ in .init(status: up.load(ordering: .sequentiallyConsistent) ? 200 : 503) }
            let sink = try HTTPSink(
                name: "http", configuration: .init(url: "http://127.0.0.1:\(server.port)/in", retry: RetryPolicy(initialDelay: .milliseconds(1))))
            let forwarder = SinkForwarder(
                sink: sink, output: output, gate: gate,
                options: .init(batchRecords: 5, backlog: BacklogQuota(maxRecords: 10, policy: .block)),
                sleeper: CountingSleeper(counter: attempts))
            let task = Task { try await forwarder.run() }
            await attempts.wait(for: 2)
            #expect(gate.isClosed)
            #expect(gate.closedBy == ["sink.http"])
            up.store(true, ordering: .sequentiallyConsistent)
            await gate.waitUntilOpen()
            #expect(!gate.isClosed)
            task.cancel()
            try await task.value
            try await server.stop()
            try output.close()
        }
    }
}

/// Counts attempts and returns at once.
struct CountingSleeper: Sleeper {
    let counter: Counter
    func sleep(for duration: Duration) async throws {
        counter.add()
        await Task.yield()
    }
}
