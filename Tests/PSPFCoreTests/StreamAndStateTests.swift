import PSPFCore
import PSPFTesting
import Testing

@Suite("Stream operators and state seams")
struct StreamAndStateTests {
    @Test func mapFilterFlatMapCompactMapChain() {
        let plan = Pipeline("ops").input(Int.self)
            .filter { $0 % 2 == 1 }
            .map { $0 * 10 }
            .flatMap { [$0, $0 + 1] }
            .compactMap { $0 % 3 == 0 ? nil : $0 }
            .plan(input: Int.self)
        var out: [Int] = []
        let instance = plan.instantiate(context: OperatorContext()) { out.append($0) }
        instance.process(contentsOf: 1...5)
        #expect(out == [10, 11, 31, 50])
        #expect(instance.metrics.processed == 5)
    }

    @Test func tryMapSendsFailuresToDeadLetters() {
        struct Bad: Error {}
        let plan = Pipeline("decode").input(String.self)
            .tryMap { text -> Int in
                if text == "boom" { throw Bad() }
                guard let n = Int(text) else { throw DeadLetterError(.malformedInput, "not a number: \(text)") }
                return n
            }
            .plan(input: String.self)
        var dead: [DeadLetterEvent] = []
        var out: [Int] = []
        let instance = plan.instantiate(context: OperatorContext(deadLetter: { dead.append($0) })) { out.append($0) }
        instance.process(contentsOf: ["1", "x", "boom", "2"])
        #expect(out == [1, 2])
        #expect(dead.map(\.reason) == [.malformedInput, .operatorError])
        #expect(dead.first?.message == "not a number: x")
        #expect(instance.metrics.deadLettered == 2)
    }

    @Test func rawRecordsDecodeAndWindow() throws {
        // "device,ts,temp" payloads, keyed by the record key.
        let plan = Pipeline("raw").records()
            .tryMap { record -> Reading in
                let fields = String(decoding: record.payload, as: UTF8.self).split(separator: ",")
                guard fields.count == 3, let ts = Int64(fields[1]), let temp = Double(fields[2]) else {
                    throw DeadLetterError(.malformedInput, "bad payload at offset \(record.offset)")
                }
                return Reading(record.keyString, ts, temp)
            }
            .keyBy(\.device).eventTime(\.ts).window(.tumbling(.milliseconds(10))).aggregate(count(), avg(\.temp))
            .plan(input: InputRecord.self)
        var out: [RowResult] = []
        var dead: [DeadLetterEvent] = []
        let instance = plan.instantiate(context: OperatorContext(deadLetter: { dead.append($0) })) { out.append($0) }
        let payloads = ["a,1,2", "a,5,4", "garbage", "a,12,0"]
        for (offset, text) in payloads.enumerated() {
            let key = Array("a".utf8), payload = Array(text.utf8), topic = Array("sensors/a".utf8)
            key.withUnsafeBytes { k in
                payload.withUnsafeBytes { p in
                    topic.withUnsafeBytes { t in
                        instance.process(
                            InputRecord(key: k, payload: p, topic: t, appendTime: .milliseconds(0), partition: 0, offset: Int64(offset)))
                    }
                }
            }
        }
        #expect(out.map(summary) == ["a@0-10:n=2,avg_temp=3.0"])
        #expect(dead == [DeadLetterEvent(reason: .malformedInput, message: "bad payload at offset 2")])
    }

    @Test func pipelinesChainAWindowAfterAWindow() {
        // Per-device 10 ms counts, then per-device sums of those counts over 30 ms.
        let plan = Pipeline("two").input(Reading.self).keyBy(\.device).eventTime(\.ts)
            .window(.tumbling(.milliseconds(10))).aggregate(count())
            .map { Reading($0.key, $0.window.start.milliseconds, Double($0.count)) }
            .keyBy(\.device).eventTime(\.ts).window(.tumbling(.milliseconds(30))).aggregate(sum(\.temp))
            .plan(input: Reading.self)
        let run = TestRunner(plan: plan).run(arrivingAtZero(["a@1", "a@2", "a@15", "a@25", "a@26", "a@27", "a@31"].map(parse)))
        #expect(run.outputs.map(summary) == ["a@0-30:n=3,sum_temp=6.0", "a@30-60:n=1,sum_temp=1.0"])
    }

    @Test func outOfRangeTimestampsAreDeadLettered() {
        let run = TestRunner(plan: sumPlan(.tumbling(.seconds(1)))).run(arrivingAtZero([Reading("a", .max), Reading("a", 1)]))
        #expect(run.deadLetters.map(\.reason) == [.timestampOutOfRange])
        #expect(run.outputs.count == 1)
    }

    @Test func snapshotListsEveryKeyInFirstSeenOrderAndTracksDirtyKeys() throws {
        let codec = JSONStateCodec()
        let session = TestSession(plan: sumPlan(.tumbling(.milliseconds(10)), outOfOrderness: 100))
        for r in ["b@1", "a@2", "c@3"] { session.feed(parse(r), at: .milliseconds(0)) }
        let all = try session.snapshot(codec: codec)
        #expect(all.map(\.operatorID) == ["0.window", "0.window", "0.window"])
        #expect(try all.map { try codec.decode(String.self, from: $0.key!) } == ["b", "a", "c"])
        session.instance.markStateClean()
        #expect(try session.snapshot(codec: codec, dirtyOnly: true).isEmpty)
        session.feed(parse("c@4"), at: .milliseconds(0))
        session.feed(parse("b@5"), at: .milliseconds(0))
        let dirty = try session.snapshot(codec: codec, dirtyOnly: true)
        #expect(try dirty.map { try codec.decode(String.self, from: $0.key!) } == ["b", "c"])
    }

    @Test func restoreRejectsUnknownOperators() {
        let session = TestSession(plan: sumPlan(.tumbling(.seconds(1))))
        #expect(throws: StateRestoreError.self) {
            try session.restore([StateEntry(operatorID: "7.window", key: nil, value: [])])
        }
        #expect(throws: StateRestoreError.self) {
            try session.restore([StateEntry(operatorID: "0.window", key: Array(#""a""#.utf8), value: Array("{}".utf8))])
        }
    }

    @Test func restoredIdleKeysStillTimeOut() throws {
        let plan = sumPlan(.tumbling(.seconds(10)), idle: 30_000)
        let first = TestSession(plan: plan, start: .seconds(0))
        first.feed(Reading("a", 1_000), at: .seconds(1))
        let state = try first.snapshot()
        let second = TestSession(plan: plan, start: .seconds(5))
        try second.restore(state)
        #expect(second.run.metrics.windowsOpen == 1)
        second.advance(to: .seconds(31))
        #expect(second.run.outputs.map(summary) == ["a@0-10000:n=1,sum_temp=1.0"])
    }

    @Test func operatorDescriptionsNameTheShape() {
        let instance = sumPlan(.tumbling(.seconds(10)), outOfOrderness: 2_000).instantiate(context: OperatorContext()) { _ in }
        #expect(instance.operatorIDs == ["0.window"])
        #expect(instance.operatorDescriptions.first?.hasPrefix("0.window window tumbling(size: 10000ms, offset: 0ms) event-time(outOfOrderness: 2000ms") == true)
    }

    @Test func processingTimeNeverGoesBackwards() {
        let instance = sumPlan(.tumbling(.seconds(10))).instantiate(context: OperatorContext(clock: ManualClock(.seconds(100)))) { _ in }
        #expect(instance.processingTime == .seconds(100))
        instance.advanceProcessingTime(to: .seconds(50))
        #expect(instance.processingTime == .seconds(100))
    }

    @Test func manualClock() {
        let clock = ManualClock(.seconds(10))
        clock.advance(by: .milliseconds(1_500))
        #expect(clock.now() == .milliseconds(11_500))
        clock.set(.seconds(3))
        #expect(clock.now() == .seconds(3))
    }

    @Test func syntheticStreamsAreSeededAndSortedByArrival() {
        let g = SyntheticStream(devices: 3, duration: .seconds(30), outOfOrderFraction: 0.3, lateFraction: 0.1, seed: 9)
        let a = g.events(), b = g.events()
        #expect(a.map(\.element) == b.map(\.element))
        #expect(a.map(\.arrival) == a.map(\.arrival).sorted())
        #expect(a.count == 90)
        var other = g
        other.seed = 10
        #expect(other.events().map(\.element) != a.map(\.element))
    }
}
