import Foundation
import Logging
import PSPFCore
import PSPFLog
import PSPFRuntime
import PSPFStorage
import PSPFTesting
import Testing

/// The checkpoint state format (`BinaryStateCodec` format 2, the hand-rolled fast path of the
/// engine's state) through real restarts with a SQLite store.
@Suite struct StateFormatTests {
    private let logger = Logger(label: "test")
    private typealias Lifetime = CheckpointRunnerTests.Lifetime

    private func runner<O: ResultEncodable>(
        _ plan: PipelinePlan<InputRecord, O>, _ lifetime: Lifetime, clock: ManualClock, finishAtEnd: Bool = false,
        mode: RunnerOptions.Mode = .untilCaughtUp
    ) -> LocalRunner<O> {
        LocalRunner(
            plan: plan, input: lifetime.input, output: lifetime.output, deadLetters: lifetime.deadLetters,
            store: lifetime.store,
            options: RunnerOptions(
                group: plan.name, mode: mode, finishAtEnd: finishAtEnd, checkpointInterval: nil, stateChunks: 16),
            clock: clock, logger: logger)
    }

    /// Every built-in accumulator (sketch, first/last, Welford, extrema over doubles, sums) in
    /// open windows at a checkpoint: after a restart the output is exactly that of one
    /// uninterrupted instance over the same input.
    @Test func everyBuiltInAccumulatorSurvivesARestartExactly() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualClock(.milliseconds(1_732_406_400_000))
            let plan = Pipeline("all-columns").plan(input: InputRecord.self) { records in
                records.decodeJSON(fields: SensorReading.fields, SensorReading.decode)
                    .keyBy(\.device).eventTime(\.ts, outOfOrderness: .seconds(2), idleTimeout: nil)
                    .window(.hopping(size: .seconds(20), slide: .seconds(10)))
                    .aggregate(
                        count(), sum(\.temp), avg(\.temp), min(\.temp), max(\.hum), first(\.temp), last(\.device),
                        stddev(\.temp), variance(\.hum, population: true), percentile(\.temp, 0.9), percentile(\.hum, 0.5))
            }
            var lifetime = try Lifetime(directory, logger: logger)
            try await appendSimulated(.init(devices: 6, readingsPerDevice: 150, seed: 11), to: lifetime.input)
            let continuous = runner(plan, lifetime, clock: clock, mode: .continuous)
            let task = Task { try await continuous.run() }
            #expect(await continuous.checkpointNow() != nil)
            task.cancel()
            let stopped = try await task.value
            try lifetime.close()

            lifetime = try Lifetime(directory, logger: logger)
            try await appendSimulated(
                .init(devices: 6, readingsPerDevice: 80, startMilliseconds: 1_732_406_400_000 + 150_000, seed: 12),
                to: lifetime.input)
            let resumed = try await runner(plan, lifetime, clock: clock, finishAtEnd: true).run()
            #expect(resumed.recovery.startedFresh == false)
            #expect(stopped.recordsRead + resumed.recordsRead == 6 * 230)
            let expected = try ExpectedOutput.compute(plan: plan, input: lifetime.input, finish: true)
            let comparison = try ActualOutput.read(results: lifetime.output, deadLetters: lifetime.deadLetters)
                .compare(with: expected)
            #expect(comparison.isExact, "\(comparison)")
            try lifetime.close()
        }
    }

    /// A database whose checkpoint records another state format is refused with the
    /// pipeline-changed error, which names the versions and the fix, and nothing is changed.
    @Test func aCheckpointInAnOlderStateFormatIsRefusedNotMisread() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualClock(.milliseconds(1_732_406_400_000))
            let plan = SensorReading.temperatureStats()
            let lifetime = try Lifetime(directory, logger: logger)
            try await lifetime.append([("a", 1_732_406_400_000, 1), ("b", 1_732_406_401_000, 2)])
            _ = try await runner(plan, lifetime, clock: clock).run()

            // Rewrite the stored pipeline description as an earlier pspf (format 1) wrote it.
            var descriptor: PSPFStorage.StateEntry?
            try lifetime.store.forEachStateEntry(pipeline: plan.name, partition: 0) { entry in
                if entry.key.operatorID == "_pipeline" { descriptor = entry }
            }
            let stored = try #require(descriptor)
            let text = String(decoding: stored.value, as: UTF8.self)
            #expect(text.contains("codec binary \(BinaryStateCodec.formatVersion)\n"))
            #expect(BinaryStateCodec.formatVersion == 2)
            var older = stored
            older.value = Array(text.replacingOccurrences(of: "codec binary 2\n", with: "codec binary 1\n").utf8)
            _ = try await lifetime.store.commit(CheckpointDelta(stateUpserts: [older]))
            let checkpoint = try lifetime.store.latestCheckpoint()
            let resultsBefore = try lifetime.results()

            let error = await #expect(throws: RecoveryError.self) {
                _ = try await self.runner(plan, lifetime, clock: clock).run()
            }
            #expect(error?.code == .pipelineChanged)
            #expect(error?.message.contains("state codec version 1 in the checkpoint, 2 here") == true)
            #expect(error?.message.contains("older pspf") == true)
            #expect(error?.message.contains("pspf state rebuild") == true)
            #expect(try lifetime.store.latestCheckpoint() == checkpoint, "nothing was committed")
            #expect(try lifetime.results() == resultsBefore, "the output log was not touched")
            try lifetime.close()
        }
    }
}
