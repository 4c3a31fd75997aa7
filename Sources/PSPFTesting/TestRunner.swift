import PSPFCore
import PSPFJSON

/// An element and the processing time at which it arrives.
public struct TimedEvent<Element> {
    public var element: Element
    public var arrival: Timestamp

    public init(_ element: Element, at arrival: Timestamp) {
        self.element = element
        self.arrival = arrival
    }
}

extension TimedEvent: Sendable where Element: Sendable {}
extension TimedEvent: Equatable where Element: Equatable {}

/// Everything a pipeline produced in one test run.
public struct TestRun<Output> {
    public var outputs: [Output] = []
    public var late: [LateEvent] = []
    public var deadLetters: [DeadLetterEvent] = []
    public var metrics = PipelineMetrics()
}

extension TestRun where Output: ResultEncodable {
    /// The outputs as the runtime would append them: one JSON object per line.
    public var encodedOutput: [UInt8] {
        var writer = JSONWriter(capacity: 4096)
        var bytes: [UInt8] = []
        for output in outputs {
            writer.reset()
            output.encode(into: &writer)
            bytes += writer.bytes
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// ``encodedOutput`` split into lines.
    public var encodedLines: [String] {
        String(decoding: encodedOutput, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// Drives one pipeline instance on a ``ManualClock``, step by step, collecting its outputs,
/// late records and dead letters.
///
/// ```swift
/// let session = TestSession(plan: plan, start: .seconds(0))
/// session.feed(reading, at: .seconds(1))      // clock → 1 s (fires due timers), then process
/// session.advance(to: .seconds(60))           // idle timeouts, processing-time windows
/// session.finish()
/// #expect(session.run.outputs.count == 1)
/// ```
public final class TestSession<Input, Output> {
    public let clock: ManualClock
    public let instance: PipelineInstance<Input>
    private let collector: Collector

    private final class Collector {
        var run = TestRun<Output>()
    }

    public init(plan: PipelinePlan<Input, Output>, start: Timestamp = .milliseconds(0), partition: Int = 0) {
        let clock = ManualClock(start)
        let collector = Collector()
        self.clock = clock
        self.collector = collector
        let context = OperatorContext(
            partition: partition, clock: clock,
            late: { collector.run.late.append($0) },
            deadLetter: { collector.run.deadLetters.append($0) })
        instance = plan.instantiate(context: context) { collector.run.outputs.append($0) }
    }

    /// What the pipeline produced so far, with current metrics.
    public var run: TestRun<Output> {
        var run = collector.run
        run.metrics = instance.metrics
        return run
    }

    /// Moves the clock to `arrival` if that is later (firing what is due), then processes.
    public func feed(_ element: Input, at arrival: Timestamp) {
        advance(to: arrival)
        instance.process(element)
    }

    public func feed(_ event: TimedEvent<Input>) { feed(event.element, at: event.arrival) }

    public func feed(contentsOf events: some Sequence<TimedEvent<Input>>) {
        for event in events { feed(event) }
    }

    /// Moves the clock to `time` if that is later, then advances the instance's processing time.
    public func advance(to time: Timestamp) {
        if time > clock.now() { clock.set(time) }
        instance.advanceProcessingTime(to: clock.now())
    }

    public func advance(by duration: Duration) { advance(to: clock.now() + duration) }

    /// End of input: fires everything still open.
    public func finish() { instance.finish() }

    public func snapshot(codec: any StateCodec = JSONStateCodec(), dirtyOnly: Bool = false) throws -> [StateEntry] {
        try instance.snapshotState(codec: codec, dirtyOnly: dirtyOnly)
    }

    public func restore(_ entries: [StateEntry], codec: any StateCodec = JSONStateCodec()) throws {
        try instance.restoreState(entries, codec: codec)
    }
}

/// Runs a pipeline over a synthetic event stream, deterministically: each run uses a fresh
/// instance and a fresh ``ManualClock`` starting at `start`, so running (or replaying) the same
/// events always yields the same outputs, byte for byte.
public struct TestRunner<Input, Output> {
    public let plan: PipelinePlan<Input, Output>
    public var start: Timestamp
    public var partition: Int

    public init(plan: PipelinePlan<Input, Output>, start: Timestamp = .milliseconds(0), partition: Int = 0) {
        self.plan = plan
        self.start = start
        self.partition = partition
    }

    /// Feeds `events` in order (advancing the clock to each arrival first), then advances the
    /// clock to `advanceTo` if given, then calls `finish()` if asked.
    public func run(
        _ events: some Sequence<TimedEvent<Input>>, advanceTo end: Timestamp? = nil, finish: Bool = true
    ) -> TestRun<Output> {
        let session = TestSession(plan: plan, start: start, partition: partition)
        session.feed(contentsOf: events)
        if let end { session.advance(to: end) }
        if finish { session.finish() }
        return session.run
    }

    /// Replays a run through a checkpoint: feeds `events[..<split]`, snapshots the state,
    /// restores it into a fresh instance (clock at the last arrival) and feeds the rest. The
    /// outputs of both halves are concatenated; equal to ``run(_:advanceTo:finish:)`` if
    /// snapshots are complete.
    public func runWithCheckpoint(
        _ events: [TimedEvent<Input>], split: Int, codec: any StateCodec = JSONStateCodec(),
        advanceTo end: Timestamp? = nil, finish: Bool = true
    ) throws -> TestRun<Output> {
        let first = TestSession(plan: plan, start: start, partition: partition)
        first.feed(contentsOf: events[..<split])
        let state = try first.snapshot(codec: codec)
        let second = TestSession(plan: plan, start: first.clock.now(), partition: partition)
        try second.restore(state, codec: codec)
        second.feed(contentsOf: events[split...])
        if let end { second.advance(to: end) }
        if finish { second.finish() }
        var run = first.run
        let rest = second.run
        run.outputs += rest.outputs
        run.late += rest.late
        run.deadLetters += rest.deadLetters
        run.metrics.processed += rest.metrics.processed
        run.metrics.late += rest.metrics.late
        run.metrics.deadLettered += rest.metrics.deadLettered
        run.metrics.windowsEmitted += rest.metrics.windowsEmitted
        run.metrics.windowsOpen = rest.metrics.windowsOpen
        return run
    }
}
