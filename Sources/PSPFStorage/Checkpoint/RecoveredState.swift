/// Everything the latest checkpoint holds, as recovery needs it.
///
/// Every list is sorted by its key, bytewise (the order SQLite returns): state by (pipeline,
/// partition, operator, key, namespace), input offsets by (pipeline, topic, partition), output log
/// ends by (topic, partition), sink offsets by sink, dedup entries by (source, key). Lookups compare
/// names as UTF-8 bytes, like the store.
public struct RecoveredState: Sendable, Hashable {
    /// The latest checkpoint, or nil when none was ever committed (everything else is then empty).
    public var checkpoint: CheckpointInfo?
    public var state: [StateEntry]
    public var inputOffsets: [InputOffset]
    public var outputLogEnds: [OutputLogEnd]
    public var sinkOffsets: [SinkOffset]
    public var dedupEntries: [DedupEntry]

    public init(
        checkpoint: CheckpointInfo? = nil, state: [StateEntry] = [], inputOffsets: [InputOffset] = [],
        outputLogEnds: [OutputLogEnd] = [], sinkOffsets: [SinkOffset] = [], dedupEntries: [DedupEntry] = []
    ) {
        self.checkpoint = checkpoint
        self.state = state
        self.inputOffsets = inputOffsets
        self.outputLogEnds = outputLogEnds
        self.sinkOffsets = sinkOffsets
        self.dedupEntries = dedupEntries
    }

    /// The state of one pipeline partition (what its partition task restores).
    public func state(pipeline: String, partition: Int) -> [StateEntry] {
        state.filter { $0.key.partition == partition && $0.key.pipeline.utf8.elementsEqual(pipeline.utf8) }
    }

    /// The checkpointed next offset, or nil when that input was never checkpointed.
    public func nextOffset(pipeline: String, topic: String, partition: Int) -> Int64? {
        inputOffsets.first {
            $0.partition == partition && $0.pipeline.utf8.elementsEqual(pipeline.utf8)
                && $0.topic.utf8.elementsEqual(topic.utf8)
        }?.nextOffset
    }

    /// The checkpointed end of an output log partition, or nil.
    public func endOffset(topic: String, partition: Int) -> Int64? {
        outputLogEnds.first { $0.partition == partition && $0.topic.utf8.elementsEqual(topic.utf8) }?.endOffset
    }

    /// A sink's stored offset, or nil.
    public func sinkOffset(_ sink: String) -> SinkOffset? {
        sinkOffsets.first { $0.sink.utf8.elementsEqual(sink.utf8) }
    }
}
