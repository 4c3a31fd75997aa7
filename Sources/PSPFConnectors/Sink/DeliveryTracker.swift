/// Which output-log records an MQTT sink has in flight, which the broker acknowledged, and so
/// up to where the sink may commit its delivered offset: per partition, the end of the
/// contiguous prefix of acknowledged records (acknowledgements may complete out of order; the
/// committed offset never skips an unacknowledged record). A value-type state machine: the sink
/// holds it under a lock and feeds it sends and completions.
struct DeliveryTracker {
    enum Status: Equatable { case pending, acknowledged, failed }

    struct Partition {
        /// Every offset below is delivered (or was skipped because retention deleted it).
        var delivered: Int64
        /// In-flight offsets in send order, with their status.
        var inflight: [(offset: Int64, status: Status)] = []
        var head = 0

        var isIdle: Bool { head == inflight.count }
    }

    private(set) var partitions: [Int: Partition] = [:]
    /// Publishes awaiting their completion.
    private(set) var inflightCount = 0
    /// A publish failed: the sink stops sending, lets the rest complete, then rewinds.
    private(set) var hasFailure = false

    init(start: [Int: Int64]) {
        for (partition, offset) in start { partitions[partition] = Partition(delivered: offset) }
    }

    /// A record was handed to the client.
    mutating func sent(partition: Int, offset: Int64) {
        var state = partitions[partition]!
        if state.isIdle {
            // Everything before it was delivered or skipped.
            state.inflight.removeAll(keepingCapacity: true)
            state.head = 0
            state.delivered = max(state.delivered, offset)
        }
        state.inflight.append((offset, .pending))
        partitions[partition] = state
        inflightCount += 1
    }

    /// The client refused `offset` at once (it was the last one sent): forget it.
    mutating func unsent(partition: Int, offset: Int64) {
        guard var state = partitions[partition], state.inflight.last?.offset == offset,
            state.inflight.last?.status == .pending, state.inflight.count > state.head
        else { return }
        state.inflight.removeLast()
        partitions[partition] = state
        inflightCount -= 1
    }

    /// The client reported the outcome of `offset`. Returns whether the delivered prefix moved.
    @discardableResult
    mutating func completed(partition: Int, offset: Int64, success: Bool) -> Bool {
        guard var state = partitions[partition],
            let index = state.inflight[state.head...].firstIndex(where: { $0.offset == offset }),
            state.inflight[index].status == .pending
        else { return false }
        inflightCount -= 1
        state.inflight[index].status = success ? .acknowledged : .failed
        if !success { hasFailure = true }
        var moved = false
        while state.head < state.inflight.count, state.inflight[state.head].status == .acknowledged {
            state.delivered = state.inflight[state.head].offset + 1
            state.head += 1
            moved = true
        }
        if state.head > 64, state.head * 2 > state.inflight.count {
            state.inflight.removeFirst(state.head)
            state.head = 0
        }
        partitions[partition] = state
        return moved
    }

    /// A partition with nothing in flight whose reader moved on to `position` (e.g. past records
    /// retention deleted) has delivered everything before it.
    mutating func caughtUp(partition: Int, position: Int64) {
        guard var state = partitions[partition], state.isIdle else { return }
        state.delivered = max(state.delivered, position)
        partitions[partition] = state
    }

    /// Where each partition stands: the next offset to commit.
    func delivered(partition: Int) -> Int64 { partitions[partition]?.delivered ?? 0 }

    var deliveredOffsets: [Int: Int64] { partitions.mapValues(\.delivered) }

    /// After a failure, once nothing is in flight: forget everything in flight and return where
    /// each partition must resume (its delivered prefix; acknowledged records after a failed one
    /// are sent again: at-least-once).
    mutating func rewind() -> [Int: Int64] {
        precondition(inflightCount == 0, "rewind with publishes in flight")
        for partition in partitions.keys {
            partitions[partition]!.inflight.removeAll()
            partitions[partition]!.head = 0
        }
        hasFailure = false
        return deliveredOffsets
    }
}
