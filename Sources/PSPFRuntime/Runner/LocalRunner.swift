import Logging
import PSPFCore
import PSPFLog
import PSPFStorage
import Synchronization

/// Runs a pipeline over an input log topic on this machine, with checkpoints and exactly-once
/// results in the output log.
///
/// One task per input partition drives its own ``PipelineInstance`` synchronously (no locks on
/// the hot path) and sends encoded results through a bounded queue to one output writer, which
/// appends them to the output topic. A slow writer fills the queue and slows the partition tasks.
///
/// **Checkpoints** (docs/checkpoints.md): every ``RunnerOptions/checkpointInterval`` and when the
/// run ends, each partition task, at its next batch boundary, encodes its dirty state and sends a
/// barrier through the same queue; the writer holds a partition's later messages back until
/// every partition's barrier has arrived, records the output logs' end offsets at that cut, and
/// a committer fsyncs the output logs and commits state, input offsets, output ends and sinks'
/// offsets in one store transaction, while processing continues.
///
/// **Recovery**: ``run()`` first loads the latest checkpoint, moves sinks' consumer groups back to
/// at most the checkpointed output ends, truncates the output logs to them, restores operator
/// state, fires what came due meanwhile, and resumes input at the checkpointed offsets. Every
/// input record is then reflected exactly once in state and in the output log, whatever the
/// crash point.
///
/// ```swift
/// let store = try SQLiteCheckpointStore(path: "/var/lib/pspf/state.db")
/// let runner = LocalRunner(
///     plan: SensorReading.temperatureStats(), input: readings, output: results, store: store,
///     options: RunnerOptions(group: "temp-stats", mode: .continuous))
/// let summary = try await runner.run()   // cancel the task for a graceful stop + final checkpoint
/// ```
public final class LocalRunner<Output: ResultEncodable & SendableMetatype>: Sendable {
    public let plan: PipelinePlan<InputRecord, Output>
    public let input: LogTopic
    public let output: LogTopic
    public let deadLetters: LogTopic?
    public let options: RunnerOptions
    /// Where checkpoints go: `SQLiteCheckpointStore` for real runs; the default keeps them in
    /// memory (a later `run()` of this runner resumes from them, another process does not).
    public let store: any CheckpointStore
    let clock: any PSPFClock
    let logger: Logger
    let dedup: DedupProvider?
    let history = CheckpointHistory()
    let positions = Mutex<[Int: Int64]>([:])
    /// Each partition's pipeline counters, published once per batch.
    let live = Mutex<[Int: LivePartition]>([:])
    let committedCheckpoints = Atomic<Int>(0)
    /// The output log's ends as of the last committed checkpoint (or recovery): results below
    /// them can never be truncated by a later recovery.
    let durableEnds = Mutex<[Int: Int64]>([:])
    /// Closed by sinks over their backlog quota (policy `block`): reading input pauses.
    let gate: BackpressureGate?
    private let active = Mutex(ActiveRun())

    /// The run in progress, and callers of `checkpointNow()` and `waitUntilRecovered()` waiting
    /// for one to start.
    private struct ActiveRun {
        var control: CheckpointControl?
        var waiting: [CheckedContinuation<CheckpointControl?, Never>] = []
        /// The output log's end offsets right after the recovery of the current run.
        var recoveredEnds: [Int: Int64]?
        var recoveryWaiters: [CheckedContinuation<[Int: Int64]?, Never>] = []
        /// A run has ended (or failed): `waitUntilRecovered()` no longer waits.
        var ended = false
    }

    public init(
        plan: PipelinePlan<InputRecord, Output>, input: LogTopic, output: LogTopic, deadLetters: LogTopic? = nil,
        store: any CheckpointStore = InMemoryCheckpointStore(), options: RunnerOptions,
        clock: any PSPFClock = SystemClock(), logger: Logger = Logger(label: "pspf.runner"),
        dedup: DedupProvider? = nil, gate: BackpressureGate? = nil
    ) {
        self.gate = gate
        self.plan = plan
        self.input = input
        self.output = output
        self.deadLetters = deadLetters
        self.store = store
        self.options = options
        self.clock = clock
        self.logger = logger
        self.dedup = dedup
    }

    /// The last checkpoints committed by this runner (up to 100), oldest first.
    public var recentCheckpoints: [CheckpointRecord] { history.all }

    /// Each partition's next input offset as processed so far by the current (or last) run:
    /// updated after every batch, ahead of what is checkpointed.
    public var inputPositions: [Int: Int64] { positions.withLock { $0 } }

    /// The output log's end per partition covered by the last committed checkpoint (right after
    /// recovery: the recovered ends). A sink that reads only below these ends never delivers a
    /// result that a crash could truncate and regenerate: exactly once, at the price of up to one
    /// checkpoint interval of latency. Empty before the first run has recovered.
    public var checkpointedOutputEnds: [Int: Int64] { durableEnds.withLock { $0 } }

    /// Checkpoints committed since this runner was created.
    public var checkpointCount: Int { committedCheckpoints.load(ordering: .relaxed) }

    /// The pipeline counters of the current run so far, summed over partitions (updated once per
    /// input batch).
    public var liveMetrics: PipelineMetrics {
        live.withLock { partitions in
            partitions.values.reduce(into: PipelineMetrics()) { sum, part in
                sum.processed += part.metrics.processed
                sum.late += part.metrics.late
                sum.deadLettered += part.metrics.deadLettered
                sum.windowsOpen += part.metrics.windowsOpen
                sum.windowsEmitted += part.metrics.windowsEmitted
            }
        }
    }

    /// Dead letters written by the current run so far, by reason (`late`, `malformed_json`, …).
    public var liveDeadLetters: [String: Int64] {
        live.withLock { partitions in
            partitions.values.reduce(into: [:]) { sum, part in sum.merge(part.deadLetters, uniquingKeysWith: +) }
        }
    }

    /// Asks the running ``run()`` for a checkpoint and waits until it is committed; the
    /// checkpoint covers everything the partitions processed before the call. If `run()` is
    /// still recovering, waits for it to start (so call it while `run()` runs or is about to).
    /// Returns nil when the run fails or ends first (its final checkpoint then covers everything).
    @discardableResult
    public func checkpointNow() async -> CheckpointRecord? {
        let control: CheckpointControl? = await withCheckedContinuation { continuation in
            let now: CheckpointControl?? = active.withLock { run in
                if let control = run.control { return .some(control) }
                run.waiting.append(continuation)
                return .none
            }
            if let now { continuation.resume(returning: now) }
        }
        guard let control else { return nil }
        while !control.hasEnded {
            let (id, isNew) = control.request()
            // A request already in flight may have cut before the caller's data: wait, then ask again.
            guard await control.waitCommitted(id) else { return nil }
            if isNew { return history.all.last { $0.request == id } }
        }
        return nil
    }

    /// Waits until ``run()`` has recovered and returns the output log's end offset per partition
    /// at that moment: its checkpointed ends, before this run appended anything. Nil when the
    /// run ended (or failed) first.
    ///
    /// A sink forwarder must not resume past these ends: what it delivered beyond them before
    /// a crash was truncated by recovery and is generated again, not necessarily at the same
    /// offsets (the partitions' interleaving differs), so skipping those offsets would lose
    /// results.
    public func waitUntilRecovered() async -> [Int: Int64]? {
        await withCheckedContinuation { continuation in
            let now: [Int: Int64]?? = active.withLock { run in
                if run.control != nil { return .some(run.recoveredEnds) }
                if run.ended { return .some(nil) }
                run.recoveryWaiters.append(continuation)
                return .none
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// Recovers, then runs until the input is exhausted (``RunnerOptions/Mode-swift.enum/untilCaughtUp``)
    /// or the task is cancelled (``RunnerOptions/Mode-swift.enum/continuous``), and commits a
    /// final checkpoint. Cancellation is a graceful stop, not an error: what was processed is
    /// written and checkpointed before `run` returns.
    ///
    /// One run at a time per runner (and per store); a later `run()` resumes from the checkpoints
    /// of the earlier ones.
    ///
    /// - Throws: ``RecoveryError`` when the logs and the checkpoint cannot be reconciled safely,
    ///   `StorageError`/`SQLiteError` from the store, `LogError` from the logs.
    public func run() async throws -> RunSummary {
        let control = CheckpointControl()
        defer { activate(nil) }
        let partitions = options.partitions ?? Array(0..<input.partitionCount)
        precondition(!partitions.isEmpty, "LocalRunner: no input partitions to run")
        let outputs = [output] + (deadLetters.map { [$0] } ?? [])
        let recovery = try await CheckpointRecovery(
            descriptor: descriptor(), input: input, outputs: outputs, store: store, mode: options.recovery,
            stateChunkCount: options.stateChunks, logger: logger
        ).recover(partitions: partitions)
        if input.groups.offsets(of: options.group) == nil {
            try await input.commit(group: options.group, offsets: [:])  // protects the input from retention
        }

        let stopOffsets: [Int: Int64]? =
            options.mode == .untilCaughtUp
            ? Dictionary(uniqueKeysWithValues: partitions.map { ($0, input.endOffset(partition: $0)) }) : nil
        let backlog = partitions.reduce(Int64(0)) { total, p in
            total + max(0, (stopOffsets?[p] ?? input.endOffset(partition: p)) - (recovery.startOffsets[p] ?? 0))
        }
        let label = options.recovery == .resume ? (recovery.summary.startedFresh ? "start" : "recovery") : "rebuild"
        let progress = ReplayProgress(
            total: backlog, threshold: options.replayProgressRecords, label: label, logger: logger)
        // One line per start: where it resumed and how much is waiting.
        logger.info(
            "processing",
            metadata: [
                "pipeline": "\(plan.name)", "checkpoint": "\(recovery.summary.checkpointID ?? 0)",
                "records_waiting": "\(backlog)",
            ])

        let recoveredEnds = Dictionary(
            uniqueKeysWithValues: (0..<output.partitionCount).map { ($0, output.appendedEndOffset(partition: $0)) })
        durableEnds.withLock { $0 = recoveredEnds }
        activate(control, recoveredEnds: recoveredEnds)
        let queue = BoundedQueue<PartitionMessage>(capacity: options.outputQueueBatches)
        let commits = BoundedQueue<CommitJob>(capacity: 2)
        let alignment = CheckpointAlignment(offsets: recovery.startOffsets)

        var summary = RunSummary()
        summary.recovery = recovery.summary
        try await withThrowingTaskGroup(of: TaskOutcome.self) { group in
            group.addTask {
                .writer(try await self.writeOutputs(from: queue, to: commits, alignment: alignment, control: control))
            }
            group.addTask { .committer(try await self.commitCheckpoints(from: commits, control: control)) }
            for partition in partitions {
                let start = recovery.startOffsets[partition] ?? input.startOffset(partition: partition)
                let rows = recovery.state[partition] ?? []
                let stop = stopOffsets?[partition]
                group.addTask {
                    .partition(
                        try await self.runPartition(
                            partition, start: start, state: rows, stopOffset: stop, queue: queue, control: control,
                            progress: progress))
                }
            }
            if let interval = options.checkpointInterval {
                group.addTask {
                    await Self.requestCheckpoints(every: interval, control: control)
                    return .ticker
                }
            }
            var partitionsLeft = partitions.count
            do {
                while let outcome = try await group.next() {
                    switch outcome {
                    case .partition(let part):
                        summary.merge(part)
                        partitionsLeft -= 1
                        if partitionsLeft == 0 { queue.finish() }
                    case .writer(let part):
                        summary.merge(part)
                    case .committer(let part):
                        summary.merge(part)
                        // Every checkpoint is committed: stop the ticker and release waiters.
                        control.end()
                        group.cancelAll()
                    case .ticker:
                        break
                    }
                }
            } catch {
                // Unblock everything (senders waiting on a full queue, partitions waiting for an
                // alignment) so the other tasks end; what was not committed is redone by the next start.
                queue.cancel()
                commits.cancel()
                control.end()
                group.cancelAll()
                throw error
            }
        }
        return summary
    }

    /// Publishes the run's control (nil: no run) and resumes `checkpointNow()` callers waiting
    /// for a run to start.
    private func activate(_ control: CheckpointControl?, recoveredEnds: [Int: Int64]? = nil) {
        let (waiting, recoveryWaiters) = active.withLock { run in
            run.control = control
            run.recoveredEnds = recoveredEnds
            if control == nil { run.ended = true }
            defer {
                run.waiting = []
                run.recoveryWaiters = []
            }
            return (run.waiting, run.recoveryWaiters)
        }
        for continuation in waiting { continuation.resume(returning: control) }
        for continuation in recoveryWaiters { continuation.resume(returning: recoveredEnds) }
    }

    /// The pipeline's shape, as stored with its checkpoints.
    func descriptor() -> PipelineDescriptor {
        let probe = plan.instantiate(context: OperatorContext(partition: 0, clock: clock)) { _ in }
        return PipelineDescriptor(
            name: plan.name, inputTopic: input.name, inputPartitions: input.partitionCount,
            codecVersion: BinaryStateCodec.formatVersion,
            operators: probe.operatorDescriptions + (options.stateDescription.map { ["configured: " + $0] } ?? []))
    }

    /// Raises a request every `interval` after the previous one committed, until the run ends.
    private static func requestCheckpoints(every interval: Duration, control: CheckpointControl) async {
        while !Task.isCancelled && !control.hasEnded {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let (id, _) = control.request()
            guard await control.waitCommitted(id) else { return }
        }
    }
}

/// What each child task of a run returns.
/// What a partition task last published about itself (once per input batch).
struct LivePartition: Sendable {
    var metrics: PipelineMetrics
    var deadLetters: [String: Int64]

    init(_ metrics: PipelineMetrics, _ collector: PartitionCollector) {
        self.metrics = metrics
        self.deadLetters = collector.deadLettersByReason
    }
}

enum TaskOutcome: Sendable {
    case partition(RunSummary)
    case writer(RunSummary)
    case committer(RunSummary)
    case ticker
}
