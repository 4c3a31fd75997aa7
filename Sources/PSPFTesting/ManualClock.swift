import PSPFCore
import Synchronization

/// A processing-time clock that moves only when told to. Thread-safe.
///
/// ```swift
/// let clock = ManualClock(.seconds(1_700_000_000))
/// clock.advance(by: .seconds(5))
/// ```
public final class ManualClock: PSPFClock, Sendable {
    private let time: Mutex<Timestamp>

    public init(_ start: Timestamp = .milliseconds(0)) {
        time = Mutex(start)
    }

    public func now() -> Timestamp { time.withLock { $0 } }

    /// Moves the clock forward (or backward, for a negative duration).
    public func advance(by duration: Duration) {
        time.withLock { $0 = $0 + duration }
    }

    /// Sets the clock.
    public func set(_ timestamp: Timestamp) {
        time.withLock { $0 = timestamp }
    }
}
