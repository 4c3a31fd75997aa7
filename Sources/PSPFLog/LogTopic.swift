#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// One topic of the native partitioned log: N partitions of append-only segment files with a
/// dedicated writer thread, consumer groups and retention.
///
/// ```swift
/// let topic = try LogTopic.open(
///     directory: "/var/lib/pspf/log/input",
///     config: TopicConfig(partitions: 4, fsync: .interval(milliseconds: 1)),
///     logger: logger
/// )
/// defer { try? topic.close() }
///
/// // Async producers await durability.
/// var batch = LogBatch()
/// batch.append(key: "dev-1", topic: "sensors/dev-1", payload: #"{"t":21.5}"#)
/// let result = try await topic.appendDurably(batch)
///
/// // A producer on its own thread (the MQTT callback) appends, then flushes once.
/// try topic.append(batch)
/// try topic.flush()                  // returns when durable under the fsync policy
///
/// // Consumers read a partition from an offset.
/// let reader = topic.reader(partition: 0)
/// try reader.read(from: 0, maxRecords: 1_000) { record in
///     print(record.offset, record.payload.count)
/// }
/// try topic.groups.commit(group: "sink", partition: 0, nextOffset: reader.nextOffset)
/// ```
///
/// **Routing.** A record goes to `murmur2(key) & 0x7FFFFFFF % partitions` (``KeyHash``; the same
/// as Kafka's default partitioner), to its explicit partition if it has one, and records with
/// an empty key go round-robin.
///
/// **Threads.** Appends copy frames into a per-partition buffer under a lock and never touch the
/// files; the writer thread writes, fsyncs, rolls, truncates and deletes. ``append(_:)`` and
/// ``flush()`` are for callers on their own threads; from async code use ``appendDurably(_:)``
/// and the async ``flush()``/``sync()``, which suspend instead of blocking. Opening a topic,
/// ``close()``, ``verify()`` and reading do blocking file IO on the calling thread.
///
/// **Visibility.** Readers see a record once it is durable under the fsync policy (with
/// `.none`: once written), so nothing a consumer processed can vanish in a power loss.
public final class LogTopic: Sendable {
    /// The topic name (the last component of its directory).
    public let name: String
    public let directory: String
    public let config: TopicConfig
    public let isReadOnly: Bool
    /// Consumer groups and their committed offsets.
    public let groups: ConsumerGroups
    /// What opening found and repaired.
    public let recoveryReport: RecoveryReport

    let core: TopicCore
    private let writer: TopicWriter?
    private let thread: LockedValue<pthread_t?>
    private let lockFD: Int32

    private init(
        core: TopicCore, groups: ConsumerGroups, recovery: RecoveryReport, writer: TopicWriter?, lockFD: Int32
    ) throws {
        self.name = core.name
        self.directory = core.layout.directory
        self.config = core.config
        self.isReadOnly = core.readOnly
        self.groups = groups
        self.recoveryReport = recovery
        self.core = core
        self.writer = writer
        self.lockFD = lockFD
        self.thread = LockedValue(try writer?.start())
    }

    deinit {
        try? close()
        if lockFD >= 0 { FileSystem.close(lockFD) }
    }

    public var partitionCount: Int { config.partitions }

    // MARK: Opening

    /// Opens the topic at `directory` for appending, creating it if needed, and recovers it
    /// (see ``recoveryReport``). Blocking: run it before serving, or off the cooperative pool.
    ///
    /// - Parameters:
    ///   - directory: the topic directory; its last path component is the topic name.
    ///   - config: must have the partition count the topic was created with.
    ///   - clock: stamps append times, paces interval fsyncs and ages segments.
    ///   - logger: the library logs only warnings and errors.
    /// - Throws: ``LogError`` `.invalidConfig`, `.topicMismatch`, `.locked` (another process has
    ///   it open), `.corrupt`, `.io`.
    public static func open(
        directory: String, config: TopicConfig, clock: LogClock = .system, logger: Logger
    ) throws -> LogTopic {
        try config.validate()
        let layout = TopicLayout(directory: directory)
        let name = topicName(directory)
        guard TopicLayout.isValidName(name) else {
            throw LogError(.invalidArgument, "invalid topic name '\(name)': use 1...200 of [A-Za-z0-9._-], not starting with '.'", path: directory)
        }
        if try FileSystem.makeDirectories(directory) {
            try FileSystem.syncDirectory(FileSystem.parentDirectory(directory))
        }
        let lockFD = try FileSystem.open(layout.lockPath, O_RDWR | O_CREAT)
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            FileSystem.close(lockFD)
            if code == EWOULDBLOCK {
                throw LogError(.locked, "topic '\(name)' is open for writing in another process", path: layout.lockPath)
            }
            throw LogError.io("flock", path: layout.lockPath, errno: code)
        }
        do {
            if FileSystem.exists(layout.metaPath) {
                let meta = try TopicMeta.read(layout.metaPath)
                guard meta.partitions == config.partitions else {
                    throw LogError(
                        .topicMismatch,
                        "topic '\(name)' has \(meta.partitions) partitions, the configuration says \(config.partitions); the partition count of a topic cannot change",
                        path: layout.metaPath
                    )
                }
            } else {
                let bytes = TopicMeta(partitions: config.partitions).encoded()
                try bytes.withUnsafeBytes { try FileSystem.writeAtomically($0, to: layout.metaPath) }
            }
            let groups = try ConsumerGroups(layout: layout, partitionCount: config.partitions, readOnly: false, logger: logger)
            let scanner = SegmentScanner()
            var writers: [PartitionWriter] = []
            var recoveries: [PartitionRecovery] = []
            for p in 0..<config.partitions {
                let directory = layout.partitionDirectory(p)
                let loaded = try PartitionLoader(
                    partition: p, directory: directory, config: config, readOnly: false, scanner: scanner, logger: logger
                ).load()
                recoveries.append(loaded.recovery)
                writers.append(try PartitionWriter(partition: p, directory: directory, config: config, loaded: loaded, scanner: scanner))
            }
            let slots = writers.map { w in
                PartitionSlot(pending: PendingFrames(capacity: 16 << 10), nextOffset: w.endOffset, view: w.view)
            }
            let state = TopicState(partitions: slots)
            let core = TopicCore(name: name, layout: layout, config: config, clock: clock, logger: logger, readOnly: false, state: state)
            let writer = TopicWriter(core: core, partitions: writers, groups: groups)
            state.diskBytes = writer.diskBytes
            return try LogTopic(core: core, groups: groups, recovery: RecoveryReport(partitions: recoveries), writer: writer, lockFD: lockFD)
        } catch {
            FileSystem.close(lockFD)
            throw error
        }
    }

    /// Opens an existing topic for inspection without changing any file (no lock, no
    /// truncation, no writer thread): torn tails and corrupt regions are reported in
    /// ``recoveryReport`` but left in place. Works while another process appends; it sees the
    /// data as of opening.
    public static func openReadOnly(directory: String, logger: Logger) throws -> LogTopic {
        let layout = TopicLayout(directory: directory)
        guard FileSystem.exists(layout.metaPath) else {
            throw LogError(.notFound, "no PSPF log topic here (topic.meta missing)", path: directory)
        }
        let meta = try TopicMeta.read(layout.metaPath)
        let config = TopicConfig(partitions: meta.partitions, fsync: .none)
        let groups = try ConsumerGroups(layout: layout, partitionCount: meta.partitions, readOnly: true, logger: logger)
        let scanner = SegmentScanner()
        var slots: [PartitionSlot] = []
        var recoveries: [PartitionRecovery] = []
        for p in 0..<meta.partitions {
            let loaded = try PartitionLoader(
                partition: p, directory: layout.partitionDirectory(p), config: config, readOnly: true, scanner: scanner, logger: logger
            ).load()
            recoveries.append(loaded.recovery)
            let view = PartitionView(closed: loaded.closed, active: loaded.active)
            slots.append(PartitionSlot(pending: PendingFrames(capacity: 64), nextOffset: loaded.active.endOffset, view: view))
        }
        let state = TopicState(partitions: slots)
        state.finished = true
        state.diskBytes = slots.reduce(0) { $0 + $1.view.diskBytes }
        let core = TopicCore(
            name: topicName(directory), layout: layout, config: config, clock: .system, logger: logger, readOnly: true, state: state
        )
        return try LogTopic(core: core, groups: groups, recovery: RecoveryReport(partitions: recoveries), writer: nil, lockFD: -1)
    }

    /// Opens the topic, runs `body`, and closes it whether `body` throws or not.
    public static func withTopic<R>(
        directory: String, config: TopicConfig, clock: LogClock = .system, logger: Logger,
        _ body: (LogTopic) async throws -> R
    ) async throws -> R {
        let topic = try open(directory: directory, config: config, clock: clock, logger: logger)
        let result: R
        do {
            result = try await body(topic)
        } catch {
            try? topic.close()
            throw error
        }
        try topic.close()
        return result
    }

    static func topicName(_ directory: String) -> String {
        var path = Substring(directory)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path.split(separator: "/").last ?? path)
    }

    /// Stops the writer thread after writing and fsyncing everything appended, closes the files
    /// and releases the directory lock. Waiters still pending fail with `.closed`. Idempotent;
    /// throws the IO error that stopped the writer, if any.
    public func close() throws {
        guard writer != nil else { return }
        core.lock.withLock { s in
            s.closing = true
        }
        core.lock.signalWriter()
        if let thread = thread.withLock({ t -> pthread_t? in defer { t = nil }; return t }) {
            pthread_join(thread, nil)
        }
        if lockFD >= 0 { flock(lockFD, LOCK_UN) }
        if let failure = core.lock.withLock({ $0.failure }) { throw failure }
    }

    // MARK: Routing

    /// The partition of a key: `(murmur2(key) & 0x7FFFFFFF) % partitionCount`.
    public func partition(forKey key: UnsafeRawBufferPointer) -> Int {
        KeyHash.partition(forKey: key, partitionCount: partitionCount)
    }

    /// The partition of a key: `(murmur2(key) & 0x7FFFFFFF) % partitionCount`.
    public func partition(forKey key: some Collection<UInt8>) -> Int {
        KeyHash.partition(hash: KeyHash.murmur2(key), partitionCount: partitionCount)
    }

    // MARK: Appending

    /// Queues a batch for the writer thread and returns the assigned offsets. Does not wait for
    /// the write: call ``flush()`` (or ``sync()``) for durability. Blocks only while more than
    /// `maxPendingBytes` wait for the writer (backpressure), so call it from your own thread.
    ///
    /// - Throws: `.quotaExceeded` (policy `.block`; nothing appended), `.invalidArgument`
    ///   (record larger than `maxRecordBytes`, partition out of range), `.closed`, `.failed`.
    @discardableResult
    public func append(_ batch: LogBatch) throws -> AppendResult {
        guard !batch.isEmpty else { return AppendResult(ranges: []) }
        let now = core.clock.now()
        let lock = core.lock
        lock.lock()
        defer { lock.unlock() }
        let s = lock.value
        while s.pendingBytes > core.config.maxPendingBytes, s.failure == nil, !s.closing, !s.finished {
            lock.clientWait()
        }
        let (result, _) = try enqueue(batch, appendTime: now, s)
        return result
    }

    /// Appends one record from raw buffers, copying it once into the partition's write buffer.
    /// The zero-copy path for an MQTT callback: append each message, then ``flush()`` once.
    ///
    /// - Returns: where the record went.
    @discardableResult
    public func append(
        key: UnsafeRawBufferPointer, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
        eventTime: Int64? = nil, attributes: UInt16 = 0, partition explicitPartition: Int? = nil
    ) throws -> LogPosition {
        let recordBytes = key.count + topic.count + payload.count
        guard key.count <= 0xFFFF, topic.count <= 0xFFFF, recordBytes <= core.config.maxRecordBytes else {
            throw LogError(.invalidArgument, "record of \(recordBytes) bytes (key \(key.count), topic \(topic.count)) exceeds the limits (key, topic ≤ 65535, total ≤ maxRecordBytes \(core.config.maxRecordBytes))")
        }
        let frameBytes = RecordFrame.headerBytes + recordBytes
        let now = core.clock.now()
        let lock = core.lock
        lock.lock()
        defer { lock.unlock() }
        let s = lock.value
        while s.pendingBytes > core.config.maxPendingBytes, s.failure == nil, !s.closing, !s.finished {
            lock.clientWait()
        }
        try core.checkWritable(s)
        try checkQuota(adding: frameBytes, s)
        let p: Int
        if let explicitPartition {
            guard (0..<partitionCount).contains(explicitPartition) else {
                throw LogError(.invalidArgument, "partition \(explicitPartition) out of range 0..<\(partitionCount)")
            }
            p = explicitPartition
        } else if key.isEmpty {
            p = s.roundRobin
            s.roundRobin = (s.roundRobin + 1) % partitionCount
        } else {
            p = self.partition(forKey: key)
        }
        let offset = s.partitions[p].nextOffset
        let pending = s.partitions[p].pending
        let destination = pending.buffer.reserve(frameBytes)
        RecordFrame.encode(
            into: destination, offset: offset, eventTime: eventTime ?? RecordFrame.noEventTime, appendTime: now,
            attributes: attributes, key: key, topic: topic, payload: payload
        )
        pending.buffer.count += frameBytes
        pending.records += 1
        s.partitions[p].nextOffset = offset + 1
        if !s.partitions[p].queued {
            s.partitions[p].queued = true
            s.dirtyPartitions.append(p)
        }
        s.appendSequence += 1
        s.pendingBytes += frameBytes
        s.stats.appendedRecords += 1
        s.stats.appendedBytes += Int64(frameBytes)
        if s.writerIdle { lock.signalWriter() }
        return LogPosition(partition: p, offset: offset)
    }

    /// Appends a batch and suspends until it is durable under the fsync policy (`.every`,
    /// `.interval`: fsync'd; `.none`: written). Never blocks a thread.
    @discardableResult
    public func appendDurably(_ batch: LogBatch) async throws -> AppendResult {
        guard !batch.isEmpty else { return AppendResult(ranges: []) }
        let now = core.clock.now()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AppendResult, any Error>) in
            let lock = core.lock
            lock.lock()
            let s = lock.value
            do {
                let (result, sequence) = try enqueue(batch, appendTime: now, s)
                s.waiters.append(DurabilityWaiter(sequence: sequence, forced: false, resume: .append(continuation, result)))
                lock.unlock()
            } catch {
                lock.unlock()
                continuation.resume(throwing: error)
            }
        }
    }

    /// Copies a batch's frames into the partitions' pending buffers (lock held).
    private func enqueue(_ batch: LogBatch, appendTime: Int64, _ s: TopicState) throws -> (AppendResult, UInt64) {
        try core.checkWritable(s)
        guard batch.largestRecordBytes <= core.config.maxRecordBytes else {
            throw LogError(.invalidArgument, "a record of \(batch.largestRecordBytes) bytes exceeds maxRecordBytes \(core.config.maxRecordBytes)")
        }
        let routes = batch.routes
        let n = UInt64(partitionCount)
        for route in routes where route & LogBatch.explicitBit != 0 && route & ~LogBatch.explicitBit >= n {
            throw LogError(.invalidArgument, "partition \(route & ~LogBatch.explicitBit) out of range 0..<\(n)")
        }
        try checkQuota(adding: batch.byteCount, s)

        var ranges: [AppendResult.Range] = []
        let frames = batch.frames
        let partitionCount = self.partitionCount
        var roundRobin = s.roundRobin
        // One exclusive access to the slots and range scratch for the whole batch.
        s.partitions.withUnsafeMutableBufferPointer { slots in
            s.rangeSlots.withUnsafeMutableBufferPointer { rangeSlots in
                var position = 0
                for route in routes {
                    let p: Int
                    if route & LogBatch.explicitBit != 0 {
                        p = Int(route & ~LogBatch.explicitBit)
                    } else if route & LogBatch.emptyKeyBit != 0 {
                        p = roundRobin
                        roundRobin = roundRobin + 1 == partitionCount ? 0 : roundRobin + 1
                    } else {
                        p = KeyHash.partition(hash: UInt32(truncatingIfNeeded: route), partitionCount: partitionCount)
                    }
                    let source = frames.baseAddress! + position
                    let size = RecordFrame.frameBytes(at: source)
                    let offset = slots[p].nextOffset
                    let buffer = slots[p].pending.buffer
                    let destination = buffer.reserve(size)
                    destination.copyMemory(from: source, byteCount: size)
                    RecordFrame.stamp(destination, offset: offset, appendTime: appendTime)
                    buffer.count += size
                    slots[p].nextOffset = offset + 1
                    let slot = rangeSlots[p]
                    if slot < 0 {
                        rangeSlots[p] = Int32(ranges.count)
                        ranges.append(AppendResult.Range(partition: p, firstOffset: offset, count: 1))
                    } else {
                        ranges[Int(slot)].count += 1
                    }
                    position += size
                }
            }
        }
        s.roundRobin = roundRobin
        for range in ranges {
            s.partitions[range.partition].pending.records += range.count
            if !s.partitions[range.partition].queued {
                s.partitions[range.partition].queued = true
                s.dirtyPartitions.append(range.partition)
            }
        }
        for range in ranges { s.rangeSlots[range.partition] = -1 }
        s.appendSequence += 1
        s.pendingBytes += batch.byteCount
        s.stats.appendedRecords += Int64(routes.count)
        s.stats.appendedBytes += Int64(batch.byteCount)
        if s.writerIdle { core.lock.signalWriter() }
        return (AppendResult(ranges: ranges), s.appendSequence)
    }

    /// Under ``QuotaPolicy/block``, rejects an append that would take the topic over its quota
    /// and asks the writer for a retention run (lock held).
    private func checkQuota(adding bytes: Int, _ s: TopicState) throws {
        guard let quota = core.config.diskQuotaBytes, core.config.quotaPolicy == .block else { return }
        if s.diskBytes + Int64(s.pendingBytes) + Int64(bytes) > quota {
            s.stats.quotaRejections += 1
            s.retentionRequested = true
            if s.writerIdle { core.lock.signalWriter() }
            throw LogError(
                .quotaExceeded,
                "topic '\(name)' is at its disk quota (\(s.diskBytes) + \(s.pendingBytes) pending + \(bytes) > \(quota) bytes); retry after consumers commit and retention frees space"
            )
        }
    }

    // MARK: Durability

    /// Blocks until everything appended before the call is durable under the fsync policy
    /// (`.every`/`.interval`: fsync'd, waiting for the next group commit; `.none`: written).
    public func flush() throws {
        try waitBlocking(forced: false)
    }

    /// Blocks until everything appended before the call is fsync'd, whatever the policy (for
    /// checkpoints of an output log kept with `.none`).
    public func sync() throws {
        try waitBlocking(forced: true)
    }

    /// Suspends until everything appended before the call is durable under the fsync policy.
    public func flush() async throws {
        try await waitAsync(forced: false)
    }

    /// Suspends until everything appended before the call is fsync'd, whatever the policy.
    public func sync() async throws {
        try await waitAsync(forced: true)
    }

    private func waitBlocking(forced: Bool) throws {
        guard writer != nil else { return }
        let lock = core.lock
        lock.lock()
        defer { lock.unlock() }
        let s = lock.value
        let target = s.appendSequence
        if forced, s.forcedSyncSequence < target {
            s.forcedSyncSequence = target
        }
        // Let an idle writer re-check its (possibly injected) clock right away.
        if s.writerIdle { lock.signalWriter() }
        while (forced ? s.syncedSequence : core.durableSequence(s)) < target {
            if let failure = s.failure { throw failure }
            if s.finished { throw LogError(.closed, "topic '\(name)' is closed") }
            lock.clientWait()
        }
    }

    private func waitAsync(forced: Bool) async throws {
        guard writer != nil else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let lock = core.lock
            lock.lock()
            let s = lock.value
            let target = s.appendSequence
            if (forced ? s.syncedSequence : core.durableSequence(s)) >= target {
                lock.unlock()
                continuation.resume()
                return
            }
            if let failure = s.failure {
                lock.unlock()
                continuation.resume(throwing: failure)
                return
            }
            if s.finished {
                lock.unlock()
                continuation.resume(throwing: LogError(.closed, "topic '\(name)' is closed"))
                return
            }
            if forced, s.forcedSyncSequence < target {
                s.forcedSyncSequence = target
            }
            if s.writerIdle { lock.signalWriter() }
            s.waiters.append(DurabilityWaiter(sequence: target, forced: forced, resume: .void(continuation)))
            lock.unlock()
        }
    }

    /// Blocks until everything appended before the call is written (not necessarily synced).
    /// For tests that observe the fsync policy.
    func waitUntilWritten() throws {
        guard writer != nil else { return }
        let lock = core.lock
        lock.lock()
        defer { lock.unlock() }
        let s = lock.value
        let target = s.appendSequence
        if s.writerIdle { lock.signalWriter() }
        while s.writtenSequence < target {
            if let failure = s.failure { throw failure }
            if s.finished { throw LogError(.closed, "topic '\(name)' is closed") }
            lock.clientWait()
        }
    }

    // MARK: Truncation

    /// Removes every record with offset ≥ `offset` from `partition`, durably; the next append
    /// to it gets `offset`. Used to roll an output log back to its checkpointed end. Everything
    /// appended before the call is written first; records appended to the partition
    /// concurrently may be cut. Blocks until done.
    ///
    /// - Throws: `.invalidArgument` if `offset` is beyond the partition's appended end.
    public func truncate(partition: Int, to offset: Int64) throws {
        let sequence = try enqueueTruncation(partition: partition, offset: offset)
        guard let sequence else { return }
        let lock = core.lock
        lock.lock()
        defer { lock.unlock() }
        let s = lock.value
        while s.syncedSequence < sequence {
            if let failure = s.failure { throw failure }
            if s.finished { throw LogError(.closed, "topic '\(name)' is closed") }
            lock.clientWait()
        }
    }

    /// Async ``truncate(partition:to:)``.
    public func truncate(partition: Int, to offset: Int64) async throws {
        guard let sequence = try enqueueTruncation(partition: partition, offset: offset) else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let lock = core.lock
            lock.lock()
            let s = lock.value
            if s.syncedSequence >= sequence {
                lock.unlock()
                continuation.resume()
            } else if let failure = s.failure {
                lock.unlock()
                continuation.resume(throwing: failure)
            } else if s.finished {
                lock.unlock()
                continuation.resume(throwing: LogError(.closed, "topic '\(name)' is closed"))
            } else {
                s.waiters.append(DurabilityWaiter(sequence: sequence, forced: true, resume: .void(continuation)))
                lock.unlock()
            }
        }
    }

    /// Queues a truncation marker (cutting pending frames at or past `offset`); nil if there is
    /// nothing to remove.
    private func enqueueTruncation(partition p: Int, offset: Int64) throws -> UInt64? {
        try checkPartition(p)
        let lock = core.lock
        lock.lock()
        defer { lock.unlock() }
        let s = lock.value
        try core.checkWritable(s)
        let next = s.partitions[p].nextOffset
        guard offset >= 0, offset <= next else {
            throw LogError(.invalidArgument, "cannot truncate partition \(p) to \(offset): its end is \(next)")
        }
        if offset == next { return nil }
        let pending = s.partitions[p].pending
        var position = pending.truncations.last?.position ?? 0
        var removedRecords = 0
        var cut: Int?
        while position < pending.buffer.count {
            let frame = UnsafeRawPointer(pending.buffer.base + position)
            if cut == nil, RecordFrame.offset(at: frame) >= offset { cut = position }
            if cut != nil { removedRecords += 1 }
            position += RecordFrame.frameBytes(at: frame)
        }
        if let cut {
            s.pendingBytes -= pending.buffer.count - cut
            pending.buffer.count = cut
            pending.records -= removedRecords
        }
        pending.truncations.append((position: pending.buffer.count, offset: offset))
        s.partitions[p].nextOffset = offset
        if !s.partitions[p].queued {
            s.partitions[p].queued = true
            s.dirtyPartitions.append(p)
        }
        s.appendSequence += 1
        s.forcedSyncSequence = s.appendSequence
        lock.signalWriter()
        return s.appendSequence
    }

    // MARK: Writer-thread jobs

    private func runOnWriter<T: Sendable>(_ body: @escaping (TopicWriter) throws -> T) throws -> T {
        guard writer != nil else { throw LogError(.readOnly, "topic '\(name)' is open read-only") }
        let job = Job(body)
        let lock = core.lock
        lock.lock()
        defer { lock.unlock() }
        let s = lock.value
        if s.finished || s.closing { throw LogError(.closed, "topic '\(name)' is closed") }
        if let failure = s.failure { throw failure }
        s.jobs.append(job)
        lock.signalWriter()
        while !job.isDone { lock.clientWait() }
        return try job.result!.get()
    }

    private func runOnWriter<T: Sendable>(_ body: @escaping (TopicWriter) throws -> T) async throws -> T {
        guard writer != nil else { throw LogError(.readOnly, "topic '\(name)' is open read-only") }
        let job = Job(body)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            job.continuation = continuation
            let lock = core.lock
            lock.lock()
            let s = lock.value
            if s.finished || s.closing || s.failure != nil {
                let error = s.failure ?? LogError(.closed, "topic '\(name)' is closed")
                lock.unlock()
                job.continuation = nil
                continuation.resume(throwing: error)
                return
            }
            s.jobs.append(job)
            lock.signalWriter()
            lock.unlock()
        }
    }

    /// Applies retention now (blocking, on the writer thread): by age against `now` (default:
    /// the topic's clock), by size, and under ``QuotaPolicy/dropOldest`` by quota. The writer also
    /// runs it after every segment roll and whenever an append hits the quota; call this
    /// periodically for age retention of quiet topics.
    @discardableResult
    public func enforceRetention(now: Int64? = nil) throws -> RetentionReport {
        let time = now ?? core.clock.now()
        return try runOnWriter { try $0.enforceRetention(now: time) }
    }

    /// Async ``enforceRetention(now:)``.
    @discardableResult
    public func enforceRetention(now: Int64? = nil) async throws -> RetentionReport {
        let time = now ?? core.clock.now()
        return try await runOnWriter { try $0.enforceRetention(now: time) }
    }

    /// Commits offsets of a consumer group from async code: the file IO runs on the writer
    /// thread. (``ConsumerGroups/commit(group:offsets:)`` does it on the calling thread.)
    public func commit(group: String, offsets: [Int: Int64]) async throws {
        try await runOnWriter { try $0.groups.commit(group: group, offsets: offsets) }
    }

    // MARK: Reading

    /// A reader (cursor) over one partition, starting at its first stored offset. Readers are
    /// cheap, not thread-safe, and each owns a 1 MiB read buffer.
    public func reader(partition: Int) -> PartitionReader {
        precondition((0..<partitionCount).contains(partition), "partition \(partition) out of range 0..<\(partitionCount)")
        return PartitionReader(core: core, partition: partition)
    }

    /// First offset still stored in `partition`.
    public func startOffset(partition: Int) -> Int64 {
        core.view(partition).startOffset
    }

    /// Next offset after the last readable (durable) record of `partition`.
    public func endOffset(partition: Int) -> Int64 {
        core.view(partition).endOffset
    }

    /// Next offset an append to `partition` will get (includes records not yet durable).
    public func appendedEndOffset(partition: Int) -> Int64 {
        core.lock.withLock { $0.partitions[partition].nextOffset }
    }

    /// Size and offsets of `partition`.
    public func info(partition: Int) -> PartitionInfo {
        let view = core.view(partition)
        return PartitionInfo(
            partition: partition, startOffset: view.startOffset, endOffset: view.endOffset,
            segments: view.segmentCount, bytes: view.diskBytes
        )
    }

    /// Suspends until `partition` has a readable record at or after `offset` (returns at once if
    /// it has). Throws `CancellationError` when the task is cancelled, `.closed` on close.
    public func waitForRecords(partition: Int, from offset: Int64) async throws {
        try checkPartition(partition)
        let id = core.nextWaiterID.wrappingAdd(1, ordering: .relaxed).oldValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let lock = core.lock
                lock.lock()
                let s = lock.value
                if s.partitions[partition].view.endOffset > offset {
                    lock.unlock()
                    continuation.resume()
                } else if s.finished || s.closing {
                    lock.unlock()
                    continuation.resume(throwing: LogError(.closed, "topic '\(name)' is closed"))
                } else if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    s.readWaiters.append(ReadWaiter(id: id, partition: partition, offset: offset, continuation: continuation))
                    lock.unlock()
                }
            }
        } onCancel: {
            let waiter = core.lock.withLock { s -> ReadWaiter? in
                guard let i = s.readWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.readWaiters.remove(at: i)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    // MARK: State

    /// Counters since opening.
    public var stats: TopicStats {
        var stats = core.lock.withLock { $0.stats }
        stats.corruptRegionsRead = core.corruptRegionsRead.load(ordering: .relaxed)
        return stats
    }

    /// Disk usage against the quota.
    public var quota: QuotaState {
        core.lock.withLock { s in
            QuotaState(
                usedBytes: s.diskBytes, pendingBytes: Int64(s.pendingBytes), quotaBytes: config.diskQuotaBytes,
                policy: config.quotaPolicy
            )
        }
    }

    /// True when usage (written plus pending) has reached the disk quota.
    public var isOverQuota: Bool { quota.isOverQuota }

    /// Bytes of log and index files.
    public var diskBytes: Int64 { core.lock.withLock { $0.diskBytes } }

    func checkPartition(_ p: Int) throws {
        guard (0..<partitionCount).contains(p) else {
            throw LogError(.invalidArgument, "partition \(p) out of range 0..<\(partitionCount)")
        }
    }
}
