import PSPFCore
import PSPFStorage

/// How a ``LocalRunner`` runs.
public struct RunnerOptions: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Process what the input holds when the run starts, then return.
        case untilCaughtUp
        /// Keep processing new input until the task is cancelled.
        case continuous
    }

    /// A consumer group on the input topic that the runner keeps equal to the input offsets of
    /// the latest checkpoint (committed right after each checkpoint). It does not decide where a
    /// run starts (the checkpoint does); it keeps retention from deleting input that no
    /// checkpoint covers yet, and shows progress in `pspf log groups`.
    public var group: String
    public var mode: Mode
    /// At the end of a run (caught up or cancelled), fire every open window (a final watermark).
    public var finishAtEnd: Bool
    /// Input partitions to run; `nil` runs all.
    public var partitions: [Int]?
    /// Records read and processed per step. A checkpoint barrier waits for the current step.
    public var batchRecords: Int
    /// Messages (output batches, barriers) that may wait for the writer before partition tasks
    /// are slowed down.
    public var outputQueueBatches: Int
    /// How often processing time advances while input is quiet.
    public var tickMilliseconds: Int64
    /// Send late records to the dead-letter topic too (they are always counted).
    public var lateToDeadLetters: Bool
    /// Time between checkpoints (from one commit to the next request); nil: only the final
    /// checkpoint when the run ends (and ``LocalRunner/checkpointNow()``).
    public var checkpointInterval: Duration?
    /// Also request a checkpoint once this many input records (all partitions together) were
    /// processed since the last request, when none is in flight: bounds how much a crash makes
    /// the next start replay, whatever the interval. nil: time-based only.
    public var checkpointEveryRecords: Int64?
    /// Chunks per operator and partition in the state database (see `PartitionStateSet`).
    public var stateChunks: Int
    /// How a run starts: resume from the latest checkpoint, or rebuild from the input.
    public var recovery: RecoveryMode
    /// Log replay progress (every 10 %) when at least this many records are waiting at start.
    public var replayProgressRecords: Int64
    /// What the state means beyond the operator types (a configured pipeline's window and
    /// columns): stored with each checkpoint, and a restart whose description differs is refused
    /// instead of restoring state into the wrong shape.
    public var stateDescription: String?

    public init(
        group: String, mode: Mode = .untilCaughtUp, finishAtEnd: Bool = false, partitions: [Int]? = nil,
        batchRecords: Int = 4096, outputQueueBatches: Int = 16,
        tickMilliseconds: Int64 = 100, lateToDeadLetters: Bool = true,
        checkpointInterval: Duration? = .seconds(1), checkpointEveryRecords: Int64? = nil, stateChunks: Int = 256,
        recovery: RecoveryMode = .resume, replayProgressRecords: Int64 = 100_000
    ) {
        self.checkpointEveryRecords = checkpointEveryRecords
        self.group = group
        self.mode = mode
        self.finishAtEnd = finishAtEnd
        self.partitions = partitions
        self.batchRecords = batchRecords
        self.outputQueueBatches = outputQueueBatches
        self.tickMilliseconds = tickMilliseconds
        self.lateToDeadLetters = lateToDeadLetters
        self.checkpointInterval = checkpointInterval
        self.stateChunks = stateChunks
        self.recovery = recovery
        self.replayProgressRecords = replayProgressRecords
    }
}

/// What a run did.
public struct RunSummary: Sendable {
    /// The pipeline counters, summed over partitions (this run only).
    public var pipeline = PipelineMetrics()
    public var resultsWritten = 0
    public var deadLettersWritten = 0
    /// Each partition's next input offset at the end of the run.
    public var nextOffsets: [Int: Int64] = [:]
    /// Input records processed by this run.
    public var recordsRead: Int64 = 0
    /// What recovery did at the start.
    public var recovery = RecoverySummary()
    /// Checkpoints committed by this run (the final one included).
    public var checkpoints = 0
    /// The last checkpoint committed by this run.
    public var lastCheckpoint: CheckpointRecord?

    public init() {}

    mutating func merge(_ other: RunSummary) {
        pipeline.processed += other.pipeline.processed
        pipeline.late += other.pipeline.late
        pipeline.deadLettered += other.pipeline.deadLettered
        pipeline.windowsOpen += other.pipeline.windowsOpen
        pipeline.windowsEmitted += other.pipeline.windowsEmitted
        resultsWritten += other.resultsWritten
        deadLettersWritten += other.deadLettersWritten
        recordsRead += other.recordsRead
        nextOffsets.merge(other.nextOffsets) { $1 }
        checkpoints += other.checkpoints
        if let last = other.lastCheckpoint { lastCheckpoint = last }
    }
}

/// Receives, at each checkpoint, the ingest de-duplication entries to store with it (new
/// entries and per-source prune horizons). Optional: ingest may instead rebuild its dedup set
/// from the tail of the input log on start.
public typealias DedupProvider = @Sendable () async -> (inserts: [DedupEntry], prunes: [DedupPrune])
