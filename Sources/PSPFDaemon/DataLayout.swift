/// Where the daemon keeps its data under `data_dir` (docs/operations.md, "Data directory"):
///
/// ```
/// log/input.<source>/                 each source's input log (partitioned by key)
/// log/results.<pipeline>/             each pipeline's output log (sinks forward from it)
/// log/dlq.ingest.<source>/            dead letters of ingest (oversized, no key)
/// log/dlq.pipeline.<pipeline>/        dead letters of a pipeline (malformed, schema, late)
/// log/dlq.sink.<pipeline>.<sink>/     results a sink refused or could not deliver
/// state/<pipeline>.db                 a pipeline's window state and checkpoints (SQLite)
/// ```
///
/// Every writer owns its topics: recovery truncates a pipeline's output and dead-letter logs
/// to its checkpoint, which must never cut what another component wrote.
public struct DataLayout: Sendable, Hashable {
    public let root: String

    public init(root: String) { self.root = root }

    public var logDirectory: String { root + "/log" }
    public var stateDirectory: String { root + "/state" }

    public func statePath(pipeline: String) -> String { stateDirectory + "/" + pipeline + ".db" }

    public static func inputTopic(source: String) -> String { "input." + source }
    public static func resultsTopic(pipeline: String) -> String { "results." + pipeline }
    public static func ingestDeadLetters(source: String) -> String { "dlq.ingest." + source }
    public static func pipelineDeadLetters(pipeline: String) -> String { "dlq.pipeline." + pipeline }
    public static func sinkDeadLetters(pipeline: String, sink: String) -> String { "dlq.sink.\(pipeline).\(sink)" }

    /// The prefix every dead-letter topic starts with (`pspf dlq --config` lists them all).
    public static let deadLetterPrefix = "dlq."
}
