import PSPFCore
import PSPFLog
import PSPFStorage

/// A cut turned into a store delta, waiting for the committer.
struct CommitJob: Sendable {
    var delta: CheckpointDelta
    var cut: CheckpointCut
    var alignedAt: ContinuousClock.Instant
    var stateRows: Int
    var keys: Int
    var snapshotDuration: Duration
}

extension LocalRunner {
    // MARK: Output writer

    /// Appends output in queue order, runs the barrier alignment, and turns each cut into a
    /// commit job: the output logs' end offsets are read right at the cut, when they hold
    /// exactly the results of the input before the barriers.
    func writeOutputs(
        from queue: BoundedQueue<PartitionMessage>, to commits: BoundedQueue<CommitJob>,
        alignment initial: CheckpointAlignment, control: CheckpointControl
    ) async throws -> RunSummary {
        var alignment = initial
        var summary = RunSummary()
        while let message = await queue.receive() {
            for action in alignment.receive(message) {
                switch action {
                case .write(let batch):
                    if !batch.results.isEmpty {
                        try await append(batch.results, to: output)
                        summary.resultsWritten += batch.resultCount
                    }
                    if let deadLetters, !batch.deadLetters.isEmpty {
                        try await append(batch.deadLetters, to: deadLetters)
                        summary.deadLettersWritten += batch.deadLetterCount
                    }
                case .cut(let cut):
                    let job = await commitJob(for: cut)
                    if let request = cut.request { control.aligned(request) }
                    try await commits.send(job)
                }
            }
        }
        commits.finish()
        return summary
    }

    /// Queues `batch` for the log's writer thread without waiting for the write: durability
    /// comes from the `sync()` before each checkpoint commit, and readers see records once
    /// written. The writer task is the topic's only appender, so when fewer than
    /// `maxPendingBytes` are pending, `append` cannot block; above half of that, it first
    /// waits (suspended, not blocking a thread) for the log to catch up.
    private func append(_ batch: LogBatch, to topic: LogTopic) async throws {
        if topic.quota.pendingBytes > Int64(topic.config.maxPendingBytes / 2) {
            try await topic.flush()
        }
        try topic.append(batch)
        FaultPoints.hit("output.append")  // queued for the log's writer thread, maybe not written yet
    }

    private func commitJob(for cut: CheckpointCut) async -> CommitJob {
        let pipeline = plan.name
        var delta = CheckpointDelta()
        var keys = 0
        var snapshot = Duration.zero
        for barrier in cut.barriers {
            delta.stateUpserts += barrier.state.upserts
            delta.stateDeletes += barrier.state.deletes
            snapshot += barrier.snapshotDuration
        }
        var latestKeys: [Int: Int] = [:]
        for barrier in cut.barriers { latestKeys[barrier.partition] = barrier.keyCount }
        keys = latestKeys.values.reduce(0, +)
        for (partition, offset) in cut.offsets.sorted(by: { $0.key < $1.key }) {
            delta.inputOffsets.append(
                InputOffset(pipeline: pipeline, topic: input.name, partition: partition, nextOffset: offset))
        }
        for topic in [output] + (deadLetters.map { [$0] } ?? []) {
            for partition in 0..<topic.partitionCount {
                delta.outputLogEnds.append(
                    OutputLogEnd(
                        topic: topic.name, partition: partition,
                        endOffset: topic.appendedEndOffset(partition: partition)))
            }
            // Sinks forward from the output log at their own consumer group (`sink.<name>`);
            // their positions are recorded with the checkpoint.
            for group in topic.groups.names {
                for (partition, offset) in (topic.groups.offsets(of: group) ?? []).enumerated() {
                    guard let offset else { continue }
                    delta.sinkOffsets.append(
                        SinkOffset(sink: "\(topic.name)/\(group)/\(partition)", deliveredOffset: offset))
                }
            }
        }
        if let dedup {
            let (inserts, prunes) = await dedup()
            delta.dedupInserts = inserts
            delta.dedupPrunes = prunes
        }
        return CommitJob(
            delta: delta, cut: cut, alignedAt: .now, stateRows: delta.stateUpserts.count, keys: keys,
            snapshotDuration: snapshot)
    }

    // MARK: Committer

    /// Commits cuts in order: fsync the output logs, one store transaction, then the input
    /// consumer group. Processing continues meanwhile; a second cut waits in the bounded queue.
    func commitCheckpoints(from commits: BoundedQueue<CommitJob>, control: CheckpointControl) async throws
        -> RunSummary
    {
        var summary = RunSummary()
        var previous: CheckpointDelta?
        while let job = await commits.receive() {
            if let previous, job.delta.changesNothing(after: previous) {
                // Idle: the last checkpoint already says all this; skip the fsyncs.
                control.committed(job.cut.isFinal ? max(job.cut.request ?? 0, control.requested) : job.cut.request ?? 0)
                continue
            }
            previous = job.delta
            let began = ContinuousClock.now
            try await output.sync()
            try await deadLetters?.sync()
            FaultPoints.hit("output.sync")
            let synced = ContinuousClock.now
            let info = try await store.commit(job.delta)
            let committed = ContinuousClock.now
            FaultPoints.hit("checkpoint.committed")
            let offsets = Dictionary(uniqueKeysWithValues: job.cut.offsets.map { ($0.key, $0.value) })
            try await input.commit(group: options.group, offsets: offsets)

            let requestedAt = job.cut.request.flatMap { control.requestedAt($0) } ?? job.alignedAt
            let record = CheckpointRecord(
                info: info, request: job.cut.request, isFinal: job.cut.isFinal,
                totalDuration: committed - requestedAt, alignmentDuration: job.alignedAt - requestedAt,
                syncDuration: synced - began, commitDuration: committed - synced,
                snapshotDuration: job.snapshotDuration, stateRows: job.stateRows, keys: job.keys)
            history.append(record)
            committedCheckpoints.add(1, ordering: .relaxed)
            let ends = job.delta.outputLogEnds.filter { $0.topic == output.name }
            durableEnds.withLock { durable in
                for end in ends { durable[end.partition] = end.endOffset }
            }
            summary.checkpoints += 1
            summary.lastCheckpoint = record
            control.committed(job.cut.isFinal ? max(job.cut.request ?? 0, control.requested) : job.cut.request ?? 0)
            logger.debug(
                "checkpoint committed",
                metadata: [
                    "checkpoint": "\(info.id)", "final": "\(job.cut.isFinal)",
                    "total_ms": "\(record.totalDuration.milliseconds)",
                    "sync_ms": "\(record.syncDuration.milliseconds)",
                    "commit_ms": "\(record.commitDuration.milliseconds)", "rows": "\(job.stateRows)",
                    "bytes": "\(info.bytesWritten)",
                ])
        }
        return summary
    }
}

extension CheckpointDelta {
    /// True when committing this after `previous` would change nothing: no state, no dedup
    /// entries, and the same offsets, ends and sink positions.
    func changesNothing(after previous: CheckpointDelta) -> Bool {
        stateUpserts.isEmpty && stateDeletes.isEmpty && dedupInserts.isEmpty && dedupPrunes.isEmpty
            && inputOffsets == previous.inputOffsets && outputLogEnds == previous.outputLogEnds
            && sinkOffsets == previous.sinkOffsets
    }
}
