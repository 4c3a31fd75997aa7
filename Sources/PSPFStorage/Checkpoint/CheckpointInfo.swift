/// The record of one committed checkpoint.
public struct CheckpointInfo: Sendable, Hashable {
    /// Checkpoint number: 1, 2, 3, … per store.
    public var id: Int64
    /// Wall-clock time (ms since the Unix epoch) when the commit started.
    public var startedAtMs: Int64
    /// Wall-clock time when the delta had been applied, just before `COMMIT`.
    public var finishedAtMs: Int64
    /// Time to apply the delta inside the transaction (stored as µs). Excludes `COMMIT`.
    public var applyDuration: Duration
    /// Time of `COMMIT` itself (the WAL fsync). It is only known after the row was written, so it
    /// is set on the value ``CheckpointStore/commit(_:)`` returns and nil on loaded values.
    public var commitDuration: Duration?
    /// ``CheckpointDelta/payloadBytes`` of the delta.
    public var bytesWritten: Int64
    public var counts: Counts

    /// How many rows of each kind the checkpoint wrote.
    public struct Counts: Sendable, Hashable {
        public var stateUpserts: Int
        public var stateDeletes: Int
        public var inputOffsets: Int
        public var outputLogEnds: Int
        public var sinkOffsets: Int
        public var dedupInserts: Int
        /// Dedup entries actually removed by the delta's prunes.
        public var dedupPruned: Int

        public init(
            stateUpserts: Int = 0, stateDeletes: Int = 0, inputOffsets: Int = 0, outputLogEnds: Int = 0,
            sinkOffsets: Int = 0, dedupInserts: Int = 0, dedupPruned: Int = 0
        ) {
            self.stateUpserts = stateUpserts
            self.stateDeletes = stateDeletes
            self.inputOffsets = inputOffsets
            self.outputLogEnds = outputLogEnds
            self.sinkOffsets = sinkOffsets
            self.dedupInserts = dedupInserts
            self.dedupPruned = dedupPruned
        }

        init(_ delta: CheckpointDelta, dedupPruned: Int) {
            self.init(
                stateUpserts: delta.stateUpserts.count, stateDeletes: delta.stateDeletes.count,
                inputOffsets: delta.inputOffsets.count, outputLogEnds: delta.outputLogEnds.count,
                sinkOffsets: delta.sinkOffsets.count, dedupInserts: delta.dedupInserts.count, dedupPruned: dedupPruned
            )
        }
    }

    public init(
        id: Int64, startedAtMs: Int64, finishedAtMs: Int64, applyDuration: Duration, commitDuration: Duration? = nil,
        bytesWritten: Int64, counts: Counts
    ) {
        self.id = id
        self.startedAtMs = startedAtMs
        self.finishedAtMs = finishedAtMs
        self.applyDuration = applyDuration
        self.commitDuration = commitDuration
        self.bytesWritten = bytesWritten
        self.counts = counts
    }

    /// ``applyDuration`` plus ``commitDuration`` (when known).
    public var totalDuration: Duration { applyDuration + (commitDuration ?? .zero) }
}
