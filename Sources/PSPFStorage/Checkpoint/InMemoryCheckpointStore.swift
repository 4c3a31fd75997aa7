import Synchronization

/// A ``CheckpointStore`` in memory, with the same semantics as ``SQLiteCheckpointStore``: atomic
/// commits, the same validation, application order, history limit and result ordering. For tests
/// of components that checkpoint; it passes the same conformance suite.
public final class InMemoryCheckpointStore: CheckpointStore {
    // Names are keyed by their UTF-8 bytes, as SQLite compares TEXT: Swift's String equality would
    // merge canonically equivalent but different names that the SQLite store keeps apart.
    private struct InputKey: Hashable {
        var pipeline: [UInt8]
        var topic: [UInt8]
        var partition: Int
    }

    private struct OutputKey: Hashable {
        var topic: [UInt8]
        var partition: Int
    }

    private struct DedupKey: Hashable {
        var source: [UInt8]
        var key: [UInt8]
    }

    private struct Contents {
        var state: [StateKey: [UInt8]] = [:]
        var inputOffsets: [InputKey: Int64] = [:]
        var outputLogEnds: [OutputKey: Int64] = [:]
        var sinkOffsets: [[UInt8]: SinkOffset] = [:]
        var dedup: [DedupKey: Int64] = [:]
        var history: [CheckpointInfo] = []
    }

    private let contents = Mutex(Contents())
    private let options: CheckpointStoreOptions

    public init(options: CheckpointStoreOptions = .init()) {
        precondition(options.historyLimit >= 1, "historyLimit must be at least 1")
        self.options = options
    }

    @discardableResult
    public func commit(_ delta: CheckpointDelta) throws -> CheckpointInfo {
        try delta.validate()
        let clock = ContinuousClock()
        let start = clock.now
        let startedAtMs = options.wallClockMs()
        return contents.withLock { contents in
            var next = contents  // applied to a copy, swapped in at the end: all or nothing
            for key in delta.stateDeletes { next.state[key] = nil }
            for entry in delta.stateUpserts { next.state[entry.key] = entry.value }
            for offset in delta.inputOffsets {
                let key = InputKey(
                    pipeline: Array(offset.pipeline.utf8), topic: Array(offset.topic.utf8), partition: offset.partition)
                next.inputOffsets[key] = offset.nextOffset
            }
            for end in delta.outputLogEnds {
                next.outputLogEnds[OutputKey(topic: Array(end.topic.utf8), partition: end.partition)] = end.endOffset
            }
            for sink in delta.sinkOffsets { next.sinkOffsets[Array(sink.sink.utf8)] = sink }
            for entry in delta.dedupInserts {
                next.dedup[DedupKey(source: Array(entry.source.utf8), key: entry.key)] = entry.eventTimeMs
            }
            var pruned = 0
            for prune in delta.dedupPrunes {
                let source = Array(prune.source.utf8)
                let before = next.dedup.count
                next.dedup = next.dedup.filter { !($0.key.source == source && $0.value < prune.horizonMs) }
                pruned += before - next.dedup.count
            }
            let info = CheckpointInfo(
                id: (next.history.last?.id ?? 0) + 1,
                startedAtMs: startedAtMs,
                finishedAtMs: options.wallClockMs(),
                applyDuration: clock.now - start,
                commitDuration: .zero,
                bytesWritten: delta.payloadBytes,
                counts: CheckpointInfo.Counts(delta, dedupPruned: pruned)
            )
            var stored = info
            stored.commitDuration = nil
            stored.applyDuration = .microseconds(info.applyDuration.microseconds)  // as the SQLite store keeps it
            next.history.append(stored)
            if next.history.count > options.historyLimit {
                next.history.removeFirst(next.history.count - options.historyLimit)
            }
            options.beforeCommit?()
            contents = next
            return info
        }
    }

    @discardableResult
    public func commit(_ delta: CheckpointDelta) async throws -> CheckpointInfo {
        try commitNow(delta)
    }

    public func loadLatest() throws -> RecoveredState {
        let contents = contents.withLock { $0 }
        return RecoveredState(
            checkpoint: contents.history.last,
            state: contents.state.map { StateEntry(key: $0.key, value: $0.value) }
                .sorted { StateKey.storageOrder($0.key, $1.key) },
            inputOffsets: contents.inputOffsets.map {
                InputOffset(
                    pipeline: String(decoding: $0.key.pipeline, as: UTF8.self),
                    topic: String(decoding: $0.key.topic, as: UTF8.self),
                    partition: $0.key.partition, nextOffset: $0.value
                )
            }.sorted {
                var c = String.bytewiseCompare($0.pipeline, $1.pipeline)
                if c == 0 { c = String.bytewiseCompare($0.topic, $1.topic) }
                if c == 0 { c = compare($0.partition, $1.partition) }
                return c < 0
            },
            outputLogEnds: contents.outputLogEnds.map {
                OutputLogEnd(
                    topic: String(decoding: $0.key.topic, as: UTF8.self), partition: $0.key.partition,
                    endOffset: $0.value)
            }.sorted {
                let c = String.bytewiseCompare($0.topic, $1.topic)
                return c != 0 ? c < 0 : $0.partition < $1.partition
            },
            sinkOffsets: contents.sinkOffsets.values.sorted { String.bytewiseCompare($0.sink, $1.sink) < 0 },
            dedupEntries: contents.dedup.map {
                DedupEntry(
                    source: String(decoding: $0.key.source, as: UTF8.self), key: $0.key.key, eventTimeMs: $0.value)
            }
            .sorted {
                let c = String.bytewiseCompare($0.source, $1.source)
                return c != 0 ? c < 0 : bytewiseCompare($0.key, $1.key) < 0
            }
        )
    }

    public func loadLatest() async throws -> RecoveredState {
        try loadNow()
    }

    public func latestCheckpoint() throws -> CheckpointInfo? {
        contents.withLock { $0.history.last }
    }

    public func recentCheckpoints(limit: Int) throws -> [CheckpointInfo] {
        contents.withLock { Array($0.history.suffix(max(0, limit))) }
    }

    public func forEachStateEntry(pipeline: String, partition: Int, _ body: (StateEntry) throws -> Void) throws {
        // Copied out first, so `body` runs without the lock.
        let entries = contents.withLock { contents in
            contents.state.filter { $0.key.partition == partition && $0.key.pipeline.utf8.elementsEqual(pipeline.utf8) }
        }
        for (key, value) in entries.sorted(by: { StateKey.storageOrder($0.key, $1.key) }) {
            try body(StateEntry(key: key, value: value))
        }
    }

    // Synchronous versions with distinct names: inside an `async` function a call to `commit` would
    // pick the async overload (and recurse).
    private func commitNow(_ delta: CheckpointDelta) throws -> CheckpointInfo { try commit(delta) }
    private func loadNow() throws -> RecoveredState { try loadLatest() }
}
