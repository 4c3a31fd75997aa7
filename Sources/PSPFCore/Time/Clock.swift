#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A source of processing time.
///
/// The engine never reads a clock on its hot path: the runtime reads its clock (once per batch
/// or timer tick) and passes the value to ``PipelineInstance/advanceProcessingTime(to:)``. Tests
/// inject a manual clock (`ManualClock` in PSPFTesting) to make processing time deterministic.
public protocol PSPFClock: Sendable {
    /// The current processing time.
    func now() -> Timestamp
}

/// The system's wall clock (`CLOCK_REALTIME`), in milliseconds since the epoch.
public struct SystemClock: PSPFClock {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
