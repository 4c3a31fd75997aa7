/// A custom keyed operator with per-key state, operator-wide state and timers (Flink's
/// `KeyedProcessFunction`).
///
/// The engine calls ``processElement(_:context:)`` for every element and ``onTimer(_:context:)``
/// for every due timer, with the element's key's state in `context.state` (created with
/// ``initialState(for:)`` on first use). Both are `Codable` so checkpoints can persist them.
///
/// Timers are per key and deduplicated per (domain, time). Event-time timers fire when the
/// key's watermark reaches their time — right after the element that advanced it — and at
/// `finish()`; processing-time timers fire from `advanceProcessingTime(to:)`. Due timers fire
/// in (time, registration) order.
///
/// ```swift
/// /// Emits a device's reading count 1 minute (event time) after its first reading.
/// struct CountPerMinute: KeyedProcessFunction {
///     typealias Output = String        // the one associated type Swift cannot infer
///     func initialState(for key: String) -> Int { 0 }
///     func processElement(_ r: Reading, context: inout KeyedProcessContext<Self>) {
///         if context.state == 0 { context.registerEventTimeTimer(at: context.timestamp + .seconds(60)) }
///         context.state += 1
///     }
///     func onTimer(_ timer: TimerFiring, context: inout KeyedProcessContext<Self>) {
///         context.emit("\(context.key): \(context.state)")
///         context.state = 0
///     }
/// }
/// readings.keyBy(\.device).eventTime(\.ts).process(CountPerMinute())
/// ```
public protocol KeyedProcessFunction<Key, Input, Output>: Sendable {
    associatedtype Key: Hashable & Sendable & Codable
    associatedtype Input
    associatedtype Output
    /// Per-key state.
    associatedtype State: Codable & Sendable
    /// State shared by all keys of one instance (partition).
    associatedtype OperatorState: Codable & Sendable = NoOperatorState

    /// The state of a key seen for the first time.
    func initialState(for key: Key) -> State
    /// The operator state of a fresh instance.
    func initialOperatorState() -> OperatorState
    /// Handles one element of `context.key`.
    func processElement(_ element: Input, context: inout KeyedProcessContext<Self>)
    /// Handles a due timer of `context.key`. The default does nothing.
    func onTimer(_ timer: TimerFiring, context: inout KeyedProcessContext<Self>)
}

extension KeyedProcessFunction {
    public func onTimer(_ timer: TimerFiring, context: inout KeyedProcessContext<Self>) {}
}

extension KeyedProcessFunction where OperatorState == NoOperatorState {
    public func initialOperatorState() -> NoOperatorState { NoOperatorState() }
}

/// The operator state of a function that has none.
public struct NoOperatorState: Codable, Sendable, Hashable {
    public init() {}
}

/// Which clock a timer follows.
public enum TimeDomain: String, Sendable, Hashable, Codable {
    case eventTime = "event_time"
    case processingTime = "processing_time"
}

/// A timer that is due.
public struct TimerFiring: Sendable, Hashable {
    public var domain: TimeDomain
    public var time: Timestamp

    public init(domain: TimeDomain, time: Timestamp) {
        self.domain = domain
        self.time = time
    }
}

/// What a ``KeyedProcessFunction`` sees while handling one element or timer.
public struct KeyedProcessContext<Function: KeyedProcessFunction> {
    /// The current key.
    public let key: Function.Key
    /// The current key's state; mutate it in place.
    public var state: Function.State
    /// The instance's operator-wide state; mutate it in place.
    public var operatorState: Function.OperatorState
    /// The element's time (event time, or processing time in processing-time mode), or the
    /// timer's time.
    public let timestamp: Timestamp
    /// The key's watermark before this element was applied (for timers: the current one).
    /// In processing-time mode: processing time − 1 ms.
    public let watermark: Timestamp
    /// The instance's current processing time.
    public let processingTime: Timestamp

    unowned let node: ProcessOperator<Function>
    let slot: Int

    /// Sends an output downstream (synchronously).
    public func emit(_ output: Function.Output) { node.emit(output) }

    /// Registers an event-time timer for the current key (no-op if one exists at `time`).
    public func registerEventTimeTimer(at time: Timestamp) { node.register(.eventTime, time.milliseconds, slot: slot) }

    /// Registers a processing-time timer for the current key (no-op if one exists at `time`).
    public func registerProcessingTimeTimer(at time: Timestamp) {
        node.register(.processingTime, time.milliseconds, slot: slot)
    }

    /// Deletes the current key's event-time timer at `time`, if any.
    public func deleteEventTimeTimer(at time: Timestamp) { node.delete(.eventTime, time.milliseconds, slot: slot) }

    /// Deletes the current key's processing-time timer at `time`, if any.
    public func deleteProcessingTimeTimer(at time: Timestamp) { node.delete(.processingTime, time.milliseconds, slot: slot) }

    /// The current key's pending timers of a domain, in firing order.
    public func pendingTimers(_ domain: TimeDomain) -> [Timestamp] { node.pending(domain, slot: slot) }

    /// Reports the current element to the dead letters (counted in the metrics).
    public func deadLetter(_ reason: DeadLetterReason, _ message: String) {
        node.runtime.reportDeadLetter(reason, message)
    }
}

extension KeyedStream {
    /// Runs a custom keyed operator with state and timers.
    public func process<F: KeyedProcessFunction>(_ function: F) -> Stream<F.Output>
    where F.Key == Key, F.Input == Element {
        let keyOf = keyOf
        let time = time
        return upstream.via { runtime, sink in
            let op = ProcessOperator(runtime: runtime, function: function, keyOf: keyOf, time: time, emit: sink)
            return { op.process($0) }
        }
    }
}
