import CSQLite

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One dedicated OS thread that runs submitted jobs serially, in submission order.
///
/// SQLite calls block (disk reads, fsync at commit), so they must never run on Swift's cooperative
/// thread pool. The thread is started by `init` and ends after ``shutdown()`` once the queue is
/// empty.
///
/// `@unchecked Sendable`: every mutable field is guarded by `lock`.
final class DatabaseThread: @unchecked Sendable {
    typealias Job = @Sendable () -> Void

    private let lock = ConditionLock()
    private var jobs: [Job] = []
    private var next = 0
    private var isShuttingDown = false
    private var threadID: pthread_t?
    private var isJoined = false
    let name: String

    init(name: String) {
        self.name = name
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        #if canImport(Darwin)
            var created: pthread_t?
            let code = pthread_create(&created, nil, { DatabaseThread.entry($0) }, context)
            if let created { thread = created }
        #else
            let code = pthread_create(&thread, nil, { DatabaseThread.entry($0) }, context)
        #endif
        precondition(code == 0, "pthread_create failed for \(name): \(code)")
        lock.withLock { threadID = thread }
    }

    /// True when called on this thread.
    var isCurrent: Bool {
        let me = pthread_self()
        return lock.withLock { threadID.map { pthread_equal($0, me) != 0 } ?? false }
    }

    /// Enqueues `job`. Returns false (and drops the job) after ``shutdown()``.
    @discardableResult
    func submit(_ job: @escaping Job) -> Bool {
        lock.withLock {
            guard !isShuttingDown else { return false }
            jobs.append(job)
            lock.signal()
            return true
        }
    }

    /// Stops accepting jobs, lets the queued ones finish, and joins the thread (or detaches it when
    /// called from the thread itself). Idempotent.
    func shutdown() {
        let me = pthread_self()
        let (thread, join): (pthread_t?, Bool) = lock.withLock {
            isShuttingDown = true
            lock.signal()
            guard let threadID, !isJoined else { return (nil, false) }
            isJoined = true
            return (threadID, pthread_equal(threadID, me) == 0)
        }
        guard let thread else { return }
        if join {
            pthread_join(thread, nil)
        } else {
            pthread_detach(thread)
        }
    }

    private static func entry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        let thread = Unmanaged<DatabaseThread>.fromOpaque(context!).takeRetainedValue()
        thread.run()
        return nil
    }

    private func run() {
        // Linux keeps at most 15 bytes of a thread name.
        _ = pspf_set_current_thread_name(String(name.utf8.prefix(15)) ?? name)
        while let job = nextJob() {
            job()
        }
    }

    private func nextJob() -> Job? {
        lock.withLock {
            while next == jobs.count && !isShuttingDown { lock.wait() }
            guard next < jobs.count else { return nil }
            let job = jobs[next]
            next += 1
            if next == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                next = 0
            }
            return job
        }
    }
}

/// A pthread mutex and condition variable. Darwin has no `sem_init`, and Synchronization's `Mutex`
/// has no condition, so this small owner does both.
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits for a signal; call only inside ``withLock(_:)``.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Wakes every waiter; call inside ``withLock(_:)``.
    func signal() { pthread_cond_broadcast(condition) }
}

/// A one-shot result handed from the database thread to a thread blocked in ``wait()``.
final class BlockingResult<T>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var result: Result<T, any Error>?

    func finish(_ result: Result<T, any Error>) {
        lock.withLock {
            self.result = result
            lock.signal()
        }
    }

    func wait() -> Result<T, any Error> {
        lock.withLock {
            while result == nil { lock.wait() }
            return result!
        }
    }
}
