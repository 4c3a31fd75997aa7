import Logging
import PSPFLog
import PSPFStorage

/// How a run starts.
public enum RecoveryMode: Sendable, Equatable {
    /// Resume from the latest checkpoint (or start fresh when the store has none and the output
    /// logs are empty).
    case resume
    /// Re-derive everything from the retained input log into an empty store: output logs are
    /// truncated to empty, sinks' delivered offsets set back to 0, and the input replayed from
    /// its first retained offset. Refuses when retention already deleted input, unless
    /// `allowPartial` (then state lacks what was deleted; see docs/checkpoints.md).
    case rebuild(allowPartial: Bool)
}

/// What recovery did, for the run summary and the log.
public struct RecoverySummary: Sendable, Hashable {
    /// The checkpoint the run resumed from (for a fresh start or a rebuild: the initial one it wrote).
    public var checkpointID: Int64?
    /// True when the store had no checkpoint for this pipeline (fresh start or rebuild).
    public var startedFresh = false
    /// Output records removed per topic (written after the last checkpoint, regenerated now).
    public var truncatedRecords: [String: Int64] = [:]
    /// Consumer groups of output topics whose offsets were moved back (`topic/group`).
    public var clampedGroups: [String] = []
    /// Input records that retention deleted before they were processed (should be 0).
    public var inputRecordsLost: Int64 = 0
}

/// Step 1 of a run: make the logs agree with the latest checkpoint, or write the first one.
///
/// 1. Load the latest checkpoint (state rows, input offsets, output log ends).
/// 2. Check the stored pipeline shape against this pipeline.
/// 3. For each output topic: move every consumer group (sink) back to at most the checkpointed
///    end, then truncate each partition to that end. Both are idempotent, so a crash during
///    recovery is recovered by the next start.
/// 4. Resume input at the checkpointed next offsets.
///
/// With no checkpoint for the pipeline: refuse if an output log already holds records (their
/// state is gone; see ``RecoveryError/Code/outputWithoutCheckpoint``), else commit an initial
/// checkpoint (input from its first offset, outputs empty) before anything is processed.
struct CheckpointRecovery {
    let descriptor: PipelineDescriptor
    let input: LogTopic
    let outputs: [LogTopic]
    let store: any CheckpointStore
    let mode: RecoveryMode
    let stateChunkCount: Int
    let logger: Logger

    struct Outcome: Sendable {
        var startOffsets: [Int: Int64] = [:]
        var state: [Int: [StateEntry]] = [:]
        var summary = RecoverySummary()
    }

    var pipeline: String { descriptor.name }

    func recover(partitions: [Int]) async throws -> Outcome {
        let recovered = try await store.loadLatest()
        let hasCheckpoint = recovered.inputOffsets.contains {
            $0.pipeline.utf8.elementsEqual(pipeline.utf8) && $0.topic.utf8.elementsEqual(input.name.utf8)
        }
        if case .rebuild = mode, hasCheckpoint {
            throw RecoveryError(
                .storeNotEmpty,
                "rebuild needs an empty state database, but it holds checkpoint \(recovered.checkpoint?.id ?? 0) of pipeline '\(pipeline)'; move it aside first"
            )
        }
        if !hasCheckpoint { return try await startFresh(partitions: partitions) }

        var outcome = Outcome()
        outcome.summary.checkpointID = recovered.checkpoint?.id
        var stateRows: [StateEntry] = []
        for row in recovered.state where row.key.pipeline.utf8.elementsEqual(pipeline.utf8) {
            if row.key.operatorID == PipelineDescriptor.operatorID {
                let stored = PipelineDescriptor(text: String(decoding: row.value, as: UTF8.self))
                guard let stored else {
                    throw RecoveryError(
                        .pipelineChanged, "the checkpoint's description of pipeline '\(pipeline)' is unreadable")
                }
                let problems = descriptor.differences(from: stored)
                if !problems.isEmpty {
                    throw RecoveryError(
                        .pipelineChanged,
                        "the checkpointed state of pipeline '\(pipeline)' belongs to a differently shaped pipeline: "
                            + problems.joined(separator: "; ")
                            + ". Nothing was changed. Restore the previous pipeline definition, or run `\(StorageError.rebuildCommand)` to re-derive state for this one from the retained input log."
                    )
                }
            } else {
                stateRows.append(row)
            }
        }
        for row in stateRows { outcome.state[row.key.partition, default: []].append(row) }

        for topic in outputs {
            let ends = (0..<topic.partitionCount).map { recovered.endOffset(topic: topic.name, partition: $0) }
            try await rollBack(topic, to: ends, summary: &outcome.summary)
        }

        for partition in partitions {
            guard
                var next = recovered.nextOffset(pipeline: pipeline, topic: input.name, partition: partition)
            else {
                outcome.startOffsets[partition] = input.startOffset(partition: partition)
                continue
            }
            let start = input.startOffset(partition: partition)
            let end = input.endOffset(partition: partition)
            if next > end {
                throw RecoveryError(
                    .inputLogShort,
                    "input '\(input.name)' partition \(partition) ends at offset \(end), but the checkpoint already covers up to \(next): input records were lost after they were processed (deleted files or a damaged disk). Nothing was changed. Restore the input log, or run `\(StorageError.rebuildCommand)` to re-derive state from what is left."
                )
            }
            if next < start {
                let lost = start - next
                outcome.summary.inputRecordsLost += lost
                logger.error(
                    "input records were deleted before they were processed; they are lost",
                    metadata: [
                        "topic": "\(input.name)", "partition": "\(partition)", "from": "\(next)", "to": "\(start)",
                        "records": "\(lost)",
                    ])
                next = start
            }
            outcome.startOffsets[partition] = next
        }
        return outcome
    }

    /// Moves sinks back, then truncates, partition by partition; `ends[p] == nil` (a topic the
    /// checkpoint does not know) keeps the partition as it is.
    private func rollBack(_ topic: LogTopic, to ends: [Int64?], summary: inout RecoverySummary) async throws {
        for (partition, end) in ends.enumerated() {
            guard let end else { continue }
            let appended = topic.appendedEndOffset(partition: partition)
            if appended < end {
                throw RecoveryError(
                    .outputLogShort,
                    "output '\(topic.name)' partition \(partition) ends at offset \(appended), but the checkpoint says \(end): checkpointed results were lost from the log (deleted files or a damaged disk). Nothing was changed. Restore the output log, or run `\(StorageError.rebuildCommand)` to re-derive everything from the retained input."
                )
            }
        }
        for group in topic.groups.names {
            guard let offsets = topic.groups.offsets(of: group) else { continue }
            var clamped: [Int: Int64] = [:]
            for (partition, end) in ends.enumerated() {
                if let end, let committed = offsets[partition], committed > end { clamped[partition] = end }
            }
            guard !clamped.isEmpty else { continue }
            try await topic.commit(group: group, offsets: clamped)
            summary.clampedGroups.append("\(topic.name)/\(group)")
            logger.info(
                "moved a consumer group of an output log back to the checkpoint: its results after it will be regenerated and delivered again",
                metadata: [
                    "topic": "\(topic.name)", "group": "\(group)", "offsets": "\(clamped.sorted { $0.key < $1.key })",
                ])
        }
        for (partition, end) in ends.enumerated() {
            guard let end else { continue }
            let appended = topic.appendedEndOffset(partition: partition)
            guard appended > end else { continue }
            try await topic.truncate(partition: partition, to: end)
            summary.truncatedRecords[topic.name, default: 0] += appended - end
            FaultPoints.hit("recovery.truncate")
        }
        if let removed = summary.truncatedRecords[topic.name], removed > 0 {
            logger.info(
                "truncated an output log to its checkpointed end; those results will be regenerated",
                metadata: ["topic": "\(topic.name)", "records": "\(removed)"])
        }
    }

    private func startFresh(partitions: [Int]) async throws -> Outcome {
        var outcome = Outcome()
        outcome.summary.startedFresh = true
        switch mode {
        case .resume:
            for topic in outputs {
                let held = (0..<topic.partitionCount).reduce(Int64(0)) { $0 + topic.appendedEndOffset(partition: $1) }
                if held > 0 {
                    throw RecoveryError(
                        .outputWithoutCheckpoint,
                        "output log '\(topic.name)' holds \(held) records, but the state database has no checkpoint of pipeline '\(pipeline)': the state that produced them is gone (a new or deleted database next to an old log). Nothing was changed. Run `\(StorageError.rebuildCommand)` to re-derive state and output from the retained input log, or remove the output log to start over."
                    )
                }
            }
        case .rebuild(let allowPartial):
            var missing: [String] = []
            for partition in 0..<input.partitionCount where input.startOffset(partition: partition) > 0 {
                missing.append("partition \(partition): offsets 0..<\(input.startOffset(partition: partition))")
            }
            if !missing.isEmpty {
                let text = missing.joined(separator: ", ")
                if !allowPartial {
                    throw RecoveryError(
                        .inputIncomplete,
                        "retention already deleted input of '\(input.name)' (\(text)), so a rebuild cannot reproduce the state those records built. Nothing was changed. Pass --allow-partial to rebuild from what is retained (windows that began before the retained input are counted from the retained records only)."
                    )
                }
                logger.warning(
                    "rebuilding from partially retained input; state lacks the deleted records",
                    metadata: ["topic": "\(input.name)", "deleted": "\(text)"])
            }
            for topic in outputs {
                try await rollBack(
                    topic, to: Array(repeating: 0, count: topic.partitionCount), summary: &outcome.summary)
            }
        }
        var delta = CheckpointDelta(stateUpserts: [descriptor.stateEntry()])
        for partition in partitions {
            let start = input.startOffset(partition: partition)
            outcome.startOffsets[partition] = start
            delta.inputOffsets.append(
                InputOffset(pipeline: pipeline, topic: input.name, partition: partition, nextOffset: start))
        }
        for topic in outputs {
            for partition in 0..<topic.partitionCount {
                delta.outputLogEnds.append(
                    OutputLogEnd(
                        topic: topic.name, partition: partition,
                        endOffset: topic.appendedEndOffset(partition: partition)))
            }
        }
        let info = try await store.commit(delta)
        outcome.summary.checkpointID = info.id
        logger.info(
            "no checkpoint of this pipeline: starting from the beginning of the input",
            metadata: ["pipeline": "\(pipeline)", "checkpoint": "\(info.id)"])
        return outcome
    }
}
