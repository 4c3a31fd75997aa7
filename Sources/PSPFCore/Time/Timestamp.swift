/// A point in time: milliseconds since the Unix epoch (1970-01-01T00:00:00Z).
///
/// Event time and processing time share this type. The engine works in integer milliseconds
/// throughout; the public API takes Swift `Duration`s and converts them once, at definition time.
///
/// ```swift
/// let t = Timestamp(milliseconds: 1_700_000_000_000)
/// let later = t + .seconds(10)
/// ```
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch.
    public var milliseconds: Int64


    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Shorthand for `Timestamp(milliseconds:)`.

    public static func milliseconds(_ ms: Int64) -> Timestamp { Timestamp(milliseconds: ms) }

    /// Shorthand for a timestamp a number of seconds after the epoch.

    public static func seconds(_ s: Int64) -> Timestamp { Timestamp(milliseconds: s * 1000) }

    public static let min = Timestamp(milliseconds: .min)
    public static let max = Timestamp(milliseconds: .max)


    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// Adds a duration, truncated to whole milliseconds and saturating at the representable range.

    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        let (sum, overflow) = lhs.milliseconds.addingReportingOverflow(rhs.pspfMilliseconds)
        return Timestamp(milliseconds: overflow ? (rhs < .zero ? .min : .max) : sum)
    }


    public static func - (lhs: Timestamp, rhs: Duration) -> Timestamp { lhs + (.zero - rhs) }

    /// The duration between two timestamps.

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        .milliseconds(lhs.milliseconds &- rhs.milliseconds)
    }

    public var description: String { "\(milliseconds)ms" }

    public init(from decoder: any Decoder) throws {
        milliseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(milliseconds)
    }
}

extension Duration {
    /// This duration in whole milliseconds, truncated toward zero and saturating at `Int64`'s range.

    public var pspfMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (fromSeconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = fromSeconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }
}

extension Duration {
    /// `n` minutes (the standard library stops at seconds).
    public static func minutes(_ n: Int64) -> Duration { .seconds(n * 60) }
    /// `n` hours.
    public static func hours(_ n: Int64) -> Duration { .seconds(n * 3600) }
}
