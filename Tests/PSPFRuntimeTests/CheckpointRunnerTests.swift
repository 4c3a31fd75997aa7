import Foundation
import Logging
import PSPFCore
import PSPFJSON
import PSPFLog
import PSPFRuntime
import PSPFStorage
import PSPFTesting
import Synchronization
import Testing

/// The runner's checkpoints and recovery in one process, with a SQLite store in a temporary
/// directory and a manual processing-time clock. "Restart" = a new runner and a reopened store
/// over the same files.
@Suite struct CheckpointRunnerTests {
    private let logger = Logger(label: "test")
    private static let t0: Int64 = 1_732_406_400_000  // a multiple of 10 s

    /// Topics and a state database in one directory; reopened for each "process lifetime".
    struct Lifetime {
        let log: PartitionedLog
        let input: LogTopic
        let output: LogTopic
        let deadLetters: LogTopic
        let store: SQLiteCheckpointStore

        init(_ directory: String, inputPartitions: Int = 2, logger: Logger) throws {
            log = try PartitionedLog(directory: directory + "/log", logger: logger)
            input = try log.topic("readings", config: TopicConfig(partitions: inputPartitions, fsync: .none))
            output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .none))
            deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .none))
            store = try SQLiteCheckpointStore(path: directory + "/state.db", logger: logger)
        }

        func close() throws {
            try store.close()
            try log.close()
        }

        func results() throws -> [JSONValue] {
            var values: [JSONValue] = []
            try output.reader(partition: 0).read(from: 0) { values.append(try JSONValue(parsing: $0.payload)) }
            return values
        }

        func append(_ readings: [(device: String, ms: Int64, temp: Double)]) async throws {
            var batch = LogBatch()
            for r in readings {
                batch.append(
                    key: r.device, topic: "sensors/\(r.device)",
                    payload: #"{"device":"\#(r.device)","ts":\#(r.ms),"temp":\#(r.temp)}"#)
            }
            try await input.appendDurably(batch)
        }
    }

    private func runner<O: ResultEncodable>(
        _ plan: PipelinePlan<InputRecord, O>, _ lifetime: Lifetime, clock: ManualClock, finishAtEnd: Bool = false,
        mode: RunnerOptions.Mode = .untilCaughtUp
    ) -> LocalRunner<O> {
        LocalRunner(
            plan: plan, input: lifetime.input, output: lifetime.output, deadLetters: lifetime.deadLetters,
            store: lifetime.store,
            options: RunnerOptions(group: plan.name, mode: mode, finishAtEnd: finishAtEnd, checkpointInterval: nil),
            clock: clock, logger: logger)
    }

    // MARK: Timers

    @Test func aWindowWhoseIdleTimeoutPassedWhileDownFiresAfterRestartWithoutNewData() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualClock(.milliseconds(Self.t0))
            let plan = SensorReading.temperatureStats(idleTimeout: .seconds(30))
            var lifetime = try Lifetime(directory, logger: logger)
            try await lifetime.append((0..<5).map { ("dev-1", Self.t0 + Int64($0) * 1000, 20 + Double($0)) })
            let first = try await runner(plan, lifetime, clock: clock).run()
            #expect(first.resultsWritten == 0)  // the window [t0, t0 + 10 s) is open
            try lifetime.close()

            // Down for 10 s: not idle yet, nothing fires.
            clock.advance(by: .seconds(10))
            lifetime = try Lifetime(directory, logger: logger)
            #expect(try await runner(plan, lifetime, clock: clock).run().resultsWritten == 0)
            try lifetime.close()

            // Down for another 50 s: the idle timeout (30 s after the last reading) passed while
            // the process was down; the window fires at start, with no new reading for its key.
            clock.advance(by: .seconds(50))
            lifetime = try Lifetime(directory, logger: logger)
            let restarted = try await runner(plan, lifetime, clock: clock).run()
            #expect(restarted.resultsWritten == 1)
            #expect(restarted.recordsRead == 0)
            let results = try lifetime.results()
            #expect(results.count == 1)
            #expect(results.first?["count"]?.int64Value == 5)
            #expect(results.first?["window_start"]?.int64Value == Self.t0)
            try lifetime.close()

            // And it is not emitted again by the next start.
            clock.advance(by: .seconds(60))
            lifetime = try Lifetime(directory, logger: logger)
            #expect(try await runner(plan, lifetime, clock: clock).run().resultsWritten == 0)
            #expect(try lifetime.results().count == 1)
            try lifetime.close()
        }
    }

    /// Emits "<device>:<n>" 30 s of processing time after a device's first reading.
    struct Reminder: KeyedProcessFunction {
        typealias Key = String
        typealias Input = SensorReading
        typealias Output = Note
        typealias State = Int

        func initialState(for key: String) -> Int { 0 }

        func processElement(_ element: SensorReading, context: inout KeyedProcessContext<Reminder>) {
            if context.state == 0 { context.registerProcessingTimeTimer(at: context.processingTime + .seconds(30)) }
            context.state += 1
        }

        func onTimer(_ timer: TimerFiring, context: inout KeyedProcessContext<Reminder>) {
            context.emit(Note(device: context.key, readings: context.state))
        }
    }

    struct Note: ResultEncodable, Sendable {
        var device: String
        var readings: Int
        var partitionKey: String { device }
        var id: String { "reminder-\(device)" }
        func encode(into writer: inout JSONWriter) {
            writer.beginObject()
            writer.key("id"); writer.string(id)
            writer.key("key"); writer.string(device)
            writer.key("count"); writer.number(readings)
            writer.endObject()
        }
    }

    @Test func aProcessingTimeTimerDueWhileDownFiresAfterRestart() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualClock(.milliseconds(Self.t0))
            let plan = Pipeline("reminders").plan(input: InputRecord.self) { records in
                records.decodeJSON(fields: SensorReading.fields, SensorReading.decode)
                    .keyBy(\.device).processingTime().process(Reminder())
            }
            var lifetime = try Lifetime(directory, logger: logger)
            try await lifetime.append([("a", Self.t0, 1), ("a", Self.t0 + 1, 2), ("b", Self.t0, 3)])
            #expect(try await runner(plan, lifetime, clock: clock).run().resultsWritten == 0)
            try lifetime.close()

            clock.advance(by: .seconds(31))
            lifetime = try Lifetime(directory, logger: logger)
            let restarted = try await runner(plan, lifetime, clock: clock).run()
            #expect(restarted.resultsWritten == 2)
            let notes = try lifetime.results().map { "\($0["key"]?.stringValue ?? ""):\($0["count"]?.int64Value ?? 0)" }
            #expect(notes.sorted() == ["a:2", "b:1"])
            try lifetime.close()
        }
    }

    // MARK: Session windows

    @Test func sessionWindowsOpenAtACheckpointMergeAcrossARestart() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualClock(.milliseconds(Self.t0))
            let plan = Pipeline("sessions").plan(input: InputRecord.self) { records in
                records.decodeJSON(fields: SensorReading.fields, SensorReading.decode)
                    .keyBy(\.device).eventTime(\.ts, outOfOrderness: .seconds(60), idleTimeout: nil)
                    .window(.session(gap: .seconds(5)))
                    .aggregate(count(), min(\.temp), max(\.temp))
            }
            let s = Self.t0
            // Before the restart, device a has two open sessions, [0, 5 s) and [8 s, 13 s).
            let before: [(String, Int64, Double)] = [
                ("a", s, 1), ("a", s + 8000, 2), ("b", s, 10), ("b", s + 3000, 11),
            ]
            // After: a reading at 4 s bridges a's sessions; b's session is extended; a new one later.
            let after: [(String, Int64, Double)] = [
                ("a", s + 4000, 3), ("b", s + 7000, 12), ("a", s + 30_000, 4), ("b", s + 40_000, 13),
            ]
            var lifetime = try Lifetime(directory, inputPartitions: 1, logger: logger)
            try await lifetime.append(before)
            #expect(try await runner(plan, lifetime, clock: clock).run().resultsWritten == 0)
            try lifetime.close()

            lifetime = try Lifetime(directory, inputPartitions: 1, logger: logger)
            try await lifetime.append(after)
            _ = try await runner(plan, lifetime, clock: clock, finishAtEnd: true).run()
            let restarted = try lifetime.results().map(Self.describe)

            // The same input without a restart, through one instance.
            var straight: [String] = []
            var writer = JSONWriter()
            let reference = plan.instantiate(context: OperatorContext(clock: clock)) { result in
                writer.reset()
                result.encode(into: &writer)
                straight.append(Self.describe(try! JSONValue(parsing: writer.bytes)))
            }
            for (device, ms, temp) in before + after {
                let payload = Array(#"{"device":"\#(device)","ts":\#(ms),"temp":\#(temp)}"#.utf8)
                payload.withUnsafeBytes { bytes in
                    reference.process(
                        InputRecord(
                            key: UnsafeRawBufferPointer(start: nil, count: 0), payload: bytes,
                            topic: UnsafeRawBufferPointer(start: nil, count: 0), appendTime: .milliseconds(0),
                            partition: 0, offset: 0))
                }
            }
            reference.finish()
            #expect(restarted.sorted() == straight.sorted())
            #expect(
                restarted.sorted() == [
                    "a [0, 13000) n=3 1.0…3.0", "a [30000, 35000) n=1 4.0…4.0",
                    "b [0, 12000) n=3 10.0…12.0", "b [40000, 45000) n=1 13.0…13.0",
                ])
            try lifetime.close()
        }
    }

    static func describe(_ result: JSONValue) -> String {
        let start = (result["window_start"]?.int64Value ?? 0) - t0
        let end = (result["window_end"]?.int64Value ?? 0) - t0
        let min = result["min_temp"]?.doubleValue ?? .nan
        let max = result["max_temp"]?.doubleValue ?? .nan
        return
            "\(result["key"]?.stringValue ?? "?") [\(start), \(end)) n=\(result["count"]?.int64Value ?? 0) \(min)…\(max)"
    }

    // MARK: Graceful stop, checkpointNow

    @Test func aCancelledRunCheckpointsAndTheNextRunContinuesExactly() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualClock(.milliseconds(Self.t0))
            let plan = SensorReading.temperatureStats(idleTimeout: nil)
            var lifetime = try Lifetime(directory, logger: logger)
            try await appendSimulated(.init(devices: 8, readingsPerDevice: 200, seed: 4), to: lifetime.input)

            let continuous = runner(plan, lifetime, clock: clock, mode: .continuous)
            let task = Task { try await continuous.run() }
            // A checkpoint on demand covers what the partitions have processed so far.
            let record = await continuous.checkpointNow()
            #expect(record != nil)
            #expect(record?.isFinal == false)
            task.cancel()
            let stopped = try await task.value
            // The final checkpoint is skipped when nothing changed after the one on demand.
            #expect(stopped.lastCheckpoint.map { $0.isFinal || $0 == record } == true)
            try lifetime.close()

            lifetime = try Lifetime(directory, logger: logger)
            try await appendSimulated(
                .init(devices: 8, readingsPerDevice: 100, startMilliseconds: 1_732_406_400_000 + 200_000, seed: 5),
                to: lifetime.input)
            let resumed = try await runner(plan, lifetime, clock: clock, finishAtEnd: true).run()
            #expect(resumed.recovery.startedFresh == false)
            #expect(stopped.recordsRead + resumed.recordsRead == 2400)
            let expected = try ExpectedOutput.compute(plan: plan, input: lifetime.input, finish: true)
            let comparison = try ActualOutput.read(results: lifetime.output, deadLetters: lifetime.deadLetters)
                .compare(with: expected)
            #expect(comparison.isExact, "\(comparison)")
            // The input consumer group follows the checkpoints.
            for partition in 0..<lifetime.input.partitionCount {
                #expect(
                    lifetime.input.groups.committedOffset(group: plan.name, partition: partition)
                        == lifetime.input.endOffset(partition: partition))
            }
            try lifetime.close()
        }
    }

    // MARK: Refusals

    @Test func outputWithoutACheckpointIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let lifetime = try Lifetime(directory, logger: logger)
            try await lifetime.output.appendDurably(LogBatch([AppendRecord(key: "x", payload: "{}")]))
            let error = await #expect(throws: RecoveryError.self) {
                _ = try await self.runner(SensorReading.temperatureStats(), lifetime, clock: ManualClock()).run()
            }
            #expect(error?.code == .outputWithoutCheckpoint)
            #expect(error?.message.contains("pspf state rebuild") == true)
            #expect(try lifetime.store.latestCheckpoint() == nil, "nothing was written")
            try lifetime.close()
        }
    }

    @Test func stateOfADifferentlyShapedPipelineIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualClock(.milliseconds(Self.t0))
            let lifetime = try Lifetime(directory, logger: logger)
            try await lifetime.append([("a", Self.t0, 1)])
            _ = try await runner(SensorReading.temperatureStats(window: .seconds(10)), lifetime, clock: clock).run()
            let error = await #expect(throws: RecoveryError.self) {
                _ = try await self.runner(SensorReading.temperatureStats(window: .seconds(60)), lifetime, clock: clock)
                    .run()
            }
            #expect(error?.code == .pipelineChanged)
            try lifetime.close()
        }
    }
}

/// A store whose n-th commit fails.
final class FailingStore: CheckpointStore, @unchecked Sendable {
    let inner = InMemoryCheckpointStore()
    let failAt: Int
    private let count = Mutex(0)
    struct Failure: Error {}

    init(failAt: Int) { self.failAt = failAt }

    func commit(_ delta: CheckpointDelta) throws -> CheckpointInfo {
        let n = count.withLock {
            $0 += 1; return $0
        }
        if n == failAt { throw Failure() }
        return try inner.commit(delta)
    }
    func commit(_ delta: CheckpointDelta) async throws -> CheckpointInfo { try commitNow(delta) }
    private func commitNow(_ delta: CheckpointDelta) throws -> CheckpointInfo { try commit(delta) }
    func loadLatest() throws -> RecoveredState { try inner.loadLatest() }
    func loadLatest() async throws -> RecoveredState { try await inner.loadLatest() }
    func latestCheckpoint() throws -> CheckpointInfo? { try inner.latestCheckpoint() }
    func recentCheckpoints(limit: Int) throws -> [CheckpointInfo] { try inner.recentCheckpoints(limit: limit) }
    func forEachStateEntry(pipeline: String, partition: Int, _ body: (PSPFStorage.StateEntry) throws -> Void) throws {
        try inner.forEachStateEntry(pipeline: pipeline, partition: partition, body)
    }
}

@Suite struct CheckpointFailureTests {
    @Test func aFailedCommitStopsTheRunWithItsErrorAndNothingHangs() async throws {
        try await withTemporaryDirectory { directory in
            let logger = Logger(label: "test")
            let log = try PartitionedLog(directory: directory, logger: logger)
            let input = try log.topic("readings", config: TopicConfig(partitions: 4, fsync: .none))
            let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .none))
            try await appendSimulated(.init(devices: 40, readingsPerDevice: 300, seed: 8), to: input)
            // Commit 1 is the initial checkpoint; the 3rd fails in the middle of the run.
            let runner = LocalRunner(
                plan: SensorReading.temperatureStats(idleTimeout: nil), input: input, output: output,
                store: FailingStore(failAt: 3),
                options: RunnerOptions(
                    group: "g", batchRecords: 32, outputQueueBatches: 2, checkpointInterval: nil,
                    checkpointEveryRecords: 500),
                clock: ManualClock(), logger: logger)
            await #expect(throws: FailingStore.Failure.self) { _ = try await runner.run() }
            try log.close()
        }
    }
}
