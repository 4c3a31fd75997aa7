import Logging
import PSPFCore
import PSPFJSON
import PSPFLog
import PSPFTesting
import Testing

@testable import PSPFRuntime

@Suite struct LocalRunnerTests {
    private let logger = Logger(label: "test")

    /// Appends the whole simulated stream to `topic`; returns the messages in delivery order.
    private func appendSimulated(
        _ configuration: DeviceSimulator.Configuration, to topic: LogTopic
    ) async throws -> [DeviceSimulator.Message] {
        var simulator = DeviceSimulator(configuration: configuration)
        var messages: [DeviceSimulator.Message] = []
        var batch = LogBatch()
        while let message = simulator.next() {
            messages.append(message)
            batch.append(
                key: message.device, topic: message.topic, payload: String(decoding: message.payload, as: UTF8.self))
        }
        try await topic.appendDurably(batch)
        return messages
    }

    private func readAll(_ topic: LogTopic) throws -> [JSONValue] {
        var values: [JSONValue] = []
        for partition in 0..<topic.partitionCount {
            try topic.reader(partition: partition).read(from: 0) { record in
                values.append(try JSONValue(parsing: record.payload))
            }
        }
        return values
    }

    @Test func everyReadingIsCountedOnceAndEveryRejectIsDeadLettered() async throws {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: logger)
            let input = try log.topic("readings", config: TopicConfig(partitions: 3, fsync: .none))
            let output = try log.topic("results", config: TopicConfig(partitions: 2, fsync: .none))
            let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .none))
            let messages = try await appendSimulated(
                .init(devices: 7, readingsPerDevice: 120, lateRate: 0.02, malformedRate: 0.02, seed: 5), to: input)

            let plan = SensorReading.temperatureStats(idleTimeout: nil)
            let runner = LocalRunner(
                plan: plan, input: input, output: output, deadLetters: deadLetters,
                options: RunnerOptions(group: "stats", finishAtEnd: true, batchRecords: 50), clock: ManualClock())
            let summary = try await runner.run()

            let results = try readAll(output)
            let letters = try readAll(deadLetters)
            let malformed = messages.filter { $0.kind == .malformed }.count
            let counted = results.reduce(Int64(0)) { $0 + ($1["count"]?.int64Value ?? 0) }

            #expect(summary.pipeline.processed == Int64(messages.count))
            #expect(summary.resultsWritten == results.count)
            // Nothing vanishes: every well-formed reading is in exactly one window or in the late output.
            #expect(counted + summary.pipeline.late == Int64(messages.count - malformed))
            #expect(summary.pipeline.late > 0)
            #expect(summary.pipeline.deadLettered == Int64(malformed))
            #expect(letters.count == malformed + Int(summary.pipeline.late))
            #expect(letters.filter { $0["reason"]?.stringValue == "late" }.count == Int(summary.pipeline.late))
            // Result ids are unique, and a dead letter keeps the original bytes.
            #expect(Set(results.compactMap { $0["id"]?.stringValue }).count == results.count)
            let malformedPayloads = Set(messages.filter { $0.kind == .malformed }.map(\.payload))
            for letter in letters where letter["reason"]?.stringValue != "late" {
                let original = Base64.decode(letter["payload_base64"]?.stringValue ?? "") ?? []
                #expect(malformedPayloads.contains(original))
            }
            // The group's committed offsets are the end of the input.
            for partition in 0..<input.partitionCount {
                #expect(
                    input.groups.committedOffset(group: "stats", partition: partition)
                        == input.endOffset(partition: partition))
            }
            // A second run starts from the committed offsets: nothing to do.
            let again = try await runner.run()
            #expect(again.pipeline.processed == 0)
            try log.close()
        }
    }

    /// A closed backpressure gate (a sink over its quota) stops reading input but not the
    /// checkpoints; opening it resumes where processing stopped.
    @Test func aClosedGatePausesReadingButCheckpointsGoOn() async throws {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: logger)
            let input = try log.topic("readings", config: TopicConfig(partitions: 2, fsync: .none))
            let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .none))
            let messages = try await appendSimulated(
                .init(devices: 4, readingsPerDevice: 50, lateRate: 0, malformedRate: 0, seed: 9), to: input)
            let gate = BackpressureGate()
            gate.set(closed: true, by: "sink.slow")
            let runner = LocalRunner(
                plan: SensorReading.temperatureStats(idleTimeout: nil), input: input, output: output,
                options: RunnerOptions(group: "stats", mode: .untilCaughtUp, batchRecords: 16, checkpointInterval: nil),
                clock: ManualClock(), gate: gate)
            let task = Task { try await runner.run() }

            let whilePaused = await runner.checkpointNow()
            #expect(whilePaused != nil)
            #expect(runner.liveMetrics.processed == 0)
            #expect(runner.inputPositions.values.allSatisfy { $0 == 0 })

            gate.set(closed: false, by: "sink.slow")
            let summary = try await task.value
            #expect(summary.pipeline.processed == Int64(messages.count))
            #expect(runner.liveMetrics.processed == Int64(messages.count))
            #expect(runner.checkpointCount >= 2)
            try log.close()
        }
    }

    @Test func resultsMatchTheDeterministicTestRunner() async throws {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: logger)
            let input = try log.topic("readings", config: TopicConfig(partitions: 2, fsync: .none))
            let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .none))
            let messages = try await appendSimulated(
                .init(devices: 4, readingsPerDevice: 60, lateRate: 0, malformedRate: 0, seed: 9), to: input)
            let plan = SensorReading.temperatureStats(idleTimeout: nil)
            _ = try await LocalRunner(
                plan: plan, input: input, output: output,
                options: RunnerOptions(group: "g", finishAtEnd: true), clock: ManualClock()
            ).run()

            // Reference: the same readings, per device in delivery order, through a single instance.
            var expected: [String: [String: Int64]] = [:]
            let reference = plan.instantiate(context: OperatorContext(clock: ManualClock())) { result in
                expected[result.keyDescription, default: [:]][result.id] = result.count
            }
            for message in messages {
                message.payload.withUnsafeBytes { payload in
                    let empty = UnsafeRawBufferPointer(start: nil, count: 0)
                    reference.process(
                        InputRecord(
                            key: empty, payload: payload, topic: empty, appendTime: Timestamp(milliseconds: 0),
                            partition: 0, offset: 0))
                }
            }
            reference.finish()

            var actual: [String: [String: Int64]] = [:]
            for result in try readAll(output) {
                actual[result["key"]?.stringValue ?? "", default: [:]][result["id"]?.stringValue ?? ""] =
                    result["count"]?.int64Value
            }
            #expect(actual == expected)
            #expect(actual.count == 4)
            try log.close()
        }
    }
}
