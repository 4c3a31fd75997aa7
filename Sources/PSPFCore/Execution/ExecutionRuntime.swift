/// Shared by all operators of one pipeline instance: context, processing time, metrics and the
/// list of stateful operators (for processing time, finish and snapshots). Not Sendable: one
/// instance is driven by one task.
final class ExecutionRuntime {
    var context: OperatorContext
    /// The current processing time in ms (monotonic; set by `advanceProcessingTime`).
    @exclusivity(unchecked) var processingTime: Int64
    @exclusivity(unchecked) var metrics = PipelineMetrics()
    private(set) var nodes: [any OperatorNode] = []

    init(context: OperatorContext) {
        self.context = context
        self.processingTime = context.clock.now().milliseconds
    }

    /// Registers a stateful operator. The chain is built from the sink backwards, so each new
    /// operator is upstream of all registered so far: it goes to the front.
    func register(_ node: any OperatorNode) {
        nodes.insert(node, at: 0)
    }

    /// Called once the chain is built: numbers the operators in chain order (`"<n>.<kind>"`).
    func assignOperatorIDs() {
        for (i, node) in nodes.enumerated() { node.operatorID = "\(i).\(node.operatorKind)" }
    }

    func reportLate(_ event: LateEvent) {
        metrics.late &+= 1
        context.late(event)
    }

    func reportDeadLetter(_ reason: DeadLetterReason, _ message: String) {
        metrics.deadLettered &+= 1
        context.deadLetter(DeadLetterEvent(reason: reason, message: message))
    }
}

/// A stateful operator inside a pipeline instance.
protocol OperatorNode: AnyObject {
    /// `"<position among stateful operators>.<kind>"`, set by the runtime.
    var operatorID: String { get set }
    /// `window` or `process`.
    var operatorKind: String { get }
    /// Human-readable shape, e.g. `window tumbling(size: 10000ms, offset: 0ms) event-time`.
    var operatorDescription: String { get }
    /// Processing time moved to `now`: fire processing-time timers and idle timeouts.
    func advanceProcessingTime(to now: Int64)
    /// End of input: fire everything that is still open.
    func finish()
    func snapshot(codec: any StateCodec, dirtyOnly: Bool) throws -> [StateEntry]
    /// The keys changed since the last ``markClean()``, plus every slot from `keysFrom` on
    /// (with its key), as one batch (see ``StateSnapshotBatch``).
    func snapshotBatch(codec: any StateCodec, keysFrom: Int) throws -> StateSnapshotBatch
    func markClean()
    func restore(_ entries: [StateEntry], codec: any StateCodec) throws
}

/// Event times outside ±2^62 ms are rejected so window arithmetic can never overflow.
let timestampLimit: Int64 = 1 << 62

@inline(__always)
func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
    let (s, o) = a.addingReportingOverflow(b)
    return o ? (b < 0 ? .min : .max) : s
}
