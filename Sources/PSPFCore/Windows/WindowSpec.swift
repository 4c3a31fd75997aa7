/// How a keyed stream is cut into windows. Durations are whole milliseconds internally.
///
/// ```swift
/// .window(.tumbling(size: .seconds(10)))
/// .window(.tumbling(size: .hours(1), offset: .minutes(15)))
/// .window(.hopping(size: .minutes(1), slide: .seconds(10)))
/// .window(.session(gap: .seconds(30), maxLength: .minutes(10)))
/// .window(.count(100))
/// ```
public struct WindowSpec: Sendable, Hashable, CustomStringConvertible {

    enum Kind: Sendable, Hashable {
        /// Windows `[offset + k·size, offset + (k+1)·size)`.
        case tumbling(size: Int64, offset: Int64)
        /// Windows of `size` starting every `slide` (aligned to `offset`); `slide ≤ size`.
        case hopping(size: Int64, slide: Int64, offset: Int64)
        /// Sessions closed by `gap` of inactivity; at most `maxLength` long if set.
        case session(gap: Int64, maxLength: Int64?)
        /// Every `n` elements of a key.
        case count(Int64)
    }

    let kind: Kind

    init(kind: Kind) { self.kind = kind }

    /// The largest duration the engine accepts (about 36 million years), so window arithmetic
    /// can never overflow.
    static let maxMilliseconds: Int64 = 1 << 60

    static func validated(_ d: Duration, _ what: String, allowZero: Bool = false) -> Int64 {
        let ms = d.pspfMilliseconds
        precondition(allowZero ? ms >= 0 : ms > 0, "\(what) must be \(allowZero ? "≥ 0" : "> 0") ms, got \(d)")
        precondition(ms <= maxMilliseconds, "\(what) is too large: \(d)")
        return ms
    }

    /// Fixed-size, non-overlapping windows `[offset + k·size, offset + (k+1)·size)`.
    public static func tumbling(size: Duration, offset: Duration = .zero) -> WindowSpec {
        let size = validated(size, "tumbling window size")
        let offset = validated(offset, "tumbling window offset", allowZero: true)
        return WindowSpec(kind: .tumbling(size: size, offset: offset % size))
    }

    /// Fixed-size, non-overlapping windows.
    public static func tumbling(_ size: Duration) -> WindowSpec { tumbling(size: size) }

    /// Overlapping windows of `size`, a new one starting every `slide` (`0 < slide ≤ size`).
    public static func hopping(size: Duration, slide: Duration, offset: Duration = .zero) -> WindowSpec {
        let size = validated(size, "hopping window size")
        let slide = validated(slide, "hopping window slide")
        precondition(slide <= size, "hopping window slide must not exceed its size")
        let offset = validated(offset, "hopping window offset", allowZero: true)
        return WindowSpec(kind: .hopping(size: size, slide: slide, offset: offset % slide))
    }

    /// Session windows: a key's elements closer than `gap` to each other share a window
    /// `[first, last + gap)`. With `maxLength`, no session spans more than `maxLength`.
    public static func session(gap: Duration, maxLength: Duration? = nil) -> WindowSpec {
        let gap = validated(gap, "session gap")
        let maxLength = maxLength.map { validated($0, "session max length") }
        return WindowSpec(kind: .session(gap: gap, maxLength: maxLength))
    }

    /// Count windows: every `n` elements of a key form a window.
    public static func count(_ n: Int) -> WindowSpec {
        precondition(n > 0, "count window size must be > 0")
        return WindowSpec(kind: .count(Int64(n)))
    }

    public var description: String {
        switch kind {
        case let .tumbling(size, offset): "tumbling(size: \(size)ms, offset: \(offset)ms)"
        case let .hopping(size, slide, offset): "hopping(size: \(size)ms, slide: \(slide)ms, offset: \(offset)ms)"
        case let .session(gap, maxLength): "session(gap: \(gap)ms, maxLength: \(maxLength.map { "\($0)ms" } ?? "none"))"
        case let .count(n): "count(\(n))"
        }
    }
}

/// Floor modulo: the result has the sign of `divisor` (positive here).
@inline(__always)
func floorMod(_ value: Int64, _ divisor: Int64) -> Int64 {
    let r = value % divisor
    return r < 0 ? r + divisor : r
}
