#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// The writer thread of one topic: the only place that writes segment files, fsyncs, rolls,
/// truncates and deletes them, so none of these system calls ever runs on the Swift cooperative
/// thread pool.
///
/// Group commit: appenders copy frames into a partition's pending buffer under the topic lock
/// and return; each cycle the writer swaps out all pending buffers at once, seals (CRC) and
/// writes each partition's frames with one `write`, fsyncs when the ``GroupCommitScheduler``
/// says so, publishes the new readable views and resumes whoever waited for that durability.
final class TopicWriter: @unchecked Sendable {
    let core: TopicCore
    let partitions: [PartitionWriter]
    let groups: ConsumerGroups
    private var scheduler: GroupCommitScheduler
    private var spares: [PendingFrames] = []
    /// Partitions written since the last sync.
    private var unsynced: [Int] = []
    private var unsyncedFlags: [Bool]
    /// The fsyncs of a cycle's partitions, issued together (`ParallelSyncs`).
    private let syncs: ParallelSyncs
    private var syncResults: [Result<Bool, LogError>] = []
    /// Over quota and already logged (log once per episode).
    private var overQuotaLogged = false
    /// Initial size of a pending buffer; they grow with the load.
    private let pendingCapacity = 16 << 10
    /// A pending buffer that grew beyond this is shrunk back after a cycle (keeps memory bounded
    /// with many partitions, avoids reallocating every cycle under load).
    private let pendingRetainedCapacity: Int

    init(core: TopicCore, partitions: [PartitionWriter], groups: ConsumerGroups) {
        self.core = core
        self.partitions = partitions
        self.groups = groups
        self.scheduler = GroupCommitScheduler(policy: core.config.fsync)
        self.unsyncedFlags = Array(repeating: false, count: partitions.count)
        self.syncs = ParallelSyncs(maxHelpers: min(partitions.count - 1, Self.maxSyncHelpers), name: "fsync:" + core.name)
        self.pendingRetainedCapacity = max(256 << 10, core.config.maxPendingBytes / max(1, partitions.count))
    }

    var diskBytes: Int64 { partitions.reduce(0) { $0 + $1.diskBytes } }

    func makePending() -> PendingFrames { PendingFrames(capacity: pendingCapacity) }

    // MARK: Thread

    /// Starts the thread; returns its handle for `join`.
    func start() throws -> pthread_t {
        switch startJoinableThread({ [self] in run() }) {
        case .success(let thread):
            return thread
        case .failure(let error):
            throw LogError(.io, "cannot start the writer thread of topic '\(core.name)'", errno: error.value)
        }
    }

    private func run() {
        nameCurrentThread("log:" + core.name)
        let lock = core.lock
        let s = lock.value
        var taken: [(Int, PendingFrames)] = []
        var exitError: LogError?
        lock.lock()
        while true {
            let now = core.clock.now()
            let hasWork = !s.dirtyPartitions.isEmpty || !s.jobs.isEmpty || s.forcedSyncSequence > s.syncedSequence
                || s.retentionRequested || s.closing || scheduler.isDue(now: now)
            if !hasWork {
                s.writerIdle = true
                if let deadline = scheduler.deadline {
                    lock.writerWait(nanoseconds: UInt64(max(1, deadline - now)) * 1_000_000)
                } else {
                    lock.writerWait()
                }
                s.writerIdle = false
                continue
            }

            // Take everything pending.
            taken.removeAll(keepingCapacity: true)
            var takenBytes = 0
            for p in s.dirtyPartitions {
                let frames = s.partitions[p].pending
                takenBytes += frames.buffer.count
                taken.append((p, frames))
                s.partitions[p].pending = spares.popLast() ?? makePending()
                s.partitions[p].queued = false
            }
            s.dirtyPartitions.removeAll(keepingCapacity: true)
            let sequence = s.appendSequence
            let forced = s.forcedSyncSequence > s.syncedSequence
            let jobs = s.jobs
            s.jobs.removeAll()
            let closing = s.closing
            let retentionRequested = s.retentionRequested
            s.retentionRequested = false
            lock.unlock()

            // IO, without the lock.
            var failure: LogError?
            var synced = false
            var touched: [Int] = []
            var publishAll = false
            var delta = TopicStats()
            do {
                for (p, frames) in taken {
                    try partitions[p].write(frames)
                    touched.append(p)
                    if !unsyncedFlags[p] {
                        unsyncedFlags[p] = true
                        unsynced.append(p)
                    }
                    if !frames.truncations.isEmpty { publishAll = true }
                }
                if !taken.isEmpty { scheduler.didWrite(now: core.clock.now()) }
                if forced || closing || scheduler.isDue(now: core.clock.now()) {
                    delta.fsyncs += try syncUnsynced()
                    for p in unsynced {
                        unsyncedFlags[p] = false
                        touched.append(p)
                    }
                    unsynced.removeAll(keepingCapacity: true)
                    scheduler.didSync()
                    synced = true
                } else if core.config.fsync == .none {
                    for (p, _) in taken { partitions[p].publishWritten() }
                }
                var rolled = false
                for (p, _) in taken where partitions[p].rolledSinceCheck {
                    partitions[p].rolledSinceCheck = false
                    rolled = true
                }
                let quotaForces = core.config.quotaPolicy == .dropOldest && core.config.diskQuotaBytes.map { diskBytes > $0 } == true
                if rolled || retentionRequested || quotaForces {
                    let report = try enforceRetention(now: core.clock.now())
                    if report.deletedSegments > 0 { publishAll = true }
                }
            } catch {
                failure = error as? LogError ?? LogError(.io, "\(error)")
            }
            for job in jobs {
                if let failure { job.fail(failure) } else { job.run(self) }
            }
            if !jobs.isEmpty { publishAll = true }
            delta.cycles = 1
            delta.writes = partitions.reduce(0) { $0 + $1.writes }
            delta.segmentsRolled = partitions.reduce(0) { $0 + $1.rolls }

            lock.lock()
            s.pendingBytes -= takenBytes
            for (_, frames) in taken {
                frames.reset(trimTo: pendingRetainedCapacity)
                spares.append(frames)
            }
            if let failure {
                s.failure = failure
                exitError = failure
                core.logger.error("log writer stopped after an IO error; appends now fail until the topic is reopened", metadata: [
                    "topic": "\(core.name)", "error": "\(failure)",
                ])
            } else {
                s.writtenSequence = sequence
                if synced { s.syncedSequence = sequence }
            }
            if publishAll {
                for p in partitions.indices { s.partitions[p].view = partitions[p].view }
            } else {
                for p in touched { s.partitions[p].view = partitions[p].view }
            }
            s.diskBytes = diskBytes
            s.stats.fsyncs += delta.fsyncs
            s.stats.cycles += 1
            s.stats.writes = delta.writes
            s.stats.segmentsRolled = delta.segmentsRolled
            s.stats.segmentsDeleted += pendingStats.segmentsDeleted
            s.stats.quotaDeletedSegments += pendingStats.quotaDeletedSegments
            s.stats.unconsumedRecordsDropped += pendingStats.unconsumedRecordsDropped
            pendingStats = TopicStats()

            // Who can be resumed now.
            var ready: [DurabilityWaiter] = []
            let durable = core.durableSequence(s)
            if !s.waiters.isEmpty {
                var kept: [DurabilityWaiter] = []
                for waiter in s.waiters {
                    if waiter.sequence <= (waiter.forced ? s.syncedSequence : durable) { ready.append(waiter) } else { kept.append(waiter) }
                }
                s.waiters = kept
            }
            var readyReaders: [ReadWaiter] = []
            if !s.readWaiters.isEmpty {
                var kept: [ReadWaiter] = []
                for waiter in s.readWaiters {
                    if s.partitions[waiter.partition].view.endOffset > waiter.offset { readyReaders.append(waiter) } else { kept.append(waiter) }
                }
                s.readWaiters = kept
            }
            for job in jobs { job.isDone = true }
            let exit = failure != nil || (closing && s.dirtyPartitions.isEmpty && s.jobs.isEmpty)
            lock.broadcastClients()
            lock.unlock()
            for waiter in ready { waiter.succeed() }
            for waiter in readyReaders { waiter.continuation.resume() }
            for job in jobs { job.resume() }
            lock.lock()
            if exit { break }
        }

        // Shut down (lock held): fail whoever still waits, close the files.
        syncs.stop()
        let error = exitError ?? LogError(.closed, "topic '\(core.name)' is closed")
        let waiters = s.waiters
        let readers = s.readWaiters
        let jobs = s.jobs
        s.waiters.removeAll()
        s.readWaiters.removeAll()
        s.jobs.removeAll()
        for job in jobs {
            job.fail(error)
            job.isDone = true
        }
        var closeError: LogError?
        for partition in partitions {
            do { try partition.close() } catch { closeError = closeError ?? (error as? LogError) }
        }
        if let closeError, s.failure == nil { s.failure = closeError }
        s.finished = true
        lock.broadcastClients()
        lock.unlock()
        for waiter in waiters { waiter.fail(error) }
        for reader in readers { reader.continuation.resume(throwing: error) }
        for job in jobs { job.resume() }
    }

    /// Helper threads of a topic's parallel fsyncs at most.
    static var maxSyncHelpers: Int { 7 }

    /// Syncs every partition written since the last sync, concurrently; returns how many
    /// fsyncs were issued. Each partition is synced by exactly one thread and touches only its
    /// own `PartitionWriter`, so they may run at once. Throws the first failure.
    private func syncUnsynced() throws -> Int64 {
        let count = unsynced.count
        syncResults.removeAll(keepingCapacity: true)
        syncResults.append(contentsOf: repeatElement(.success(false), count: count))
        let partitions = self.partitions
        let unsynced = self.unsynced
        syncResults.withUnsafeMutableBufferPointer { results in
            syncs.perform(count) { index in
                do {
                    results[index] = .success(try partitions[unsynced[index]].sync())
                } catch {
                    results[index] = .failure(error as? LogError ?? LogError(.io, "\(error)"))
                }
            }
        }
        var fsyncs: Int64 = 0
        for result in syncResults {
            if try result.get() { fsyncs += 1 }
        }
        return fsyncs
    }

    /// Retention counters of the current cycle, merged into the shared stats at publish.
    private var pendingStats = TopicStats()

    // MARK: Retention

    /// Deletes closed segments by age and size (never past a consumer group's committed offset),
    /// then, under ``QuotaPolicy/dropOldest``, whatever the quota forces (counted and logged).
    /// Runs on the writer thread.
    func enforceRetention(now: Int64) throws -> RetentionReport {
        var report = RetentionReport()
        let protected = groups.protectedOffsets()
        let config = core.config
        var touchedPartitions: Set<Int> = []

        func consumed(_ p: Int, _ segment: SegmentInfo) -> Bool { segment.endOffset <= protected[p] }

        func delete(_ p: Int, forced: Bool) throws {
            let segment = try partitions[p].deleteOldest()
            touchedPartitions.insert(p)
            report.deletedSegments += 1
            report.deletedBytes += segment.diskBytes
            report.deletedRecords += segment.endOffset - segment.baseOffset
            if forced {
                report.quotaDeletedSegments += 1
                let unconsumed = protected[p] >= segment.endOffset ? 0 : segment.endOffset - max(segment.baseOffset, protected[p])
                report.unconsumedRecordsDropped += unconsumed
                if unconsumed > 0 {
                    core.logger.warning("disk quota forced deletion of records a consumer group has not read", metadata: [
                        "topic": "\(core.name)", "partition": "\(p)",
                        "segment": "\(TopicLayout.segmentName(segment.baseOffset))",
                        "unconsumedRecords": "\(unconsumed)", "quotaBytes": "\(config.diskQuotaBytes ?? 0)",
                    ])
                }
            }
        }

        // Oldest deletable closed segment across partitions.
        func oldest(where allowed: (Int, SegmentInfo) -> Bool) -> Int? {
            var best: (p: Int, time: Int64)?
            for p in partitions.indices {
                guard let segment = partitions[p].oldestClosed, allowed(p, segment) else { continue }
                let time = segment.lastAppendTime ?? Int64.min
                if best == nil || time < best!.time { best = (p, time) }
            }
            return best?.p
        }

        if let maxAge = config.retention.maxAgeMilliseconds {
            let cutoff = now - maxAge
            for p in partitions.indices {
                while let segment = partitions[p].oldestClosed, (segment.lastAppendTime ?? Int64.min) < cutoff, consumed(p, segment) {
                    try delete(p, forced: false)
                }
            }
        }
        if let maxBytes = config.retention.maxBytes {
            while diskBytes > maxBytes, let p = oldest(where: consumed) {
                try delete(p, forced: false)
            }
        }
        if let quota = config.diskQuotaBytes {
            // Near the quota, consumed segments go first (that is always safe): keep usage at
            // or below 90 % of it while there are any.
            while diskBytes > quota / 10 * 9, let p = oldest(where: consumed) {
                try delete(p, forced: false)
            }
            if config.quotaPolicy == .dropOldest {
                while diskBytes > quota, let p = oldest(where: { _, _ in true }) {
                    try delete(p, forced: true)
                }
            }
            report.stillOverQuota = diskBytes >= quota
            if report.stillOverQuota, !overQuotaLogged {
                core.logger.warning("topic is at its disk quota", metadata: [
                    "topic": "\(core.name)", "usedBytes": "\(diskBytes)", "quotaBytes": "\(quota)",
                    "policy": "\(config.quotaPolicy)",
                ])
            }
            overQuotaLogged = report.stillOverQuota
        }
        for p in touchedPartitions.sorted() {
            try FileSystem.syncDirectory(partitions[p].directory)
        }
        pendingStats.segmentsDeleted += Int64(report.deletedSegments)
        pendingStats.quotaDeletedSegments += Int64(report.quotaDeletedSegments)
        pendingStats.unconsumedRecordsDropped += report.unconsumedRecordsDropped
        return report
    }
}

