import Logging
import PSPFCore
import PSPFJSON
import PSPFLog
import PSPFRuntime
import Synchronization

/// Forwards a pipeline's output log to one sink, at the sink's own delivered position, so a slow
/// or failed sink never slows another. Batches go out in log order per output partition;
/// transient failures are retried with the sink's backoff; refused batches go to the dead letters
/// with the reason; the position advances only after a batch is delivered (or dead-lettered).
///
/// The position is the consumer group `sink.<name>` of the output topic (retention never
/// deletes what a sink has not delivered), unless the sink keeps its own
/// (``OutputSink/resumeOffsets()``).
///
/// While the destination is down the backlog grows in the output log, bounded by the sink's
/// ``BacklogQuota``: policy `block` closes the ``BackpressureGate`` (the pipelines pause, then
/// ingest); `drop_oldest` skips the oldest undelivered results, counting each one.
///
/// ```swift
/// let forwarder = SinkForwarder(sink: httpSink, output: results, deadLetters: dlq, gate: gate,
///                               options: .init(backlog: BacklogQuota(maxRecords: 1_000_000)))
/// try await forwarder.run()      // until the task is cancelled
/// ```
public final class SinkForwarder: Sendable {
    public struct Options: Sendable {
        /// Records per batch handed to the sink.
        public var batchRecords: Int
        public var backlog: BacklogQuota?
        /// How often the forwarder wakes while idle or retrying to re-check the backlog.
        public var tick: Duration
        /// At most how often the consumer group (the delivered position) is written while
        /// results flow; always on stop.
        public var commitInterval: Duration = .milliseconds(200)
        /// How long a partial batch waits for more results before it is sent (`batch.max_wait`
        /// of HTTP sinks); nil sends what is there at once.
        public var linger: Duration?
        /// Deliver only below this offset of a partition (nil: no limit). The daemon passes the
        /// pipeline's checkpointed output ends for exactly-once sinks: what they write can then
        /// never be truncated by a recovery and regenerated.
        public var readLimit: (@Sendable (_ partition: Int) -> Int64?)?

        public init(
            batchRecords: Int = 500, backlog: BacklogQuota? = nil, tick: Duration = .milliseconds(200),
            linger: Duration? = nil, readLimit: (@Sendable (_ partition: Int) -> Int64?)? = nil
        ) {
            self.readLimit = readLimit
            self.batchRecords = batchRecords
            self.backlog = backlog
            self.linger = linger
            self.tick = tick
        }
    }

    /// Counters of one forwarder.
    public struct Stats: Sendable, Hashable {
        public var delivered: Int64 = 0
        public var deliveredBatches: Int64 = 0
        public var retries: Int64 = 0
        public var deadLettered: Int64 = 0
        public var dropped: Int64 = 0
        /// Undelivered results (a gauge).
        public var backlog: Int64 = 0
        /// A batch is being retried.
        public var failing = false
        /// Results handed to the sink in the current attempt, not yet confirmed.
        public var inFlight: Int64 = 0
        /// Wall-clock time (epoch milliseconds) the current failure began; nil while healthy.
        public var failingSinceMilliseconds: Int64?
        public var lastError: String?
    }

    public let sink: any OutputSink
    public let output: LogTopic
    public let deadLetters: LogTopic?
    public let gate: BackpressureGate?
    public let options: Options
    public var group: String { "sink." + sink.name }
    private let sleeper: any Sleeper
    private let randomUnit: @Sendable () -> Double
    private let logger: Logger
    private let counters = Mutex(Stats())
    /// Group offsets delivered but not yet written, and when they were last written.
    private let groupCommit = Mutex<(pending: [Int: Int64], last: ContinuousClock.Instant?)>(([:], nil))
    /// The delivered position per output partition, for ``undelivered``.
    private let delivered = Mutex<[Int: Int64]>([:])

    public init(
        sink: any OutputSink, output: LogTopic, deadLetters: LogTopic? = nil, gate: BackpressureGate? = nil,
        options: Options = Options(), sleeper: any Sleeper = TaskSleeper(),
        randomUnit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        logger: Logger = Logger(label: "pspf.sink")
    ) {
        self.sink = sink
        self.output = output
        self.deadLetters = deadLetters
        self.gate = gate
        self.options = options
        self.sleeper = sleeper
        self.randomUnit = randomUnit
        self.logger = logger
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// Forwards until the task is cancelled, then closes the sink.
    ///
    /// - Parameter resumeAtMost: the output log's ends right after the pipeline's recovery
    ///   (`LocalRunner.waitUntilRecovered()`). A position beyond them — results delivered before
    ///   a crash and then truncated by recovery — moves back to them, in the sink too: those
    ///   results are generated again, not necessarily at the same offsets.
    public func run(resumeAtMost: [Int: Int64]? = nil) async throws {
        try output.groups.register(group: group)
        var positions = try await startPositions()
        if let resumeAtMost {
            var rewound: [Int: Int64] = [:]
            for (partition, position) in positions {
                if let end = resumeAtMost[partition], position > end { rewound[partition] = end }
            }
            if !rewound.isEmpty {
                try await sink.rewind(to: rewound)
                try await output.commit(group: group, offsets: rewound)
                positions.merge(rewound) { _, new in new }
                logger.info(
                    "the output log was truncated below what this sink had delivered: delivering again from its recovered end",
                    metadata: ["offsets": "\(rewound.sorted { $0.key < $1.key })"])
            }
        }
        delivered.withLock { $0 = positions }
        defer { gate?.set(closed: false, by: group) }
        // One reader per output partition, kept across batches: a new reader per batch re-opened
        // the segment and index files, re-read the whole index and allocated a fresh 1 MiB read
        // buffer (measured: ~400 opens/s and most of the forwarder's system time at 2k results/s).
        var readers: [Int: PartitionReader] = [:]
        do {
            while !Task.isCancelled {
                var progressed = false
                for partition in 0..<output.partitionCount where !Task.isCancelled {
                    progressed =
                        try await forwardBatch(partition: partition, positions: &positions, readers: &readers) || progressed
                }
                if !progressed {
                    try await waitForOutput(after: positions)
                }
            }
        } catch is CancellationError {
            // A graceful stop: what was delivered is committed.
        }
        try await flushGroupCommit()
        try await sink.close()
    }

    private func startPositions() async throws -> [Int: Int64] {
        let own = try await sink.resumeOffsets()
        var positions: [Int: Int64] = [:]
        for partition in 0..<output.partitionCount {
            let start = output.startOffset(partition: partition)
            let position = own?[partition] ?? output.groups.committedOffset(group: group, partition: partition) ?? start
            positions[partition] = max(position, start)
        }
        return positions
    }

    /// Delivers one batch of `partition` (with retries); `false` when there was nothing to send.
    private func forwardBatch(
        partition: Int, positions: inout [Int: Int64], readers: inout [Int: PartitionReader]
    ) async throws -> Bool {
        var attempt = 0
        while true {
            try await enforceBacklog(positions: &positions)
            var batch = try readBatch(partition: partition, from: positions[partition]!, readers: &readers)
            guard var last = batch.last else { return attempt > 0 }
            if attempt == 0, let linger = options.linger, batch.count < options.batchRecords {
                // A partial first batch waits (bounded) for more results: fewer, fuller requests.
                try await waitForRecords(partition: partition, from: positions[partition]!, atMost: linger)
                batch = try readBatch(partition: partition, from: positions[partition]!, readers: &readers)
                last = batch.last!
            }
            attempt += 1
            counters.withLock { $0.inFlight = Int64(batch.count) }
            let outcome = try await sink.deliver(batch)
            counters.withLock { $0.inFlight = 0 }
            switch outcome {
            case .delivered:
                try await commit(partition: partition, next: last.offset + 1, positions: &positions)
                counters.withLock {
                    $0.delivered += Int64(batch.count)
                    $0.deliveredBatches += 1
                    $0.failing = false
                    $0.failingSinceMilliseconds = nil
                }
                return true
            case .rejected(let reason, let message):
                try await deadLetter(batch, reason: reason, message: message)
                try await commit(partition: partition, next: last.offset + 1, positions: &positions)
                counters.withLock {
                    $0.deadLettered += Int64(batch.count)
                    $0.failing = false
                    $0.failingSinceMilliseconds = nil
                }
                return true
            case .retry(let after, let error):
                counters.withLock {
                    $0.retries += 1
                    if !$0.failing { $0.failingSinceMilliseconds = SystemClock().now().milliseconds }
                    $0.failing = true
                    $0.lastError = error
                }
                guard sink.retryPolicy.allowsRetry(afterAttempt: attempt) else {
                    let message = "gave up after \(attempt) attempts: \(error)"
                    try await deadLetter(batch, reason: "sink_retries_exhausted", message: message)
                    try await commit(partition: partition, next: last.offset + 1, positions: &positions)
                    counters.withLock {
                        $0.deadLettered += Int64(batch.count)
                        $0.failing = false
                        $0.failingSinceMilliseconds = nil
                    }
                    logger.warning("sink \(sink.name): \(message); \(batch.count) results dead-lettered")
                    return true
                }
                let delay = sink.retryPolicy.delay(afterAttempt: attempt, randomUnit: randomUnit(), retryAfter: after)
                if attempt == 1 || attempt % 10 == 0 {
                    logger.warning("sink \(sink.name): delivery failed (\(error)); retrying in \(delay) (attempt \(attempt))")
                }
                try await sleeper.sleep(for: delay)
            }
        }
    }

    private func readBatch(
        partition: Int, from position: Int64, readers: inout [Int: PartitionReader]
    ) throws -> [SinkRecord] {
        var batch: [SinkRecord] = []
        batch.reserveCapacity(options.batchRecords)
        let extractor = Self.idExtractor
        var values = extractor.makeValues()
        var maxRecords = options.batchRecords
        if let limit = options.readLimit?(partition) {
            guard limit > position else { return [] }
            maxRecords = Int(min(Int64(maxRecords), limit - position))
        }
        let reader = readers[partition] ?? output.reader(partition: partition)
        readers[partition] = reader
        try reader.read(from: position, maxRecords: maxRecords) { record in
            var id = ""
            if (try? extractor.extract(from: record.payload, into: &values)) != nil {
                id = values.string(at: 0) ?? ""
            }
            batch.append(SinkRecord(partition: partition, offset: record.offset, id: id, payload: Array(record.payload)))
        }
        return batch
    }

    private static let idExtractor = JSONFieldExtractor(fields: ["id"])

    /// Results in the output log past the delivered position, now (0 once everything written
    /// so far was delivered, dead-lettered or dropped); -1 before ``run(resumeAtMost:)`` has
    /// read its start position (not known yet, so never "done").
    public var undelivered: Int64 {
        let positions = delivered.withLock { $0 }
        guard !positions.isEmpty else { return output.partitionCount == 0 ? 0 : -1 }
        var total: Int64 = 0
        for partition in 0..<output.partitionCount {
            total += max(0, output.endOffset(partition: partition) - (positions[partition] ?? 0))
        }
        return total
    }

    private func commit(partition: Int, next: Int64, positions: inout [Int: Int64], force: Bool = false) async throws {
        positions[partition] = next
        delivered.withLock { $0[partition] = next }
        // The consumer group is an atomic file write with two fsyncs: at every batch it became
        // the forwarder's bottleneck (2k results/s). A crash may lose the last `commitInterval`
        // of it, which only redelivers those results (at-least-once, stable ids); sinks that
        // keep their own position (the file sink) record it at every batch in `committed`.
        let due = groupCommit.withLock { state -> [Int: Int64]? in
            state.pending[partition] = next
            let now = ContinuousClock.now
            guard force || state.last.map({ now - $0 >= options.commitInterval }) ?? true else { return nil }
            state.last = now
            defer { state.pending = [:] }
            return state.pending
        }
        if let due { try await output.commit(group: group, offsets: due) }
        try await sink.committed([partition: next])
    }

    /// Writes the group offsets not yet committed (when stopping).
    private func flushGroupCommit() async throws {
        let pending = groupCommit.withLock { state in
            defer { state.pending = [:] }
            return state.pending
        }
        if !pending.isEmpty { try await output.commit(group: group, offsets: pending) }
    }

    /// Applies the backlog quota: closes or opens the gate (`block`), or skips the oldest
    /// results (`drop_oldest`).
    private func enforceBacklog(positions: inout [Int: Int64]) async throws {
        var backlog: Int64 = 0
        for partition in 0..<output.partitionCount {
            backlog += max(0, output.endOffset(partition: partition) - positions[partition]!)
        }
        counters.withLock { $0.backlog = backlog }
        guard let quota = options.backlog else { return }
        switch quota.policy {
        case .block:
            gate?.set(closed: backlog > quota.maxRecords, by: group)
        case .dropOldest:
            var excess = backlog - quota.maxRecords
            while excess > 0 {
                // Drop from the partition with the largest backlog, oldest first.
                let partition = (0..<output.partitionCount).max {
                    output.endOffset(partition: $0) - positions[$0]! < output.endOffset(partition: $1) - positions[$1]!
                }!
                let available = output.endOffset(partition: partition) - positions[partition]!
                let count = min(excess, available)
                guard count > 0 else { break }
                try await commit(partition: partition, next: positions[partition]! + count, positions: &positions)
                excess -= count
                counters.withLock {
                    $0.dropped += count
                    $0.backlog -= count
                }
                logger.warning(
                    "sink \(sink.name): backlog over its quota of \(quota.maxRecords) results; dropped the \(count) oldest of partition \(partition) (policy drop_oldest)")
            }
        }
    }

    private func deadLetter(_ batch: [SinkRecord], reason: String, message: String) async throws {
        guard let deadLetters else {
            logger.error("sink \(sink.name): \(batch.count) results refused (\(reason): \(message)) and no dead-letter topic is configured")
            return
        }
        var letters = LogBatch()
        var writer = JSONWriter(capacity: 512)
        for record in batch {
            writer.reset()
            DeadLetterEnvelope(
                reason: reason, message: message, pipeline: "sink:" + sink.name, sourceTopic: output.name,
                partition: record.partition, offset: record.offset, key: Array(record.id.utf8), appendTime: 0,
                payload: record.payload
            ).encode(into: &writer)
            Array(record.id.utf8).withUnsafeBytes { key in
                writer.bytes.withUnsafeBytes { payload in
                    letters.append(key: key, topic: UnsafeRawBufferPointer(start: nil, count: 0), payload: payload)
                }
            }
        }
        try await deadLetters.appendDurably(letters)
    }

    /// Waits until any partition has records past its position, or one tick passes (so the
    /// backlog is re-checked while idle).
    /// Waits until `partition` holds a full batch from `offset`, or `limit` has passed.
    private func waitForRecords(partition: Int, from offset: Int64, atMost limit: Duration) async throws {
        let output = self.output
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var end = output.endOffset(partition: partition)
        while end - offset < Int64(options.batchRecords), clock.now < deadline {
            let wait = end
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await output.waitForRecords(partition: partition, from: wait) }
                group.addTask { try await Task.sleep(until: deadline, clock: clock) }
                _ = try await group.next()
                group.cancelAll()
            }
            end = output.endOffset(partition: partition)
        }
    }

    private func waitForOutput(after positions: [Int: Int64]) async throws {
        let output = self.output
        let tick = options.tick
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (partition, position) in positions {
                // Held back by the read limit: only a later checkpoint (a tick) can release it.
                if let limit = options.readLimit?(partition), limit <= position { continue }
                group.addTask { try await output.waitForRecords(partition: partition, from: position) }
            }
            group.addTask { try await Task.sleep(for: tick) }
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
