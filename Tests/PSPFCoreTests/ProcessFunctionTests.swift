import PSPFCore
import PSPFTesting
import Testing

/// Counts a key's readings and reports the count 10 ms (event time) after its first reading
/// since the last report; also counts all readings of the instance in operator state.
struct CountAfterDelay: KeyedProcessFunction {
    typealias Output = String
    struct Total: Codable, Sendable { var readings = 0 }

    func initialState(for key: String) -> Int { 0 }
    func initialOperatorState() -> Total { Total() }

    func processElement(_ r: Reading, context: inout KeyedProcessContext<Self>) {
        if context.state == 0 { context.registerEventTimeTimer(at: context.timestamp + .milliseconds(10)) }
        context.state += 1
        context.operatorState.readings += 1
    }

    func onTimer(_ timer: TimerFiring, context: inout KeyedProcessContext<Self>) {
        context.emit("\(context.key)@\(timer.time.milliseconds):\(context.state)/\(context.operatorState.readings)")
        context.state = 0
    }
}

/// Registers processing-time timers to test their ordering and deletion.
struct ProcessingTimers: KeyedProcessFunction {
    typealias Output = String
    func initialState(for key: String) -> [Int64] { [] }

    func processElement(_ r: Reading, context: inout KeyedProcessContext<Self>) {
        // temp encodes a command: > 0 register at that many ms, < 0 delete.
        let t = Timestamp(milliseconds: Int64(abs(r.temp)))
        if r.temp > 0 { context.registerProcessingTimeTimer(at: t) } else { context.deleteProcessingTimeTimer(at: t) }
    }

    func onTimer(_ timer: TimerFiring, context: inout KeyedProcessContext<Self>) {
        context.state.append(timer.time.milliseconds)
        context.emit("\(context.key)@\(timer.time.milliseconds)#\(context.state.count)")
    }
}

@Suite("Keyed process functions")
struct ProcessFunctionTests {
    static let plan = Pipeline("proc").input(Reading.self).keyBy(\.device).eventTime(\.ts)
        .process(CountAfterDelay()).plan(input: Reading.self)

    @Test func eventTimeTimersFireWhenTheKeysWatermarkPasses() {
        let session = TestSession(plan: Self.plan)
        for r in ["a@0", "a@3", "b@5", "a@9"] { session.feed(parse(r), at: .milliseconds(0)) }
        #expect(session.run.outputs.isEmpty)
        session.feed(parse("a@10"), at: .milliseconds(0))  // a's W = 10 ≥ timer 10; the element counts first
        #expect(session.run.outputs == ["a@10:4/5"])
        session.feed(parse("b@14"), at: .milliseconds(0))
        #expect(session.run.outputs == ["a@10:4/5"], "b's timer is at 15")
        session.feed(parse("b@15"), at: .milliseconds(0))
        #expect(session.run.outputs == ["a@10:4/5", "b@15:3/7"])
    }

    @Test func finishFiresPendingTimersInTimeThenRegistrationOrder() {
        let run = TestRunner(plan: Self.plan).run(arrivingAtZero(["b@5", "a@5", "c@2", "a@6"].map(parse)))
        #expect(run.outputs == ["c@12:1/4", "b@15:1/4", "a@15:2/4"])
    }

    @Test func processingTimeTimersFireInTimeThenRegistrationOrderAcrossKeys() {
        let plan = Pipeline("pt").input(Reading.self).keyBy(\.device).processingTime()
            .process(ProcessingTimers()).plan(input: Reading.self)
        let session = TestSession(plan: plan, start: .milliseconds(0))
        session.feed(Reading("b", 0, 300), at: .milliseconds(1))
        session.feed(Reading("a", 0, 200), at: .milliseconds(1))
        session.feed(Reading("a", 0, 300), at: .milliseconds(1))
        session.feed(Reading("c", 0, 300), at: .milliseconds(1))
        session.feed(Reading("c", 0, 300), at: .milliseconds(1))  // duplicate: ignored
        session.feed(Reading("b", 0, 400), at: .milliseconds(1))
        session.feed(Reading("b", 0, -400), at: .milliseconds(1))  // deleted
        session.advance(to: .milliseconds(250))
        #expect(session.run.outputs == ["a@200#1"])
        session.advance(to: .milliseconds(1_000))
        #expect(session.run.outputs == ["a@200#1", "b@300#1", "a@300#2", "c@300#1"])
    }

    @Test func stateSurvivesSnapshotAndRestore() throws {
        let events = arrivingAtZero(["a@0", "b@1", "a@3", "b@8", "a@12", "b@20", "a@25", "c@26", "a@40"].map(parse))
        let runner = TestRunner(plan: Self.plan)
        let straight = runner.run(events)
        for split in 0...events.count {
            let replayed = try runner.runWithCheckpoint(events, split: split)
            #expect(replayed.outputs == straight.outputs, "split at \(split)")
        }
    }

    @Test func pendingTimersAreVisible() {
        struct Peek: KeyedProcessFunction {
            typealias Output = [Int64]
            func initialState(for key: String) -> Int { 0 }
            func processElement(_ r: Reading, context: inout KeyedProcessContext<Self>) {
                context.registerEventTimeTimer(at: .milliseconds(50))
                context.registerEventTimeTimer(at: .milliseconds(20))
                context.deleteEventTimeTimer(at: .milliseconds(50))
                context.emit(context.pendingTimers(.eventTime).map(\.milliseconds))
            }
        }
        let plan = Pipeline("peek").input(Reading.self).keyBy(\.device).eventTime(\.ts).process(Peek()).plan(input: Reading.self)
        #expect(TestRunner(plan: plan).run(arrivingAtZero([parse("a@0")])).outputs == [[20]])
    }

    @Test func deadLettersFromAProcessFunction() {
        struct Reject: KeyedProcessFunction {
            typealias Output = Double
            func initialState(for key: String) -> Int { 0 }
            func processElement(_ r: Reading, context: inout KeyedProcessContext<Self>) {
                if r.temp < 0 { context.deadLetter(.schemaViolation, "negative temp") } else { context.emit(r.temp) }
            }
        }
        let plan = Pipeline("dl").input(Reading.self).keyBy(\.device).process(Reject()).plan(input: Reading.self)
        let run = TestRunner(plan: plan).run(arrivingAtZero([Reading("a", 0, -1), Reading("a", 0, 2)]))
        #expect(run.outputs == [2])
        #expect(run.deadLetters == [DeadLetterEvent(reason: .schemaViolation, message: "negative temp")])
        #expect(run.metrics.deadLettered == 1)
    }
}
