import PSPFCore
import PSPFLog
import PSPFStorage

extension LocalRunner {
    /// One input partition: restore, then read → process → hand over, with a barrier at the
    /// first batch boundary after each checkpoint request, and a final barrier at the end.
    func runPartition(
        _ partition: Int, start: Int64, state rows: [PSPFStorage.StateEntry], stopOffset: Int64?,
        queue: BoundedQueue<PartitionMessage>, control: CheckpointControl, progress: ReplayProgress?
    ) async throws -> RunSummary {
        let reader = input.reader(partition: partition)
        reader.seek(to: start)
        let collector = PartitionCollector(pipeline: plan.name)
        let context = OperatorContext(
            partition: partition, clock: clock,
            late: { [collector] event in collector.late(event) },
            deadLetter: { [collector] event in collector.deadLetter(event) })
        let instance = plan.instantiate(context: context) { [collector] result in collector.result(result) }
        collector.captureLate = options.lateToDeadLetters && deadLetters != nil
        collector.captureDeadLetters = deadLetters != nil

        // Restore the checkpointed state, then fire what came due while the process was down
        // (idle timeouts, processing-time windows and timers) without waiting for new data.
        let codec = BinaryStateCodec()
        var stateSet = PartitionStateSet(pipeline: plan.name, partition: partition, chunkCount: options.stateChunks)
        try instance.restoreState(try stateSet.load(rows), codec: codec)
        instance.advanceProcessingTime(to: clock.now())
        instance.fireDueTimers()

        var nextOffset = start
        positions.withLock { $0[partition] = start }
        var lastTick = clock.now()
        var lastBarrier: Int64 = 0
        var recordsRead: Int64 = 0
        var sentSinceBarrier = 0

        func barrier(request: Int64, isFinal: Bool) throws -> CheckpointBarrier {
            let began = ContinuousClock.now
            // Slot-addressed: the changed keys' states in one buffer per operator, merged into the
            // working set without a key lookup or an array per key (docs/checkpoints.md §3).
            let batches = try instance.snapshotChangedState(codec: codec, keysFrom: { stateSet.knownSlots(of: $0) })
            instance.markStateClean()
            let changes = try stateSet.update(batches: batches)
            return CheckpointBarrier(
                request: request, partition: partition, nextOffset: nextOffset, state: changes, isFinal: isFinal,
                snapshotDuration: ContinuousClock.now - began, keyCount: stateSet.keyCount)
        }

        // Cancellation is a graceful stop: hand over what was collected, checkpoint, return.
        while !Task.isCancelled {
            if let stopOffset, nextOffset >= stopOffset { break }
            // A closed gate (a sink over its backlog quota) stops reading, not the loop: barriers,
            // timers and a graceful stop are still served while paused.
            let paused = gate?.isClosed ?? false
            let limit =
                paused
                ? 0 : stopOffset.map { Int(min(Int64(options.batchRecords), $0 - nextOffset)) } ?? options.batchRecords
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
            recordsRead += Int64(read.records)
            if read.records > 0 {
                positions.withLock { $0[partition] = nextOffset }
                live.withLock { $0[partition] = LivePartition(instance.metrics, collector) }  // once per batch
            }
            progress?.add(read.records)
            control.processed(read.records, threshold: options.checkpointEveryRecords)
            let now = clock.now()
            if read.records > 0 || now.milliseconds - lastTick.milliseconds >= options.tickMilliseconds {
                instance.advanceProcessingTime(to: now)
                lastTick = now
            }
            if read.records > 0 { FaultPoints.hit("input.batch") }
            if collector.hasOutput {
                // The writer holds back what a partition sends after its barrier until every
                // partition's barrier has arrived; past a few messages, wait for that instead of
                // growing its memory.
                if lastBarrier > 0, sentSinceBarrier >= Self.maxMessagesAheadOfAlignment,
                    control.lastAligned < lastBarrier
                {
                    await control.waitAligned(lastBarrier)
                }
                try await queue.send(.output(collector.take(partition: partition, nextOffset: nextOffset)))
                sentSinceBarrier += 1
            }
            let requested = control.requested
            if requested > lastBarrier {
                let message = try barrier(request: requested, isFinal: false)
                FaultPoints.hit("barrier")
                try await queue.send(.barrier(message))
                lastBarrier = requested
                sentSinceBarrier = 0
            }
            // Let the other partitions of this pool run (a task that never suspends would
            // delay their barriers, and with them every checkpoint).
            await Task.yield()
            if read.records == 0 {
                if stopOffset != nil && !paused { break }  // nothing more will come before the stop offset
                do {
                    if paused {
                        live.withLock { $0[partition] = LivePartition(instance.metrics, collector) }
                        try await waitWhilePaused(partition: partition, control: control, seen: lastBarrier)
                        continue
                    }
                    try await waitForInput(partition: partition, from: nextOffset, control: control, seen: lastBarrier)
                } catch is CancellationError {
                    break
                }
            }
        }
        if options.finishAtEnd {
            instance.finish()
        }
        if collector.hasOutput {
            try await queue.send(.output(collector.take(partition: partition, nextOffset: nextOffset)))
        }
        try await queue.send(.barrier(try barrier(request: max(lastBarrier, control.requested), isFinal: true)))
        live.withLock { $0[partition] = LivePartition(instance.metrics, collector) }
        var summary = RunSummary()
        summary.pipeline = instance.metrics
        summary.nextOffsets[partition] = nextOffset
        summary.recordsRead = recordsRead
        return summary
    }

    /// Output messages a partition may send after its barrier before it waits for the
    /// alignment (bounds what the writer holds back).
    static var maxMessagesAheadOfAlignment: Int { 4 }

    /// Waits for new input, a checkpoint request, or one tick (so processing time, and with it
    /// idle timeouts, advances while a partition is quiet), whichever comes first.
    /// While the backpressure gate is closed: wake when it opens, a checkpoint is requested, or a
    /// tick passes (timers keep firing).
    private func waitWhilePaused(partition: Int, control: CheckpointControl, seen: Int64) async throws {
        guard let gate else { return }
        let tick = Duration.milliseconds(options.tickMilliseconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await gate.waitUntilOpen() }
            group.addTask { try await Task.sleep(for: tick) }
            group.addTask { await control.waitForRequest(partition: partition, after: seen) }
            _ = try await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
    }

    private func waitForInput(partition: Int, from offset: Int64, control: CheckpointControl, seen: Int64)
        async throws
    {
        let input = self.input
        let tick = Duration.milliseconds(options.tickMilliseconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await input.waitForRecords(partition: partition, from: offset) }
            group.addTask { try await Task.sleep(for: tick) }
            group.addTask { await control.waitForRequest(partition: partition, after: seen) }
            _ = try await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
    }
}
