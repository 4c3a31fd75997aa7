/// How a keyed stream tells time. Durations in ms.
struct TimeConfig<Element>: Sendable {
    /// Event time of an element; `nil` means processing time.
    var extract: (@Sendable (Element) -> Timestamp)? = nil
    var outOfOrderness: Int64 = 0
    var allowedLateness: Int64 = 0
    /// Processing-time idle timeout; `nil` = none.
    var idleTimeout: Int64? = nil

    var isEventTime: Bool { extract != nil }

    var description: String {
        let idle = idleTimeout.map { ", idleTimeout: \($0)ms" } ?? ""
        if isEventTime {
            return "event-time(outOfOrderness: \(outOfOrderness)ms, allowedLateness: \(allowedLateness)ms\(idle))"
        }
        return "processing-time(\(idle.dropFirst(2)))"
    }
}

/// A stream partitioned by `Key`. Each key has its own watermark, windows and state.
///
/// Choose the time semantics with ``eventTime(_:outOfOrderness:allowedLateness:idleTimeout:)``
/// or ``processingTime(idleTimeout:)`` (the default is processing time without idle timeout),
/// then ``window(_:)`` or ``process(_:)``.
public struct KeyedStream<Key: Hashable & Sendable & Codable, Element>: Sendable {
    let upstream: Stream<Element>
    let keyOf: @Sendable (Element) -> Key
    let time: TimeConfig<Element>

    public var pipelineName: String { upstream.pipelineName }

    /// Event time taken from each element.
    ///
    /// - Parameters:
    ///   - extract: the element's event time.
    ///   - outOfOrderness: the key's watermark trails the largest event time seen for the key
    ///     by this much: `W(key) = max event time − outOfOrderness`.
    ///   - allowedLateness: a window `[start, end)` fires once, when `W(key) ≥ end − 1 + allowedLateness`.
    ///   - idleTimeout: when a key receives nothing for this much processing time, its open
    ///     windows fire and its watermark moves past them.
    public func eventTime(
        _ extract: @escaping @Sendable (Element) -> Timestamp,
        outOfOrderness: Duration = .zero,
        allowedLateness: Duration = .zero,
        idleTimeout: Duration? = nil
    ) -> KeyedStream<Key, Element> {
        var time = TimeConfig<Element>()
        time.extract = extract
        time.outOfOrderness = WindowSpec.validated(outOfOrderness, "outOfOrderness", allowZero: true)
        time.allowedLateness = WindowSpec.validated(allowedLateness, "allowedLateness", allowZero: true)
        time.idleTimeout = idleTimeout.map { WindowSpec.validated($0, "idleTimeout") }
        return KeyedStream(upstream: upstream, keyOf: keyOf, time: time)
    }

    /// Processing time: each element's time is the instance's current processing time, and a
    /// time window fires once processing time reaches its end. The idle timeout emits partial
    /// count windows of silent keys.
    public func processingTime(idleTimeout: Duration? = nil) -> KeyedStream<Key, Element> {
        var time = TimeConfig<Element>()
        time.idleTimeout = idleTimeout.map { WindowSpec.validated($0, "idleTimeout") }
        return KeyedStream(upstream: upstream, keyOf: keyOf, time: time)
    }

    /// Cuts each key's elements into windows.
    public func window(_ spec: WindowSpec) -> WindowedStream<Key, Element> {
        WindowedStream(keyed: self, spec: spec)
    }
}

/// A keyed stream with a window assigner; aggregate it to get one result per fired window.
public struct WindowedStream<Key: Hashable & Sendable & Codable, Element>: Sendable {
    let keyed: KeyedStream<Key, Element>
    public let spec: WindowSpec

    /// Aggregates each window with a custom ``Aggregator``; the result's value is the
    /// aggregator's output.
    public func aggregate<A: Aggregator>(_ aggregator: A) -> Stream<WindowResult<Key, A.Output>> where A.Input == Element {
        let keyed = keyed
        let spec = spec
        return keyed.upstream.via { runtime, sink in
            let op = WindowOperator(
                runtime: runtime, keyOf: keyed.keyOf, time: keyed.time, spec: spec, aggregator: aggregator, emit: sink)
            return { op.process($0) }
        }
    }

    /// Folds each window's elements with `combine` (in arrival order; merged sessions in start
    /// order).
    public func reduce(_ combine: @escaping @Sendable (Element, Element) -> Element) -> Stream<WindowResult<Key, Element>>
    where Element: Codable & Sendable {
        aggregate(ReduceAggregator(combine)).map { result in
            WindowResult(
                pipeline: result.pipeline, key: result.key, window: result.window, count: result.count,
                value: result.value!)
        }
    }
}
