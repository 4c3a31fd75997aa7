/// An executable pipeline definition: a `Sendable` value you can hand to every partition task,
/// each of which calls ``instantiate(context:emit:)`` once.
public struct PipelinePlan<Input, Output>: Sendable {
    public let name: String
    let connect: @Sendable (ExecutionRuntime, @escaping (Output) -> Void) -> Any

    /// Compiles the chain into nested closures and fresh operator state.
    ///
    /// - Parameters:
    ///   - context: partition, clock and side outputs; its `pipeline` is set to ``name``.
    ///   - emit: receives every output, synchronously, from inside `process`,
    ///     `advanceProcessingTime` and `finish`.
    public func instantiate(context: OperatorContext, emit: @escaping (Output) -> Void) -> PipelineInstance<Input> {
        var context = context
        context.pipeline = name
        let runtime = ExecutionRuntime(context: context)
        guard let head = connect(runtime, emit) as? (Input) -> Void else {
            preconditionFailure("pipeline '\(name)': input type mismatch")
        }
        runtime.assignOperatorIDs()
        return PipelineInstance(runtime: runtime, head: head)
    }
}

/// One running copy of a pipeline, for one input partition.
///
/// Not `Sendable`: exactly one task drives it, synchronously. `process` runs the whole chain
/// with no `await`, no locks and no allocation on the common path; outputs, late records and
/// dead letters are delivered synchronously through the `emit` closure and the
/// ``OperatorContext`` handlers.
///
/// Processing time advances only through ``advanceProcessingTime(to:)`` (or
/// ``advanceProcessingTime()``, which reads the context's clock); `process` never reads a clock.
/// In processing-time mode an element's time is the instance's current processing time.
public final class PipelineInstance<Input> {
    let runtime: ExecutionRuntime
    let head: (Input) -> Void

    init(runtime: ExecutionRuntime, head: @escaping (Input) -> Void) {
        self.runtime = runtime
        self.head = head
    }

    public var context: OperatorContext { runtime.context }

    /// Runs one element through the pipeline.
    public func process(_ element: Input) {
        runtime.metrics.processed &+= 1
        head(element)
    }

    /// Runs a batch of elements through the pipeline, in order.
    public func process<S: Sequence>(contentsOf elements: S) where S.Element == Input {
        for element in elements {
            runtime.metrics.processed &+= 1
            head(element)
        }
    }

    /// The current processing time of this instance.
    public var processingTime: Timestamp { Timestamp(milliseconds: runtime.processingTime) }

    /// Moves processing time forward to `now` (earlier values are ignored), firing due
    /// processing-time timers and windows, and idle timeouts, in deterministic order.
    public func advanceProcessingTime(to now: Timestamp) {
        guard now.milliseconds > runtime.processingTime else { return }
        runtime.processingTime = now.milliseconds
        for node in runtime.nodes { node.advanceProcessingTime(to: now.milliseconds) }
    }

    /// Reads the context's clock and advances processing time to it.
    public func advanceProcessingTime() {
        advanceProcessingTime(to: runtime.context.clock.now())
    }

    /// Fires what is due at the current ``processingTime`` without moving it: processing-time
    /// timers and windows, and idle timeouts. ``advanceProcessingTime(to:)`` only acts when time
    /// moves forward, so after ``restoreState(_:codec:)`` call this once (after advancing to the
    /// current time): a window or timer that came due while the process was down then fires at
    /// once, without waiting for new data for its key or for the clock to tick.
    ///
    /// ```swift
    /// try instance.restoreState(entries, codec: codec)
    /// instance.advanceProcessingTime(to: clock.now())
    /// instance.fireDueTimers()
    /// ```
    public func fireDueTimers() {
        for node in runtime.nodes { node.advanceProcessingTime(to: runtime.processingTime) }
    }

    /// End of bounded input: fires every open window (and every pending event-time timer) in
    /// deterministic order — operators in chain order; within an operator by window end (timer
    /// time), then key first-seen order. Afterwards each key's watermark is at its maximum, so
    /// anything processed later is late.
    public func finish() {
        for node in runtime.nodes { node.finish() }
    }

    /// The instance's counters.
    public var metrics: PipelineMetrics { runtime.metrics }

    /// The ids of the stateful operators, in chain order (`"0.window"`, `"1.process"`, …).
    public var operatorIDs: [String] { runtime.nodes.map(\.operatorID) }

    /// A description of each stateful operator (window spec, time semantics), in chain order.
    /// Compare it before restoring a checkpoint taken by another version of the pipeline.
    public var operatorDescriptions: [String] { runtime.nodes.map { "\($0.operatorID) \($0.operatorDescription)" } }

    /// The operators' state: every key's state, or with `dirtyOnly` only the keys changed since
    /// the last ``markStateClean()``. Entries come in chain order, keys in first-seen order.
    public func snapshotState(codec: any StateCodec, dirtyOnly: Bool = false) throws -> [StateEntry] {
        var entries: [StateEntry] = []
        for node in runtime.nodes {
            let part = try node.snapshot(codec: codec, dirtyOnly: dirtyOnly)
            // Take the first operator's array as it is: appending would copy (retain and
            // release) every entry, a cost per changed key at every checkpoint.
            if entries.isEmpty { entries = part } else { entries += part }
        }
        return entries
    }

    /// The keys changed since the last ``markStateClean()``, one ``StateSnapshotBatch`` per
    /// stateful operator in chain order, addressed by slot. `keysFrom(operatorID)` is how many
    /// of the operator's slots the caller already knows (the batch carries the keys, and the
    /// states, of every slot from there on). The checkpoint path: no allocation per key.
    public func snapshotChangedState(codec: any StateCodec, keysFrom: (String) -> Int) throws
        -> [StateSnapshotBatch]
    {
        try runtime.nodes.map { node in try node.snapshotBatch(codec: codec, keysFrom: keysFrom(node.operatorID)) }
    }

    /// Forgets which keys are dirty (call after a checkpoint committed).
    public func markStateClean() {
        for node in runtime.nodes { node.markClean() }
    }

    /// Loads state saved by ``snapshotState(codec:dirtyOnly:)`` into a fresh instance (entries
    /// for a key replace that key's state). Throws ``StateRestoreError`` for unknown operators
    /// or undecodable values.
    public func restoreState(_ entries: [StateEntry], codec: any StateCodec) throws {
        var byOperator: [String: [StateEntry]] = [:]
        var order: [String] = []
        for entry in entries {
            if byOperator[entry.operatorID] == nil { order.append(entry.operatorID) }
            byOperator[entry.operatorID, default: []].append(entry)
        }
        for id in order where !runtime.nodes.contains(where: { $0.operatorID == id }) {
            throw StateRestoreError(operatorID: id, message: "no such operator in pipeline '\(runtime.context.pipeline)'")
        }
        for node in runtime.nodes {
            if let mine = byOperator[node.operatorID] { try node.restore(mine, codec: codec) }
        }
    }
}
