import Logging
import PSPFJSON
import PSPFLog
import PSPFMQTT
import PSPFRuntime
import Synchronization

/// The durable-before-ack ingest: an ``MQTTMessageHandler`` that takes every message of a read
/// phase into the input ``LogTopic`` and makes the batch durable with one group-commit
/// ``LogTopic/flush()`` in ``readPhaseEnded()``, which the MQTT client calls before it writes
/// any PUBACK of the batch. So a QoS 1 message is acknowledged only after it is on disk.
///
/// For each message, in ``received(_:)`` (on the MQTT network thread), in order:
/// 1. a payload over ``MQTTIngestConfiguration/maxPayloadBytes`` goes to the dead-letter topic
///    (reason `payload_too_large`);
/// 2. the key (topic segment or payload field), event time and identity are read; a message
///    without a key goes to the dead-letter topic (reason `missing_key`);
/// 3. a message whose identity fingerprint is already remembered is a duplicate: counted,
///    acknowledged, not appended (see ``Deduplication``);
/// 4. otherwise its record (key, topic and payload as they arrived; event time) is framed into
///    the batch (one copy of the bytes), routed by the key's hash.
///
/// ``readPhaseEnded()`` appends the batch with one `LogTopic.append(_:)` (the log stamps the
/// append time), then flushes. One append per batch rather than per message means one lock,
/// one writer wake-up, one write and one fsync per partition per batch: measured, half the
/// fsyncs and a fifth of the writes (`docs/benchmarks.md`). If the append fails (disk
/// quota, log failure) nothing of the batch is in the log and ``readPhaseEnded()`` throws: the
/// client drops the connection without acknowledging the batch and the broker redelivers it.
///
/// ```swift
/// let handler = try MQTTIngestHandler(
///     configuration: MQTTIngestConfiguration(topicFilters: ["sensors/+/reading"], key: .topicSegment(1)),
///     input: input, deadLetters: deadLetters, logger: logger)
/// let client = try MQTTClient(configuration: clientConfiguration, handler: handler)
/// ```
///
/// Creating a handler rebuilds the de-duplication state from the tail of the input topic
/// (blocking file IO): create it before serving, off the cooperative pool.
public final class MQTTIngestHandler: MQTTMessageHandler {
    public let configuration: MQTTIngestConfiguration
    public let input: LogTopic
    public let deadLetters: LogTopic
    /// What rebuilding the de-duplication state from the input topic found.
    public let rebuildReport: DedupRebuildReport

    private let logger: Logger
    private let core: Mutex<IngestCore>
    /// How a topic is flushed; tests substitute a failing flush.
    let flush: @Sendable (LogTopic) throws -> Void
    private let hooks = Mutex(Hooks())

    private struct Hooks {
        var pauseSwitch: (@Sendable (Bool) -> Void)?
        var observer: (@Sendable (MQTTIngestEvent) -> Void)?
    }

    /// - Parameters:
    ///   - input: the input topic (opened for appending); its disk quota drives backpressure.
    ///   - deadLetters: where oversized and keyless messages go, as ``DeadLetterEnvelope`` JSON.
    ///   - clock: the de-duplication horizon's clock (the input topic stamps its own append times).
    /// - Throws: ``ConnectorError`` for an invalid configuration; a ``LogError`` if the input
    ///   topic cannot be read.
    public convenience init(
        configuration: MQTTIngestConfiguration, input: LogTopic, deadLetters: LogTopic, clock: LogClock = .system,
        logger: Logger = Logger(label: "pspf.ingest")
    ) throws {
        try self.init(
            configuration: configuration, input: input, deadLetters: deadLetters, clock: clock, logger: logger,
            flush: { try $0.flush() })
    }

    init(
        configuration: MQTTIngestConfiguration, input: LogTopic, deadLetters: LogTopic, clock: LogClock,
        logger: Logger, flush: @escaping @Sendable (LogTopic) throws -> Void
    ) throws {
        try configuration.validate()
        self.flush = flush
        self.configuration = configuration
        self.input = input
        self.deadLetters = deadLetters
        self.logger = logger
        let fields = IngestFieldReader(configuration: configuration)
        let keyer = DedupKeyer(identity: configuration.deduplication.isEnabled ? configuration.deduplication.identity : .none)
        let (index, report) = try DedupIndex.rebuild(
            from: input, keyer: keyer, fields: fields,
            horizonMilliseconds: configuration.deduplication.horizonMilliseconds,
            maxEntries: configuration.deduplication.isEnabled ? configuration.deduplication.maxEntries : 0, now: clock.now())
        self.rebuildReport = report
        let ingestCore = IngestCore(
            configuration: configuration, input: input, deadLetters: deadLetters, clock: clock, logger: logger,
            fields: fields, keyer: keyer, dedup: index)
        ingestCore.stats.dedupEntriesRebuilt = report.entriesLoaded
        self.core = Mutex(ingestCore)
        if report.entriesLoaded > 0 {
            logger.debug(
                "de-duplication state rebuilt from the input log",
                metadata: ["entries": "\(report.entriesLoaded)", "scanned": "\(report.recordsScanned)"])
        }
    }

    // MARK: MQTTMessageHandler

    public func received(_ message: MQTTMessageView) {
        receive(topic: message.topic, payload: message.payload, qos: message.qos)
    }

    /// One message (what ``received(_:)`` does with a view): usable by any source that has the
    /// topic and payload bytes. Buffers are read only during the call.
    public func receive(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: MQTTQoS) {
        core.withLock { $0.receive(topic: topic, payload: payload, qos: qos) }
    }

    /// Ends the batch: appends its records to the input topic, then one blocking group-commit
    /// flush of the input (and dead-letter) topic when the batch holds a QoS 1/2 message, so the
    /// acknowledgements the client writes next cover only durable records. Throws (and so
    /// withholds every acknowledgement of the batch) if the append or the flush failed. Runs on
    /// the MQTT network thread, never on the cooperative pool.
    public func readPhaseEnded() throws {
        var plan = core.withLock { $0.planFlush() }
        var appendError: (any Error)?
        if !plan.records.isEmpty {
            do { try input.append(plan.records) } catch { appendError = error }
        }
        var flushError: (any Error)?
        if plan.flushInput {
            do { try flush(input) } catch { flushError = error }
        }
        if plan.flushDeadLetters, flushError == nil {
            do { try flush(deadLetters) } catch { flushError = error }
        }
        let records = plan.records
        plan.records = LogBatch(capacity: 0)
        let outcome = core.withLock { $0.finishBatch(records: records, appendError: appendError, flushError: flushError) }
        apply(outcome.action, batchEvent: outcome.batchEvent, quotaEvent: outcome.quotaEvent)
        if let error = outcome.error { throw error }
    }

    // MARK: Backpressure

    /// Re-evaluates backpressure: a paused ingest first asks the input topic to apply retention
    /// (segments every consumer group has read are deleted), then resumes reading if usage fell
    /// below ``IngestBackpressure/resumeBelowFraction``. ``MQTTIngestSource`` calls it every
    /// ``IngestBackpressure/checkInterval``.
    public func checkBackpressure() async {
        let paused = core.withLock { $0.gate.paused }
        if paused, input.config.diskQuotaBytes != nil {
            do {
                try await input.enforceRetention()
            } catch {
                logger.warning("retention of the input topic failed while paused", metadata: ["error": "\(error)"])
            }
        }
        let (action, event) = core.withLock { $0.evaluateQuota(rejected: false) }
        apply(action, quotaEvent: event)
    }

    /// Installs the switch that pauses and resumes reading (``MQTTIngestSource`` sets it to
    /// ``MQTTClient/readingPaused``). Called at once with the current state.
    public func onPauseChange(_ body: @escaping @Sendable (Bool) -> Void) {
        hooks.withLock { $0.pauseSwitch = body }
        body(core.withLock { $0.gate.paused })
    }

    /// Installs an observer of ``MQTTIngestEvent``s (replacing the previous one).
    public func observe(_ observer: @escaping @Sendable (MQTTIngestEvent) -> Void) {
        hooks.withLock { $0.observer = observer }
    }

    /// Counters since start.
    public var stats: MQTTIngestStats {
        core.withLock { core in
            var stats = core.stats
            stats.isPaused = core.gate.paused
            stats.dedupEntries = core.dedup.count
            return stats
        }
    }

    private func apply(_ action: IngestQuotaGate.Action, batchEvent: MQTTIngestEvent? = nil, quotaEvent: MQTTIngestEvent?) {
        let (pauseSwitch, observer) = hooks.withLock { ($0.pauseSwitch, $0.observer) }
        switch action {
        case .none: break
        case .pause: pauseSwitch?(true)
        case .resume: pauseSwitch?(false)
        }
        if let batchEvent { observer?(batchEvent) }
        guard let quotaEvent else { return }
        observer?(quotaEvent)
        if case .paused(let used, let quota) = quotaEvent {
            logger.warning(
                "input topic at its disk quota: pausing MQTT reads (the broker queues for the persistent session)",
                metadata: ["topic": "\(input.name)", "used_bytes": "\(used)", "quota_bytes": "\(quota)"])
        } else if case .resumed(let used, let quota) = quotaEvent {
            logger.info(
                "input topic below its quota again: resuming MQTT reads",
                metadata: ["topic": "\(input.name)", "used_bytes": "\(used)", "quota_bytes": "\(quota)"])
        }
    }
}

/// The mutable state of the ingest, used only under the handler's `Mutex` (by the network
/// thread in `receive`/`readPhaseEnded`, and by the backpressure check). `@unchecked Sendable`
/// because message views (non-`Sendable` buffer pointers valid during the call) are passed to it
/// inside the lock; it is never reachable without the lock.
final class IngestCore: @unchecked Sendable {
    struct Batch {
        var messages = 0
        var appended = 0
        var deadLettered = 0
        var ackPending = false
        var quotaHit = false
        var failure: ConnectorError?
        var inserted: [Fingerprint] = []
        var time: Int64 = 0
        /// Records of the batch not yet handed to the log, and how many need an acknowledgement.
        var pendingAcked = 0
        var pendingQoS0 = 0
        var pendingPayloadBytes: Int64 = 0
    }

    struct FlushPlan {
        var records: LogBatch
        var flushInput: Bool
        var flushDeadLetters: Bool
    }

    struct BatchOutcome {
        var action: IngestQuotaGate.Action
        var batchEvent: MQTTIngestEvent
        var quotaEvent: MQTTIngestEvent?
        var error: ConnectorError?
    }

    let configuration: MQTTIngestConfiguration
    let input: LogTopic
    let deadLetters: LogTopic
    let clock: LogClock
    let logger: Logger
    let fields: IngestFieldReader
    let keyer: DedupKeyer
    var dedup: DedupIndex
    var stats = MQTTIngestStats()
    var gate: IngestQuotaGate
    var batch = Batch()
    /// The batch's records, framed as they arrive and appended with one `append` at the end of
    /// the read phase (one lock, one writer wake-up and one write per partition per batch).
    private var records = LogBatch(capacity: 256 << 10)
    private var writer = JSONWriter(capacity: 512)
    private var warnedQoS0Drop = false

    init(
        configuration: MQTTIngestConfiguration, input: LogTopic, deadLetters: LogTopic, clock: LogClock, logger: Logger,
        fields: IngestFieldReader, keyer: DedupKeyer, dedup: DedupIndex
    ) {
        self.configuration = configuration
        self.input = input
        self.deadLetters = deadLetters
        self.clock = clock
        self.logger = logger
        self.fields = fields
        self.keyer = keyer
        self.dedup = dedup
        self.gate = IngestQuotaGate(configuration.backpressure)
    }

    func receive(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: MQTTQoS) {
        if batch.messages == 0 { batch.time = clock.now() }
        batch.messages += 1
        stats.received += 1
        stats.receivedBytes += Int64(payload.count)
        let needsAck = qos != .atMostOnce
        if needsAck { batch.ackPending = true }

        if payload.count > configuration.maxPayloadBytes {
            deadLetter(
                reason: IngestDeadLetterReason.payloadTooLarge,
                message: "payload of \(payload.count) bytes exceeds maxPayloadBytes \(configuration.maxPayloadBytes)",
                topic: topic, payload: payload, needsAck: needsAck)
            return
        }
        let extracted: IngestFieldReader.Fields
        switch fields.read(topic: topic, payload: payload) {
        case .success(let value):
            extracted = value
        case .failure(.missingKey(let reason)):
            deadLetter(
                reason: IngestDeadLetterReason.missingKey, message: "no key (\(configuration.key)): \(reason)",
                topic: topic, payload: payload, needsAck: needsAck)
            return
        }
        let fingerprint = keyer.fingerprint(
            topic: topic, key: extracted.key, eventTime: extracted.eventTime, identityField: extracted.identity,
            payload: payload)
        if let fingerprint, dedup.contains(fingerprint) {
            stats.duplicates += 1
            return
        }
        if needsAck, batch.failure != nil {
            // The batch will not be acknowledged anyway: do not append what will come again.
            stats.rejected += 1
            return
        }
        let recordBytes = extracted.key.count + topic.count + payload.count
        guard topic.count <= 0xFFFF, recordBytes <= input.config.maxRecordBytes else {
            deadLetter(
                reason: IngestDeadLetterReason.recordTooLarge,
                message: "record of \(recordBytes) bytes (key \(extracted.key.count), topic \(topic.count)) exceeds the input topic's maxRecordBytes \(input.config.maxRecordBytes)",
                topic: topic, payload: payload, needsAck: needsAck)
            return
        }
        records.append(key: extracted.key, topic: topic, payload: payload, eventTime: extracted.eventTime)
        if needsAck { batch.pendingAcked += 1 } else { batch.pendingQoS0 += 1 }
        batch.pendingPayloadBytes += Int64(payload.count)
        if let fingerprint {
            dedup.insert(fingerprint, time: batch.time)
            batch.inserted.append(fingerprint)
        }
    }

    private func appendFailed(_ error: any Error, needsAck: Bool) {
        let quota = (error as? LogError)?.code == .quotaExceeded
        if quota { batch.quotaHit = true }
        if needsAck {
            stats.rejected += 1
            if batch.failure == nil {
                batch.failure =
                    quota
                    ? ConnectorError(
                        .backpressure,
                        "the input topic '\(input.name)' is at its disk quota; the batch is not acknowledged and the broker will redeliver it",
                        cause: error as? LogError)
                    : ConnectorError(.log, "appending to the input topic '\(input.name)' failed", cause: error as? LogError)
            }
        } else {
            stats.droppedQoS0 += 1
            if !warnedQoS0Drop {
                warnedQoS0Drop = true
                logger.warning(
                    "a QoS 0 message could not be appended and is lost (QoS 0 has no redelivery); counted in droppedQoS0",
                    metadata: ["topic": "\(input.name)", "error": "\(error)"])
            }
        }
    }

    private func deadLetter(
        reason: String, message: String, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, needsAck: Bool
    ) {
        let envelope = DeadLetterEnvelope(
            reason: reason, message: message, pipeline: configuration.deadLetterSource,
            sourceTopic: String(decoding: topic, as: UTF8.self), partition: -1, offset: -1, key: [],
            appendTime: batch.time, payload: Array(payload))
        writer.reset()
        envelope.encode(into: &writer)
        do {
            _ = try writer.bytes.withUnsafeBytes { bytes in
                try deadLetters.append(key: topic, topic: topic, payload: bytes)
            }
        } catch {
            appendFailed(error, needsAck: needsAck)
            return
        }
        stats.deadLettered += 1
        batch.deadLettered += 1
        logger.debug("message dead-lettered", metadata: ["reason": "\(reason)", "message": "\(message)"])
    }

    /// Hands the batch's records over (to be appended outside the lock) and says what to flush.
    func planFlush() -> FlushPlan {
        var taken = LogBatch(capacity: 0)
        swap(&taken, &records)
        // QoS 0 batches have no acknowledgement to hold back: their appends become durable
        // with the log's group commit, without blocking the reader.
        return FlushPlan(
            records: taken, flushInput: batch.ackPending, flushDeadLetters: batch.ackPending && batch.deadLettered > 0)
    }

    func finishBatch(records taken: LogBatch, appendError: (any Error)?, flushError: (any Error)?) -> BatchOutcome {
        records = taken
        records.removeAll()
        stats.readPhases += 1
        if batch.ackPending { stats.flushes += 1 }
        if let appendError {
            // Nothing of the batch was appended: forget its fingerprints; the broker redelivers
            // the QoS 1/2 messages, QoS 0 ones are lost.
            for fingerprint in batch.inserted { dedup.remove(fingerprint) }
            batch.inserted.removeAll(keepingCapacity: true)
            if batch.pendingAcked > 0 {
                stats.rejected += Int64(batch.pendingAcked - 1)
                appendFailed(appendError, needsAck: true)
            }
            if batch.pendingQoS0 > 0 {
                appendFailed(appendError, needsAck: false)
                stats.droppedQoS0 += Int64(batch.pendingQoS0 - 1)
            }
            if (appendError as? LogError)?.code == .quotaExceeded { batch.quotaHit = true }
        } else {
            let appended = batch.pendingAcked + batch.pendingQoS0
            stats.appended += Int64(appended)
            stats.appendedBytes += batch.pendingPayloadBytes
            batch.appended += appended
        }
        batch.pendingAcked = 0
        batch.pendingQoS0 = 0
        batch.pendingPayloadBytes = 0
        var error = batch.failure
        if let flushError {
            // Not durable: forget the fingerprints so that the redelivered messages are appended.
            for fingerprint in batch.inserted { dedup.remove(fingerprint) }
            error = ConnectorError(.log, "flushing the input topic '\(input.name)' failed", cause: flushError as? LogError)
        }
        let event: MQTTIngestEvent
        if let error, batch.ackPending {
            stats.failedPhases += 1
            event = .batchFailed(messages: batch.messages, error: error.description)
        } else {
            error = nil
            event = .batchCompleted(messages: batch.messages, appended: batch.appended, flushed: batch.ackPending)
        }
        let (action, quotaEvent) = evaluateQuota(rejected: batch.quotaHit)
        batch.messages = 0
        batch.appended = 0
        batch.deadLettered = 0
        batch.ackPending = false
        batch.quotaHit = false
        batch.failure = nil
        batch.inserted.removeAll(keepingCapacity: true)
        return BatchOutcome(action: action, batchEvent: event, quotaEvent: quotaEvent, error: error)
    }

    func evaluateQuota(rejected: Bool) -> (IngestQuotaGate.Action, MQTTIngestEvent?) {
        let quota = input.quota
        let used = quota.usedBytes + quota.pendingBytes
        let action = gate.evaluate(used: used, quota: quota.quotaBytes, rejected: rejected)
        switch action {
        case .none:
            return (.none, nil)
        case .pause:
            stats.pauses += 1
            warnedQoS0Drop = false
            return (.pause, .paused(usedBytes: used, quotaBytes: quota.quotaBytes ?? 0))
        case .resume:
            return (.resume, .resumed(usedBytes: used, quotaBytes: quota.quotaBytes ?? 0))
        }
    }
}

/// The `reason` codes of dead letters written by the ingest.
public enum IngestDeadLetterReason {
    /// The payload is larger than ``MQTTIngestConfiguration/maxPayloadBytes``.
    public static let payloadTooLarge = "payload_too_large"
    /// The key could not be extracted (topic level missing or empty, payload field missing,
    /// not a string or number, or the payload is not valid JSON).
    public static let missingKey = "missing_key"
    /// Key, topic and payload together exceed the input topic's `maxRecordBytes`.
    public static let recordTooLarge = "record_too_large"
}
