import Synchronization

/// Shared by the tasks of one run: checkpoint requests (raised by the interval ticker or
/// ``LocalRunner/checkpointNow()``), their completion, and wake-ups of partition tasks that wait
/// for input so they reach a barrier promptly.
///
/// Partition tasks read ``requested`` once per batch (an atomic load); everything else takes
/// the lock.
final class CheckpointControl: Sendable {
    private struct State {
        var requestedAt: [Int64: ContinuousClock.Instant] = [:]
        var cut: Int64 = 0
        var cutWaiters: [(request: Int64, continuation: CheckedContinuation<Void, Never>)] = []
        var committed: Int64 = 0
        var commitWaiters: [(request: Int64, continuation: CheckedContinuation<Bool, Never>)] = []
        var wakeups: [Int: CheckedContinuation<Void, Never>] = [:]
        var ended = false
    }

    private let requestedValue = Atomic<Int64>(0)
    private let recordsSinceRequest = Atomic<Int64>(0)
    private let state = Mutex(State())

    /// The latest checkpoint request number (0: none yet).
    var requested: Int64 { requestedValue.load(ordering: .acquiring) }

    /// Raises a new request unless one is still in flight (or the run ended), and returns the
    /// request to wait for and whether it is new. Wakes every waiting partition task.
    func request() -> (id: Int64, isNew: Bool) {
        let (id, isNew, wake): (Int64, Bool, [CheckedContinuation<Void, Never>]) = state.withLock { s in
            let current = requestedValue.load(ordering: .relaxed)
            if current > s.committed || s.ended { return (current, false, []) }
            let id = current + 1
            recordsSinceRequest.store(0, ordering: .relaxed)
            s.requestedAt[id] = ContinuousClock.now
            requestedValue.store(id, ordering: .releasing)
            let waiting = Array(s.wakeups.values)
            s.wakeups.removeAll()
            return (id, true, waiting)
        }
        for continuation in wake { continuation.resume() }
        return (id, isNew)
    }

    /// Counts processed records; raises a request when `threshold` were processed since the
    /// last one (see ``RunnerOptions/checkpointEveryRecords``).
    func processed(_ records: Int, threshold: Int64?) {
        guard let threshold, records > 0 else { return }
        let total = recordsSinceRequest.wrappingAdd(Int64(records), ordering: .relaxed).newValue
        if total >= threshold { _ = request() }
    }

    /// When request `id` was raised.
    func requestedAt(_ id: Int64) -> ContinuousClock.Instant? { state.withLock { $0.requestedAt[id] } }

    /// The writer aligned request `id` (every partition's barrier arrived): partitions that
    /// paused after their barrier may go on.
    func aligned(_ id: Int64) {
        let ready: [CheckedContinuation<Void, Never>] = state.withLock { s in
            s.cut = max(s.cut, id)
            let (done, waiting) = s.cutWaiters.partitioned { $0.request <= s.cut }
            s.cutWaiters = waiting
            return done.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    /// The latest aligned request.
    var lastAligned: Int64 { state.withLock { $0.cut } }

    /// Suspends until request `id` is aligned (or the run ended).
    func waitAligned(_ id: Int64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if s.cut >= id || s.ended { return true }
                s.cutWaiters.append((id, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Marks every request up to `id` as committed.
    func committed(_ id: Int64) {
        let ready: [CheckedContinuation<Bool, Never>] = state.withLock { s in
            s.committed = max(s.committed, id)
            s.requestedAt = s.requestedAt.filter { $0.key > s.committed }
            let (done, waiting) = s.commitWaiters.partitioned { $0.request <= s.committed }
            s.commitWaiters = waiting
            return done.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    /// Suspends until request `id` is committed (true) or the run ended without it (false).
    func waitCommitted(_ id: Int64) async -> Bool {
        await withCheckedContinuation { continuation in
            let immediate: Bool? = state.withLock { s in
                if s.committed >= id { return true }
                if s.ended { return false }
                s.commitWaiters.append((id, continuation))
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// No more requests will be served (partitions finished, or the run failed).
    func end() {
        let (commits, wakes): ([CheckedContinuation<Bool, Never>], [CheckedContinuation<Void, Never>]) =
            state.withLock { s in
                s.ended = true
                defer {
                    s.commitWaiters.removeAll()
                    s.wakeups.removeAll()
                    s.cutWaiters.removeAll()
                }
                return (s.commitWaiters.map(\.continuation), Array(s.wakeups.values) + s.cutWaiters.map(\.continuation))
            }
        for continuation in commits { continuation.resume(returning: false) }
        for continuation in wakes { continuation.resume() }
    }

    var hasEnded: Bool { state.withLock { $0.ended } }

    /// Suspends partition `partition` until the next request (or ``end()``), or until the task
    /// is cancelled. Used as one branch of a partition's wait for input.
    func waitForRequest(partition: Int, after seen: Int64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { s in
                    if s.ended || requestedValue.load(ordering: .relaxed) > seen || Task.isCancelled { return true }
                    s.wakeups[partition]?.resume()
                    s.wakeups[partition] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.wakeups.removeValue(forKey: partition) }
            continuation?.resume()
        }
    }
}

extension Array {
    /// Splits into the elements that satisfy `predicate` and those that do not, keeping order.
    fileprivate func partitioned(_ predicate: (Element) -> Bool) -> ([Element], [Element]) {
        var yes: [Element] = []
        var no: [Element] = []
        for element in self {
            if predicate(element) { yes.append(element) } else { no.append(element) }
        }
        return (yes, no)
    }
}
