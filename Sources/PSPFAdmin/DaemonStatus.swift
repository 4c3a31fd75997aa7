/// A point-in-time picture of a running daemon: what `/status` serves as JSON, what the
/// Prometheus exporter turns into metrics at scrape time, and what `/readyz` judges.
///
/// The daemon builds one on demand from the counters its components already keep, so
/// observing costs nothing on the hot path: no per-reading metric calls.
///
/// ```swift
/// struct Fixed: StatusProvider {
///     func currentStatus() async -> DaemonStatus { DaemonStatus(version: "dev", startedAtMilliseconds: 0) }
/// }
/// ```
public struct DaemonStatus: Codable, Sendable, Hashable {
    public var version: String
    /// Wall-clock start of the daemon, epoch milliseconds.
    public var startedAtMilliseconds: Int64
    /// Wall-clock time this status was taken, epoch milliseconds.
    public var takenAtMilliseconds: Int64
    /// The configured checkpoint interval in seconds (readiness judges checkpoint age by it).
    public var checkpointIntervalSeconds: Double
    /// The daemon is stopping (draining); `/readyz` fails while it does.
    public var stopping: Bool
    public var sources: [SourceStatus]
    public var pipelines: [PipelineStatus]
    public var sinks: [SinkStatus]
    public var process: ProcessStatus

    public init(
        version: String, startedAtMilliseconds: Int64, takenAtMilliseconds: Int64 = 0,
        checkpointIntervalSeconds: Double = 1, stopping: Bool = false, sources: [SourceStatus] = [],
        pipelines: [PipelineStatus] = [], sinks: [SinkStatus] = [], process: ProcessStatus = ProcessStatus()
    ) {
        self.version = version
        self.startedAtMilliseconds = startedAtMilliseconds
        self.takenAtMilliseconds = takenAtMilliseconds
        self.checkpointIntervalSeconds = checkpointIntervalSeconds
        self.stopping = stopping
        self.sources = sources
        self.pipelines = pipelines
        self.sinks = sinks
        self.process = process
    }
}

/// One MQTT source and its input log topic.
public struct SourceStatus: Codable, Sendable, Hashable {
    public var name: String
    public var broker: String
    public var connected: Bool
    /// Messages received from the broker (including duplicates and dead letters).
    public var messagesReceived: Int64
    /// Payload bytes received.
    public var bytesReceived: Int64
    /// Messages appended durably to the input log.
    public var appended: Int64
    public var duplicates: Int64
    public var deadLettered: Int64
    /// Batches refused at the disk quota (redelivered by the broker).
    public var rejected: Int64
    /// Reading from the broker is paused (disk quota or backpressure).
    public var paused: Bool
    public var partitions: [LogPartitionStatus]

    public init(
        name: String, broker: String, connected: Bool = false, messagesReceived: Int64 = 0, bytesReceived: Int64 = 0,
        appended: Int64 = 0, duplicates: Int64 = 0, deadLettered: Int64 = 0, rejected: Int64 = 0, paused: Bool = false,
        partitions: [LogPartitionStatus] = []
    ) {
        self.name = name
        self.broker = broker
        self.connected = connected
        self.messagesReceived = messagesReceived
        self.bytesReceived = bytesReceived
        self.appended = appended
        self.duplicates = duplicates
        self.deadLettered = deadLettered
        self.rejected = rejected
        self.paused = paused
        self.partitions = partitions
    }
}

/// One partition of a log topic.
public struct LogPartitionStatus: Codable, Sendable, Hashable {
    public var topic: String
    public var partition: Int
    /// The next offset to be written.
    public var endOffset: Int64
    public var sizeBytes: Int64

    public init(topic: String, partition: Int, endOffset: Int64, sizeBytes: Int64) {
        self.topic = topic
        self.partition = partition
        self.endOffset = endOffset
        self.sizeBytes = sizeBytes
    }
}

/// One pipeline: its progress over the input log, its windows and its checkpoints.
public struct PipelineStatus: Codable, Sendable, Hashable {
    public var name: String
    public var source: String
    public var recordsProcessed: Int64
    public var resultsEmitted: Int64
    /// Windows holding state now (a gauge).
    public var windowsOpen: Int64
    public var windowsEmitted: Int64
    public var late: Int64
    /// Records dropped by the pipeline's filter.
    public var filtered: Int64
    /// Dead letters written by this pipeline, by reason (`malformed_json`, `schema_violation`, `late`, …).
    public var deadLetters: [String: Int64]
    /// Records in the input log not yet processed, per input partition.
    public var lag: [PartitionLag]
    public var checkpoint: CheckpointStatus

    public init(
        name: String, source: String, recordsProcessed: Int64 = 0, resultsEmitted: Int64 = 0, windowsOpen: Int64 = 0,
        windowsEmitted: Int64 = 0, late: Int64 = 0, filtered: Int64 = 0, deadLetters: [String: Int64] = [:],
        lag: [PartitionLag] = [], checkpoint: CheckpointStatus = CheckpointStatus()
    ) {
        self.name = name
        self.source = source
        self.recordsProcessed = recordsProcessed
        self.resultsEmitted = resultsEmitted
        self.windowsOpen = windowsOpen
        self.windowsEmitted = windowsEmitted
        self.late = late
        self.filtered = filtered
        self.deadLetters = deadLetters
        self.lag = lag
        self.checkpoint = checkpoint
    }
}

public struct PartitionLag: Codable, Sendable, Hashable {
    public var partition: Int
    public var records: Int64

    public init(partition: Int, records: Int64) {
        self.partition = partition
        self.records = records
    }
}

/// A pipeline's checkpoints since the daemon started.
public struct CheckpointStatus: Codable, Sendable, Hashable {
    public var count: Int64
    public var failures: Int64
    public var lastID: Int64?
    /// Wall-clock time of the last committed checkpoint, epoch milliseconds.
    public var lastCompletedAtMilliseconds: Int64?
    public var lastDurationMilliseconds: Double?
    public var lastSizeBytes: Int64?

    public init(
        count: Int64 = 0, failures: Int64 = 0, lastID: Int64? = nil, lastCompletedAtMilliseconds: Int64? = nil,
        lastDurationMilliseconds: Double? = nil, lastSizeBytes: Int64? = nil
    ) {
        self.count = count
        self.failures = failures
        self.lastID = lastID
        self.lastCompletedAtMilliseconds = lastCompletedAtMilliseconds
        self.lastDurationMilliseconds = lastDurationMilliseconds
        self.lastSizeBytes = lastSizeBytes
    }
}

/// One sink forwarding one pipeline's results.
public struct SinkStatus: Codable, Sendable, Hashable {
    public var name: String
    public var pipeline: String
    /// `mqtt`, `file`, `http` or `console`.
    public var type: String
    public var delivered: Int64
    /// Results handed to the destination and not yet acknowledged.
    public var inFlight: Int64
    /// Results in the output log not yet delivered (a gauge).
    public var backlog: Int64
    public var retries: Int64
    /// Results the destination refused (dead-lettered).
    public var failures: Int64
    /// Results skipped by `drop_oldest` at the backlog quota.
    public var dropped: Int64
    /// Since when (epoch milliseconds) the current batch has been failing; nil while healthy.
    public var failingSinceMilliseconds: Int64?
    /// The last delivery error, with secrets already removed.
    public var lastError: String?

    public init(
        name: String, pipeline: String, type: String, delivered: Int64 = 0, inFlight: Int64 = 0, backlog: Int64 = 0,
        retries: Int64 = 0, failures: Int64 = 0, dropped: Int64 = 0, failingSinceMilliseconds: Int64? = nil,
        lastError: String? = nil
    ) {
        self.name = name
        self.pipeline = pipeline
        self.type = type
        self.delivered = delivered
        self.inFlight = inFlight
        self.backlog = backlog
        self.retries = retries
        self.failures = failures
        self.dropped = dropped
        self.failingSinceMilliseconds = failingSinceMilliseconds
        self.lastError = lastError
    }
}

/// The daemon process itself (from /proc/self).
public struct ProcessStatus: Codable, Sendable, Hashable {
    public var residentBytes: Int64
    public var cpuSeconds: Double
    public var openFiles: Int64

    public init(residentBytes: Int64 = 0, cpuSeconds: Double = 0, openFiles: Int64 = 0) {
        self.residentBytes = residentBytes
        self.cpuSeconds = cpuSeconds
        self.openFiles = openFiles
    }
}

/// What the admin server asks the daemon for.
public protocol StatusProvider: Sendable {
    func currentStatus() async -> DaemonStatus
}
