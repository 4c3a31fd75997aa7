#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The wall clock of a topic, in milliseconds since the Unix epoch.
///
/// It stamps every record's append time, decides when an interval fsync is due and how old a
/// segment is for age retention. Tests inject a manual clock:
///
/// ```swift
/// let now = Mutex<Int64>(1_000)
/// let clock = LogClock { now.withLock { $0 } }
/// ```
public struct LogClock: Sendable {
    /// Returns the current time in milliseconds since the Unix epoch.
    public var now: @Sendable () -> Int64

    public init(_ now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    /// `CLOCK_REALTIME`.
    public static let system = LogClock {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// Monotonic nanoseconds, for the writer thread's timed waits only (never for decisions).
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
