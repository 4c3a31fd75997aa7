#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex guarding a value, with two condition variables on the monotonic clock: one
/// that only the writer thread waits on, one for clients (flush, backpressure, jobs).
///
/// `Synchronization.Mutex` has no condition variable, and the writer thread and blocking
/// callers need one. Touch `value` only between `lock()` and `unlock()`.
final class ConditionLock<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let writerCondition: UnsafeMutablePointer<pthread_cond_t>
    private let clientCondition: UnsafeMutablePointer<pthread_cond_t>
    /// Guarded by the mutex.
    let value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        writerCondition = .allocate(capacity: 1)
        clientCondition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(writerCondition, &attributes)
        pthread_cond_init(clientCondition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(writerCondition)
        pthread_cond_destroy(clientCondition)
        pthread_mutex_destroy(mutex)
        writerCondition.deallocate()
        clientCondition.deallocate()
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func withLock<R>(_ body: (Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(value)
    }

    /// Writer thread: waits for a signal (lock held).
    func writerWait() { pthread_cond_wait(writerCondition, mutex) }

    /// Writer thread: waits for a signal or `nanoseconds` (lock held).
    func writerWait(nanoseconds: UInt64) {
        let deadline = monotonicNanoseconds() + nanoseconds
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_cond_timedwait(writerCondition, mutex, &ts)
    }

    func signalWriter() { pthread_cond_signal(writerCondition) }

    /// Client: waits for the writer's next broadcast (lock held).
    func clientWait() { pthread_cond_wait(clientCondition, mutex) }

    func broadcastClients() { pthread_cond_broadcast(clientCondition) }
}
