/// A destination for pipeline results. A ``SinkForwarder`` reads the output log at the sink's
/// own delivered position and hands it batches in log order, one output partition at a time.
///
/// Delivery is at-least-once unless the sink keeps its own position (``resumeOffsets()``)
/// committed atomically with what it wrote, as the file sink does, which makes it exactly-once.
public protocol OutputSink: Sendable {
    /// Unique among the daemon's sinks; the forwarder's consumer group is `sink.<name>`.
    var name: String { get }

    /// One delivery attempt of `records` (all from one output partition, in offset order).
    /// The forwarder retries with the sink's ``retryPolicy``, and between attempts applies the
    /// backlog quota. Throws only `CancellationError` when stopping.
    func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome

    /// Backoff between attempts; when its `maxAttempts` run out the batch is dead-lettered.
    var retryPolicy: RetryPolicy { get }

    /// The position the sink itself durably recorded (output partition → next offset), if it
    /// keeps one; otherwise the forwarder uses its consumer group.
    func resumeOffsets() async throws -> [Int: Int64]?

    /// Called after the forwarder committed delivery up to `offsets` (next offset per partition).
    func committed(_ offsets: [Int: Int64]) async throws

    /// Called before delivery starts when the output log was truncated below the sink's
    /// recorded position (recovery after a crash): the sink must record `offsets` durably as
    /// its position, since the results after them are generated again.
    func rewind(to offsets: [Int: Int64]) async throws

    /// Flushes and releases resources; called once when the forwarder stops.
    func close() async throws
}

extension OutputSink {
    public func resumeOffsets() async throws -> [Int: Int64]? { nil }
    public func committed(_ offsets: [Int: Int64]) async throws {}
    public func rewind(to offsets: [Int: Int64]) async throws {}
    public func close() async throws {}
}

/// How one delivery attempt ended.
public enum SinkDeliveryOutcome: Sendable, Equatable {
    /// Everything was accepted.
    case delivered
    /// A transient failure (connection error, timeout, 5xx, 429): try again, not before `after`
    /// if the destination said so.
    case retry(after: Duration?, error: String)
    /// The destination refused the batch for good (for example HTTP 400): the forwarder
    /// dead-letters the batch with `reason` and `message`, then moves on.
    case rejected(reason: String, message: String)
}
