/// A window: the half-open event-time (or processing-time) interval `[start, end)`.
///
/// Count windows have no natural interval: their `start` is the smallest and `end` one past the
/// largest timestamp of their elements, and `sequence` numbers them per key (0, 1, 2, …).
public struct Window: Hashable, Sendable, Codable, CustomStringConvertible {
    public var start: Timestamp
    public var end: Timestamp
    /// The per-key sequence number of a count window; `nil` for time windows.
    public var sequence: Int64?

    public init(start: Timestamp, end: Timestamp, sequence: Int64? = nil) {
        self.start = start
        self.end = end
        self.sequence = sequence
    }

    /// The window's last instant, `end − 1 ms` (Flink's `maxTimestamp`).
    public var maxTimestamp: Timestamp { Timestamp(milliseconds: end.milliseconds &- 1) }

    public var description: String {
        if let sequence { return "count#\(sequence)[\(start.milliseconds), \(end.milliseconds))" }
        return "[\(start.milliseconds), \(end.milliseconds))"
    }
}
