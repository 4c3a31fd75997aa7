import PSPFStorage

/// What a partition task sends to the output writer, in order, through one bounded queue.
enum PartitionMessage: Sendable {
    /// Results and dead letters of one step.
    case output(OutputBatch)
    /// The partition's cut for a checkpoint: everything it emitted before is ahead of it.
    case barrier(CheckpointBarrier)

    var partition: Int {
        switch self {
        case .output(let batch): batch.partition
        case .barrier(let barrier): barrier.partition
        }
    }
}

/// A partition's contribution to a checkpoint: its state changes since its previous barrier and
/// the next input offset they cover.
struct CheckpointBarrier: Sendable {
    /// The checkpoint request it answers; 0 for a final barrier sent without a request.
    var request: Int64
    var partition: Int
    /// Next input offset: every record before it is reflected in `state` and in the output sent
    /// ahead of this barrier.
    var nextOffset: Int64
    var state: PartitionStateSet.Changes
    /// The partition task ends after this barrier (caught up, cancelled, or finished).
    var isFinal: Bool
    /// Time the task spent snapshotting and encoding.
    var snapshotDuration: Duration
    var keyCount: Int
}

/// A consistent cut, ready to be committed: every partition's barrier (or its final barrier
/// earlier), and the output of exactly the records before those barriers written, nothing after.
struct CheckpointCut: Sendable {
    /// The request it answers, or nil for the final cut after every partition finished.
    var request: Int64?
    var barriers: [CheckpointBarrier]
    /// Every partition's next input offset (also of partitions that sent nothing new).
    var offsets: [Int: Int64]
    /// Every partition has finished: this is the run's last checkpoint.
    var isFinal: Bool
}

/// The output writer's aligned-barrier state machine (Chandy–Lamport with alignment, as Flink
/// does it, over one queue shared by all partitions).
///
/// Once partition *p*'s barrier for request *N* has arrived, *p*'s later messages are held back
/// until every partition's barrier for *N* (or its final barrier) has arrived too; then the cut
/// is emitted, *before* any held-back message is released. So when the writer records the output
/// log's end offsets for the cut, the log holds exactly the results of the input before the
/// barriers. A pure value type: no IO, tested without tasks.
struct CheckpointAlignment {
    enum Action {
        case write(OutputBatch)
        case cut(CheckpointCut)
    }

    let partitions: Set<Int>
    private var blocked: Set<Int> = []
    private var finished: Set<Int> = []
    private var held: [Int: [PartitionMessage]] = [:]
    private var aligning: Int64?
    private var barriers: [CheckpointBarrier] = []
    private(set) var offsets: [Int: Int64]
    private var finalCutDone = false

    /// - Parameter offsets: each partition's next input offset at the start of the run.
    init(offsets: [Int: Int64]) {
        self.partitions = Set(offsets.keys)
        self.offsets = offsets
    }

    /// The request being aligned, if any.
    var aligningRequest: Int64? { aligning }
    var allFinished: Bool { finished == partitions }

    /// Feeds one message; returns what to do, in order.
    mutating func receive(_ message: PartitionMessage) -> [Action] {
        var actions: [Action] = []
        process(message, into: &actions)
        return actions
    }

    private mutating func process(_ message: PartitionMessage, into actions: inout [Action]) {
        let p = message.partition
        precondition(partitions.contains(p), "message from unknown partition \(p)")
        if blocked.contains(p) {
            held[p, default: []].append(message)
            return
        }
        switch message {
        case .output(let batch):
            precondition(!finished.contains(p), "output from partition \(p) after its final barrier")
            actions.append(.write(batch))
        case .barrier(let barrier):
            offsets[p] = barrier.nextOffset
            barriers.append(barrier)
            if barrier.isFinal {
                finished.insert(p)
            } else {
                if aligning == nil { aligning = barrier.request }
                precondition(
                    barrier.request == aligning,
                    "partition \(p) sent a barrier for request \(barrier.request) while \(aligning!) is aligning")
                blocked.insert(p)
            }
            cutIfAligned(into: &actions)
        }
    }

    private mutating func cutIfAligned(into actions: inout [Action]) {
        let done = finished == partitions
        if let request = aligning, blocked.union(finished) == partitions {
            cut(request: request, isFinal: done, into: &actions)
        } else if aligning == nil, done, !finalCutDone {
            cut(request: nil, isFinal: true, into: &actions)
        }
    }

    private mutating func cut(request: Int64?, isFinal: Bool, into actions: inout [Action]) {
        actions.append(.cut(CheckpointCut(request: request, barriers: barriers, offsets: offsets, isFinal: isFinal)))
        if isFinal { finalCutDone = true }
        barriers = []
        aligning = nil
        let released = blocked.sorted()
        blocked = []
        for p in released {
            let messages = held.removeValue(forKey: p) ?? []
            for message in messages { process(message, into: &actions) }
        }
    }
}
