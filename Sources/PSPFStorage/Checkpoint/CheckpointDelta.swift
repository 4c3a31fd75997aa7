/// What one checkpoint writes: the state that changed since the previous checkpoint (dirty
/// tracking happens upstream, in memory) and the positions that must move with it.
///
/// A store applies a delta atomically, in this order: state deletes, state upserts, input offsets,
/// output log ends, sink offsets, dedup inserts, dedup prunes. Within each list, later items win.
/// So a key that is both deleted and upserted ends up upserted, and a dedup entry older than a
/// prune horizon in the same delta is pruned.
public struct CheckpointDelta: Sendable, Hashable {
    public var stateUpserts: [StateEntry]
    public var stateDeletes: [StateKey]
    public var inputOffsets: [InputOffset]
    public var outputLogEnds: [OutputLogEnd]
    public var sinkOffsets: [SinkOffset]
    public var dedupInserts: [DedupEntry]
    public var dedupPrunes: [DedupPrune]

    public init(
        stateUpserts: [StateEntry] = [],
        stateDeletes: [StateKey] = [],
        inputOffsets: [InputOffset] = [],
        outputLogEnds: [OutputLogEnd] = [],
        sinkOffsets: [SinkOffset] = [],
        dedupInserts: [DedupEntry] = [],
        dedupPrunes: [DedupPrune] = []
    ) {
        self.stateUpserts = stateUpserts
        self.stateDeletes = stateDeletes
        self.inputOffsets = inputOffsets
        self.outputLogEnds = outputLogEnds
        self.sinkOffsets = sinkOffsets
        self.dedupInserts = dedupInserts
        self.dedupPrunes = dedupPrunes
    }

    /// The payload bytes the delta writes: keys, namespaces and values of upserts, dedup keys and
    /// sink file positions. Names, numbers and SQLite's own overhead are not counted.
    public var payloadBytes: Int64 {
        var total = 0
        for entry in stateUpserts { total += entry.key.key.count + entry.key.namespace.count + entry.value.count }
        for entry in dedupInserts { total += entry.key.count }
        for sink in sinkOffsets { total += sink.filePosition?.count ?? 0 }
        return Int64(total)
    }

    /// Checks what the schema's CHECK constraints would reject, so that both stores refuse the same
    /// deltas with the same error before writing anything.
    public func validate() throws {
        func reject(_ what: String) -> StorageError {
            StorageError(code: .invalidDelta, message: "checkpoint delta rejected: \(what); nothing was written")
        }
        for entry in stateUpserts where entry.key.partition < 0 {
            throw reject(
                "state upsert for pipeline '\(entry.key.pipeline)' has negative partition \(entry.key.partition)")
        }
        for offset in inputOffsets where offset.partition < 0 || offset.nextOffset < 0 {
            throw reject(
                "input offset \(offset.nextOffset) for \(offset.pipeline)/\(offset.topic)/\(offset.partition) is negative"
            )
        }
        for end in outputLogEnds where end.partition < 0 || end.endOffset < 0 {
            throw reject("output log end \(end.endOffset) for \(end.topic)/\(end.partition) is negative")
        }
        for sink in sinkOffsets where sink.deliveredOffset < 0 {
            throw reject("delivered offset \(sink.deliveredOffset) of sink '\(sink.sink)' is negative")
        }
    }
}
