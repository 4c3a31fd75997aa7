/// An incremental, mergeable aggregation: the engine keeps one `Accumulator` per open window and
/// never buffers elements.
///
/// `merge` must be associative, and `merge(initial(), x) == x`: session windows merge their
/// accumulators when a record bridges two sessions. `Accumulator` is `Codable` so checkpoints can
/// persist open windows.
///
/// ```swift
/// struct MaxGap: Aggregator {
///     struct Acc: Codable, Sendable { var last: Double? = nil; var gap = 0.0 }
///     func initial() -> Acc { Acc() }
///     func add(_ acc: inout Acc, _ r: Reading) {
///         if let last = acc.last { acc.gap = Swift.max(acc.gap, abs(r.temp - last)) }
///         acc.last = r.temp
///     }
///     func merge(_ acc: inout Acc, _ other: Acc) { acc.gap = Swift.max(acc.gap, other.gap); acc.last = other.last ?? acc.last }
///     func result(_ acc: Acc) -> Double { acc.gap }
/// }
/// stream.window(.tumbling(.seconds(10))).aggregate(MaxGap())
/// ```
public protocol Aggregator<Input, Output>: Sendable {
    associatedtype Input
    associatedtype Accumulator: Codable & Sendable
    associatedtype Output: Sendable

    /// The accumulator of an empty window.
    func initial() -> Accumulator
    /// Adds one element.
    func add(_ accumulator: inout Accumulator, _ input: Input)
    /// Adds one element together with its timestamp (event time, or processing time in
    /// processing-time mode). The default calls `add(_:_:)`; `first`/`last` use the time.
    func add(_ accumulator: inout Accumulator, _ input: Input, at time: Timestamp)
    /// Merges `other` (the later window, in start order) into `accumulator`.
    func merge(_ accumulator: inout Accumulator, _ other: Accumulator)
    /// The window's value.
    func result(_ accumulator: Accumulator) -> Output
}

extension Aggregator {

    public func add(_ accumulator: inout Accumulator, _ input: Input, at time: Timestamp) {
        add(&accumulator, input)
    }
}

/// A reduce function as an aggregator: the window's value is `f` folded over its elements in
/// arrival order (sessions: merged in start order).
public struct ReduceAggregator<Element: Codable & Sendable>: Aggregator {
    public let combine: @Sendable (Element, Element) -> Element

    public init(_ combine: @escaping @Sendable (Element, Element) -> Element) { self.combine = combine }

    public func initial() -> Element? { nil }


    public func add(_ accumulator: inout Element?, _ input: Element) {
        if let current = accumulator { accumulator = combine(current, input) } else { accumulator = input }
    }

    public func merge(_ accumulator: inout Element?, _ other: Element?) {
        guard let other else { return }
        if let current = accumulator { accumulator = combine(current, other) } else { accumulator = other }
    }

    /// Never `nil` for an emitted window (windows are created by an element).
    public func result(_ accumulator: Element?) -> Element? { accumulator }
}
