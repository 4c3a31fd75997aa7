import Logging
import PSPFCore
import PSPFJSON
import PSPFLog

/// Runs a pipeline over an input log topic on this machine: one task per input partition,
/// each driving its own ``PipelineInstance`` synchronously (no locks on the hot path), feeding
/// encoded results through a bounded queue to one output writer that appends them to the output
/// topic. A slow writer fills the queue and slows the partition tasks; a slow input is waited
/// for, not polled.
///
/// The input position is the consumer group's committed offset (the next offset to read). The
/// writer commits a partition's offset only after the results of the records before it are
/// durable in the output log.
///
/// ```swift
/// let plan = Pipeline("temp-stats").plan(input: InputRecord.self) { records in
///     records.decodeJSON(...).keyBy(\.device).eventTime(...).window(.tumbling(.seconds(10)))
///         .aggregate(count(), avg(\.temp))
/// }
/// let runner = LocalRunner(plan: plan, input: readings, output: results, options: .init(group: "temp-stats"))
/// let summary = try await runner.run()
/// ```
public final class LocalRunner<Output: ResultEncodable>: Sendable {
    public let plan: PipelinePlan<InputRecord, Output>
    public let input: LogTopic
    public let output: LogTopic
    public let deadLetters: LogTopic?
    public let options: RunnerOptions
    private let clock: any PSPFClock
    private let logger: Logger

    public init(
        plan: PipelinePlan<InputRecord, Output>, input: LogTopic, output: LogTopic, deadLetters: LogTopic? = nil,
        options: RunnerOptions, clock: any PSPFClock = SystemClock(), logger: Logger = Logger(label: "pspf.runner")
    ) {
        self.plan = plan
        self.input = input
        self.output = output
        self.deadLetters = deadLetters
        self.options = options
        self.clock = clock
        self.logger = logger
    }

    /// Runs until the input is exhausted (``RunnerOptions/Mode-swift.enum/untilCaughtUp``) or
    /// the task is cancelled (``RunnerOptions/Mode-swift.enum/continuous``), then drains the
    /// output queue and returns the counters. Cancellation is a graceful stop, not an error:
    /// what was processed is written and committed before `run` returns.
    public func run() async throws -> RunSummary {
        try input.groups.register(group: options.group)
        let queue = BoundedQueue<OutputBatch>(capacity: options.outputQueueBatches)
        let partitions = options.partitions ?? Array(0..<input.partitionCount)
        let stopOffsets: [Int: Int64]? =
            options.mode == .untilCaughtUp
            ? Dictionary(uniqueKeysWithValues: partitions.map { ($0, input.endOffset(partition: $0)) }) : nil

        return try await withThrowingTaskGroup(of: RunSummary.self) { group in
            group.addTask { try await self.writeOutputs(from: queue) }
            for partition in partitions {
                group.addTask { [stopOffset = stopOffsets?[partition]] in
                    try await self.runPartition(partition, stopOffset: stopOffset, queue: queue)
                }
            }
            var summary = RunSummary()
            var partitionsLeft = partitions.count
            do {
                while let part = try await group.next() {
                    summary.merge(part)
                    if !part.isWriter {
                        partitionsLeft -= 1
                        if partitionsLeft == 0 { queue.finish() }
                    }
                }
            } catch {
                queue.finish()
                group.cancelAll()
                throw error
            }
            return summary
        }
    }

    // MARK: Partition task

    private func runPartition(_ partition: Int, stopOffset: Int64?, queue: BoundedQueue<OutputBatch>) async throws
        -> RunSummary
    {
        let reader = input.reader(partition: partition)
        let start = input.groups.committedOffset(group: options.group, partition: partition)
            ?? input.startOffset(partition: partition)
        reader.seek(to: start)
        let collector = PartitionCollector(pipeline: plan.name)
        let context = OperatorContext(
            partition: partition, clock: clock,
            late: { [collector] event in collector.late(event) },
            deadLetter: { [collector] event in collector.deadLetter(event) })
        let instance = plan.instantiate(context: context) { [collector] result in collector.result(result) }
        collector.captureLate = options.lateToDeadLetters && deadLetters != nil
        collector.captureDeadLetters = deadLetters != nil

        var nextOffset = start
        var lastTick = clock.now()
        // Cancellation is a graceful stop: hand over what was collected and return.
        while !Task.isCancelled {
            if let stopOffset, nextOffset >= stopOffset { break }
            let limit = stopOffset.map { Int(min(Int64(options.batchRecords), $0 - nextOffset)) } ?? options.batchRecords
            let read = try reader.read(maxRecords: limit) { record in
                let view = InputRecord(
                    key: record.key, payload: record.payload, topic: record.topic,
                    eventTime: record.eventTime.map(Timestamp.init(milliseconds:)),
                    appendTime: Timestamp(milliseconds: record.appendTime), partition: partition,
                    offset: record.offset)
                collector.current = view
                instance.process(view)
            }
            collector.current = nil
            nextOffset = read.nextOffset
            let now = clock.now()
            if read.records > 0 || now.milliseconds - lastTick.milliseconds >= options.tickMilliseconds {
                instance.advanceProcessingTime(to: now)
                lastTick = now
            }
            if collector.hasOutput || read.records > 0 {
                try await queue.send(collector.take(partition: partition, nextOffset: nextOffset))
            }
            if read.records == 0 {
                if stopOffset != nil { break }  // nothing more will come before the stop offset
                do {
                    try await waitForInput(partition: partition, from: nextOffset)
                } catch is CancellationError {
                    break
                }
            }
        }
        if options.finishAtEnd {
            instance.finish()
        }
        try await queue.send(collector.take(partition: partition, nextOffset: nextOffset))
        var summary = RunSummary()
        summary.pipeline = instance.metrics
        summary.nextOffsets[partition] = nextOffset
        return summary
    }

    /// Waits for new input, but at most one tick, so processing time (idle timeouts) advances
    /// while a partition is quiet.
    private func waitForInput(partition: Int, from offset: Int64) async throws {
        let input = self.input
        let tick = Duration.milliseconds(options.tickMilliseconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await input.waitForRecords(partition: partition, from: offset) }
            group.addTask { try await Task.sleep(for: tick) }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    // MARK: Output writer

    private func writeOutputs(from queue: BoundedQueue<OutputBatch>) async throws -> RunSummary {
        var summary = RunSummary()
        summary.isWriter = true
        while let batch = await queue.receive() {
            if !batch.results.isEmpty {
                try await output.appendDurably(batch.results)
                summary.resultsWritten += batch.resultCount
            }
            if let deadLetters, !batch.deadLetters.isEmpty {
                try await deadLetters.appendDurably(batch.deadLetters)
                summary.deadLettersWritten += batch.deadLetterCount
            }
            try await input.commit(group: options.group, offsets: [batch.partition: batch.nextOffset])
        }
        return summary
    }
}

/// How a ``LocalRunner`` runs.
public struct RunnerOptions: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Process what the input holds when the run starts, then return.
        case untilCaughtUp
        /// Keep processing new input until the task is cancelled.
        case continuous
    }

    /// The consumer group whose committed offsets say where to start.
    public var group: String
    public var mode: Mode
    /// At the end of a bounded run, fire every open window (a final watermark).
    public var finishAtEnd: Bool
    /// Input partitions to run; `nil` runs all.
    public var partitions: [Int]?
    /// Records read and processed per step.
    public var batchRecords: Int
    /// Output batches that may wait for the writer before partition tasks are slowed down.
    public var outputQueueBatches: Int
    /// How often processing time advances while input is quiet.
    public var tickMilliseconds: Int64
    /// Send late records to the dead-letter topic too (they are always counted).
    public var lateToDeadLetters: Bool

    public init(
        group: String, mode: Mode = .untilCaughtUp, finishAtEnd: Bool = false, partitions: [Int]? = nil,
        batchRecords: Int = 4096, outputQueueBatches: Int = 16,
        tickMilliseconds: Int64 = 100, lateToDeadLetters: Bool = true
    ) {
        self.group = group
        self.mode = mode
        self.finishAtEnd = finishAtEnd
        self.partitions = partitions
        self.batchRecords = batchRecords
        self.outputQueueBatches = outputQueueBatches
        self.tickMilliseconds = tickMilliseconds
        self.lateToDeadLetters = lateToDeadLetters
    }
}

/// What a run did.
public struct RunSummary: Sendable {
    /// The pipeline counters, summed over partitions.
    public var pipeline = PipelineMetrics()
    public var resultsWritten = 0
    public var deadLettersWritten = 0
    /// Each partition's next input offset at the end of the run.
    public var nextOffsets: [Int: Int64] = [:]
    var isWriter = false

    mutating func merge(_ other: RunSummary) {
        pipeline.processed += other.pipeline.processed
        pipeline.late += other.pipeline.late
        pipeline.deadLettered += other.pipeline.deadLettered
        pipeline.windowsOpen += other.pipeline.windowsOpen
        pipeline.windowsEmitted += other.pipeline.windowsEmitted
        resultsWritten += other.resultsWritten
        deadLettersWritten += other.deadLettersWritten
        nextOffsets.merge(other.nextOffsets) { $1 }
    }
}

/// Encoded results and dead letters of one partition step, with the input position they cover.
struct OutputBatch: Sendable {
    var partition: Int
    var nextOffset: Int64
    var results: LogBatch
    var resultCount: Int
    var deadLetters: LogBatch
    var deadLetterCount: Int
}

/// Collects what one pipeline instance emits during a step. Lives inside one partition task.
final class PartitionCollector {
    let pipeline: String
    var current: InputRecord?
    var captureLate = true
    var captureDeadLetters = true
    private var writer = JSONWriter(capacity: 512)
    private var results = LogBatch(capacity: 64 << 10)
    private var resultCount = 0
    private var deadLetters = LogBatch(capacity: 4 << 10)
    private var deadLetterCount = 0
    private let pipelineBytes: [UInt8]

    init(pipeline: String) {
        self.pipeline = pipeline
        pipelineBytes = Array(pipeline.utf8)
    }

    var hasOutput: Bool { resultCount > 0 || deadLetterCount > 0 }

    func result<R: ResultEncodable>(_ result: R) {
        writer.reset()
        result.encode(into: &writer)
        let key = result.partitionKey
        var keyBytes = key
        keyBytes.withUTF8 { key in
            pipelineBytes.withUnsafeBytes { topic in
                writer.bytes.withUnsafeBytes { payload in
                    results.append(key: UnsafeRawBufferPointer(key), topic: topic, payload: payload)
                }
            }
        }
        resultCount += 1
    }

    func late(_ event: LateEvent) {
        guard captureLate, let record = current else { return }
        let message =
            "event time \(event.eventTime.milliseconds) is behind the watermark \(event.watermark.milliseconds) of key \(event.keyDescription): window [\(event.window.start.milliseconds), \(event.window.end.milliseconds)) already fired"
        append(DeadLetterEnvelope(reason: "late", message: message, pipeline: pipeline, record: record))
    }

    func deadLetter(_ event: DeadLetterEvent) {
        guard captureDeadLetters, let record = current else { return }
        append(DeadLetterEnvelope(reason: event.reason.rawValue, message: event.message, pipeline: pipeline, record: record))
    }

    private func append(_ envelope: DeadLetterEnvelope) {
        writer.reset()
        envelope.encode(into: &writer)
        envelope.key.withUnsafeBytes { key in
            pipelineBytes.withUnsafeBytes { topic in
                writer.bytes.withUnsafeBytes { payload in
                    deadLetters.append(key: key, topic: topic, payload: payload, eventTime: nil)
                }
            }
        }
        deadLetterCount += 1
    }

    /// Hands over what was collected and starts empty batches.
    func take(partition: Int, nextOffset: Int64) -> OutputBatch {
        defer {
            results = LogBatch(capacity: 64 << 10)
            deadLetters = LogBatch(capacity: 4 << 10)
            resultCount = 0
            deadLetterCount = 0
        }
        return OutputBatch(
            partition: partition, nextOffset: nextOffset, results: results, resultCount: resultCount,
            deadLetters: deadLetters, deadLetterCount: deadLetterCount)
    }
}
