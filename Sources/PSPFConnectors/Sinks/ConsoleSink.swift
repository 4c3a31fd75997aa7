/// Prints each result as one JSON line on standard output (the demo's sink).
public struct ConsoleSink: OutputSink {
    public let name: String
    public var retryPolicy: RetryPolicy { RetryPolicy(maxAttempts: 1) }
    private let write: @Sendable (String) -> Void

    /// - Parameter write: where lines go (standard output by default; tests capture them).
    public init(name: String = "console", write: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.name = name
        self.write = write
    }

    public func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome {
        for record in records { write(String(decoding: record.payload, as: UTF8.self)) }
        return .delivered
    }
}
