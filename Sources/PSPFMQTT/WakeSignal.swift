import CMosquitto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An eventfd that wakes the network loop's poll(2) when another thread hands it work
/// (a publish, a subscription, pause/resume, stop). Signals coalesce: only the first signal
/// after the loop drained it costs a `write`.
final class WakeSignal: Sendable {
    let fd: Int32
    private let pending = Atomic<Bool>(false)

    init() throws(MQTTError) {
        let fd = pspf_eventfd_nonblocking()
        guard fd >= 0 else {
            throw MQTTError(code: .system, message: "eventfd: \(String(cString: strerror(errno)))")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Wakes the loop. Call after publishing the work in shared state.
    func signal() {
        guard !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = write(fd, &one, MemoryLayout<UInt64>.size)
    }

    /// Called by the loop after poll(2), before it looks at the shared state.
    ///
    /// Reads the eventfd first and only then clears `pending`: the other order loses a wake-up
    /// when a `signal()` lands between the two steps (its write is consumed by the read, yet
    /// `pending` stays set, so every later signal skips its write and the loop sleeps in poll(2)
    /// until its 1 s housekeeping timeout with work queued). A signal that finds `pending` still
    /// set here published its work before the reset, so the loop's next look at the shared
    /// state sees it.
    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, MemoryLayout<UInt64>.size)
        pending.store(false, ordering: .releasing)
    }
}
