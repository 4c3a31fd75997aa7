import Logging
import PSPFLog
import PSPFMQTT
import Synchronization

/// Forwards an output topic's records (the result JSON objects a pipeline writes) to MQTT: one
/// PUBLISH per record, to a topic rendered from the record (``TopicTemplate``), with the
/// record's bytes as the payload, at QoS 0/1/2, with at most
/// ``MQTTSinkConfiguration/maxInflight`` publishes awaiting acknowledgement.
///
/// **Delivered offset.** The sink's position is the consumer group `sink.<name>` of the output
/// topic (so retention keeps what it has not delivered). It advances only over records the
/// broker acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2; for QoS 0, the publish written to
/// the socket), and only over the contiguous prefix of them: a record acknowledged after one
/// still in flight waits. A restarted sink resumes at the committed offset; after a reconnect,
/// libmosquitto resends the QoS 1/2 publishes still in flight. Delivery is at-least-once:
/// records acknowledged but not yet committed when the process dies are sent again, so
/// consumers de-duplicate by the result's `id`.
///
/// **Failures.** A failed publish (QoS 0 while disconnected, the client closed) stops sending;
/// once everything in flight has completed the sink rewinds to its delivered offset and tries
/// again after ``MQTTSinkConfiguration/retryDelay``. A publish the broker rejects (MQTT 5 reason
/// code ≥ 0x80) is counted in ``MQTTSinkStats/rejected``, logged, and not retried.
///
/// ```swift
/// let client = try MQTTClient(configuration: cloud)
/// try await client.connect()
/// let sink = try MQTTSink(
///     configuration: MQTTSinkConfiguration(name: "cloud", topic: try TopicTemplate("agg/{key}")),
///     output: results, transport: client, logger: logger)
/// let task = Task { try await sink.run() }     // until cancelled; then drains what is in flight
/// ```
public final class MQTTSink: Sendable {
    public let configuration: MQTTSinkConfiguration
    public let output: LogTopic
    private let transport: any MQTTSinkTransport
    private let logger: Logger
    private let shared: SinkShared

    public init(
        configuration: MQTTSinkConfiguration, output: LogTopic, transport: any MQTTSinkTransport,
        logger: Logger = Logger(label: "pspf.sink.mqtt")
    ) throws {
        try configuration.validate(partitionCount: output.partitionCount)
        self.configuration = configuration
        self.output = output
        self.transport = transport
        var logger = logger
        logger[metadataKey: "sink"] = "\(configuration.name)"
        self.logger = logger
        self.shared = SinkShared(logger: logger)
    }

    /// Counters since the sink was created.
    public var stats: MQTTSinkStats {
        shared.state.withLock { state in
            var stats = state.stats
            stats.inflight = state.tracker.inflightCount
            stats.deliveredOffsets = state.tracker.deliveredOffsets
            return stats
        }
    }

    /// Calls `observer` after every commit of the delivered offsets (with all partitions'
    /// committed offsets), on the sink's task. For progress output and tests.
    public func observeCommits(_ observer: @escaping @Sendable ([Int: Int64]) -> Void) {
        shared.state.withLock { $0.commitObserver = observer }
    }

    /// Forwards records until the task is cancelled, then waits (at most
    /// ``MQTTSinkConfiguration/drainTimeout``) for what is in flight and commits the delivered
    /// offsets. Throws if the client is closed or the output topic fails.
    public func run() async throws {
        let group = configuration.groupName
        let partitions = configuration.partitions ?? Array(0..<output.partitionCount)
        try await output.commit(group: group, offsets: [:])   // registers the group: retention keeps our backlog
        var start: [Int: Int64] = [:]
        for partition in partitions {
            start[partition] = output.groups.committedOffset(group: group, partition: partition)
                ?? output.startOffset(partition: partition)
        }
        shared.reset(start: start)
        let shared = self.shared
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for partition in partitions {
                    tasks.addTask { await self.watch(partition) }
                }
                do {
                    try await forward(partitions: partitions, start: start)
                } catch {
                    tasks.cancelAll()
                    throw error
                }
                tasks.cancelAll()
            }
        } onCancel: {
            shared.stopping.store(true, ordering: .releasing)
            shared.wakeup.signal()
        }
    }

    /// Signals the forwarding loop whenever `partition` gets new records.
    private func watch(_ partition: Int) async {
        var from = output.endOffset(partition: partition)
        while !Task.isCancelled {
            do {
                try await output.waitForRecords(partition: partition, from: from)
            } catch {
                return
            }
            shared.wakeup.signal()
            from = output.endOffset(partition: partition)
        }
    }

    private func forward(partitions: [Int], start: [Int: Int64]) async throws {
        let clock = ContinuousClock()
        let group = configuration.groupName
        var readers: [Int: PartitionReader] = [:]
        for partition in partitions {
            let reader = output.reader(partition: partition)
            reader.seek(to: start[partition]!)
            readers[partition] = reader
        }
        var committed = start
        var lastCommit = clock.now
        var resumeAt: ContinuousClock.Instant?
        var renderer = TopicTemplate.Renderer(configuration.topic)
        var rotation = 0

        func commitIfDue(force: Bool) async throws {
            let delivered = shared.state.withLock { $0.tracker.deliveredOffsets }
            let changed = delivered.filter { committed[$0.key] != $0.value }
            guard !changed.isEmpty, force || clock.now - lastCommit >= configuration.commitInterval else { return }
            try await output.commit(group: group, offsets: changed)
            committed.merge(changed) { $1 }
            lastCommit = clock.now
            let observer = shared.state.withLock { state in
                state.stats.committedOffsets = committed
                return state.commitObserver
            }
            observer?(committed)
        }

        while !shared.stopping.load(ordering: .acquiring) {
            let (inflight, failed) = shared.state.withLock { ($0.tracker.inflightCount, $0.tracker.hasFailure) }
            if failed {
                if inflight == 0 {
                    // Everything in flight has completed: resend from the delivered prefix.
                    let positions = shared.state.withLock { state -> [Int: Int64] in
                        state.stats.retries += 1
                        return state.tracker.rewind()
                    }
                    for (partition, offset) in positions { readers[partition]!.seek(to: offset) }
                    resumeAt = clock.now + configuration.retryDelay
                    shared.wakeup.signal(after: configuration.retryDelay)
                    logger.info("retrying after a failed publish", metadata: ["delay": "\(configuration.retryDelay)"])
                }
                try await commitIfDue(force: true)
                await shared.wakeup.wait()
                continue
            }
            if let due = resumeAt {
                if clock.now < due {
                    await shared.wakeup.wait()
                    continue
                }
                resumeAt = nil
            }

            var sent = 0
            var clientFull = false
            var capacity = configuration.maxInflight - inflight
            if capacity > 0 {
                for step in 0..<partitions.count where capacity > 0 && !clientFull {
                    let partition = partitions[(rotation + step) % partitions.count]
                    let reader = readers[partition]!
                    let (count, full) = try send(
                        from: reader, partition: partition, limit: min(capacity, configuration.batchRecords),
                        renderer: &renderer)
                    sent += count
                    capacity -= count
                    clientFull = full
                }
                rotation &+= 1
            }
            try await commitIfDue(force: sent == 0)
            if sent == 0 {
                if clientFull, inflight == 0 {
                    // The client's window is taken by other publishers: try again shortly.
                    shared.wakeup.signal(after: .milliseconds(10))
                }
                await shared.wakeup.wait()
            }
        }

        // Stopping: let what is in flight complete (bounded), then commit.
        let deadline = clock.now + configuration.drainTimeout
        shared.wakeup.signal(after: configuration.drainTimeout)
        while shared.state.withLock({ $0.tracker.inflightCount }) > 0, clock.now < deadline {
            await shared.wakeup.wait()
        }
        try await commitIfDue(force: true)
    }

    /// Sends up to `limit` records of one partition. Returns how many, and whether the client
    /// refused one because its own in-flight window is full.
    private func send(
        from reader: PartitionReader, partition: Int, limit: Int, renderer: inout TopicTemplate.Renderer
    ) throws -> (Int, Bool) {
        let configuration = self.configuration
        let transport = self.transport
        let shared = self.shared
        var unresolved = 0
        var full = false
        var sent = 0
        do {
            let result = try reader.read(maxRecords: limit) { record in
                let (topic, missing) = renderer.render(payload: record.payload)
                unresolved += missing
                let offset = record.offset
                let bytes = record.payload.count
                shared.state.withLock { $0.tracker.sent(partition: partition, offset: offset) }
                do {
                    try transport.send(
                        topic: topic, payload: Array(record.payload), qos: configuration.qos, retain: configuration.retain
                    ) { result in
                        shared.completed(partition: partition, offset: offset, bytes: bytes, result: result)
                    }
                } catch {
                    shared.state.withLock { $0.tracker.unsent(partition: partition, offset: offset) }
                    throw error
                }
                sent += 1
            }
            if result.deletedRecordsSkipped > 0 {
                logger.warning(
                    "records were deleted before the sink delivered them (disk quota)",
                    metadata: ["partition": "\(partition)", "records": "\(result.deletedRecordsSkipped)"])
                shared.state.withLock { $0.stats.skippedByRetention += result.deletedRecordsSkipped }
            }
            if result.records == 0 {
                shared.state.withLock { $0.tracker.caughtUp(partition: partition, position: reader.nextOffset) }
            }
        } catch let error as MQTTError where error.code == .inflightWindowFull {
            full = true
        } catch let error as MQTTError {
            throw ConnectorError(.mqtt, "the MQTT client refused a publish for sink '\(configuration.name)'", cause: error)
        }
        if unresolved > 0 {
            shared.state.withLock { $0.stats.unresolvedPlaceholders += Int64(unresolved) }
            shared.warnUnresolvedOnce(template: configuration.topic)
        }
        return (sent, full)
    }
}

/// The sink's state shared with the client's completion callbacks (network thread).
final class SinkShared: Sendable {
    struct State {
        var tracker = DeliveryTracker(start: [:])
        var stats = MQTTSinkStats()
        var warnedFailure = false
        var warnedUnresolved = false
        var commitObserver: (@Sendable ([Int: Int64]) -> Void)?
    }

    let state = Mutex(State())
    let wakeup = Wakeup()
    let stopping = Atomic(false)
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func reset(start: [Int: Int64]) {
        stopping.store(false, ordering: .releasing)
        state.withLock {
            $0.tracker = DeliveryTracker(start: start)
            $0.stats.committedOffsets = start
        }
    }

    func completed(partition: Int, offset: Int64, bytes: Int, result: Result<Void, MQTTError>) {
        let warning: MQTTError? = state.withLock { state in
            switch result {
            case .success:
                state.stats.published += 1
                state.stats.publishedBytes += Int64(bytes)
                state.tracker.completed(partition: partition, offset: offset, success: true)
                state.warnedFailure = false
                return nil
            case .failure(let error) where error.code == .publishRejected:
                state.stats.rejected += 1
                state.tracker.completed(partition: partition, offset: offset, success: true)
                return error
            case .failure(let error):
                state.stats.failures += 1
                state.tracker.completed(partition: partition, offset: offset, success: false)
                defer { state.warnedFailure = true }
                return state.warnedFailure ? nil : error
            }
        }
        if let warning {
            logger.warning(
                "MQTT publish failed", metadata: ["partition": "\(partition)", "offset": "\(offset)", "error": "\(warning)"])
        }
        wakeup.signal()
    }

    func warnUnresolvedOnce(template: TopicTemplate) {
        let first = state.withLock { state -> Bool in
            defer { state.warnedUnresolved = true }
            return !state.warnedUnresolved
        }
        if first {
            logger.warning(
                "a topic template placeholder has no value in a result; it was rendered as '_' (counted in unresolvedPlaceholders)",
                metadata: ["template": "\(template)"])
        }
    }
}

/// Wakes one waiting task; a signal given while nobody waits is kept for the next wait.
/// Waiting ignores cancellation (the owner signals on cancel).
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Signals after `delay` (from an unstructured task, so the caller's cancellation does not cut it short).
    func signal(after delay: Duration) {
        Task { [self] in
            try? await Task.sleep(for: delay)
            signal()
        }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
