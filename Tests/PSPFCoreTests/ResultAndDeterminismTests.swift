import PSPFCore
import PSPFJSON
import PSPFTesting
import Testing

/// An independent FNV-1a 64 for checking ids.
func referenceFNV(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 14_695_981_039_346_656_037
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 1_099_511_628_211
    }
    return h
}

func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

@Suite("Results, ids and determinism")
struct ResultAndDeterminismTests {
    @Test(arguments: [("", "cbf29ce484222325"), ("a", "af63dc4c8601ec8c"), ("foobar", "85944171f73967e8")])
    func fnvKnownVectors(_ input: String, _ expected: String) {
        var h = FNV1a64()
        h.combine(input.utf8)
        #expect(h.hex == expected)
    }

    @Test(arguments: [
        ("temp-stats", "dev-0042", Int64(1_700_000_000_000)), ("p", "", Int64(0)), ("p", "k", Int64(-10_000)),
        ("ünïcode", "ключ", Int64(42)),
    ])
    func stableIDIsFNVOfPipelineKeyAndStart(_ pipeline: String, _ key: String, _ start: Int64) {
        let bytes = Array(pipeline.utf8) + [0] + Array(key.utf8) + [0] + Array(String(start).utf8)
        let expected = hex16(referenceFNV(bytes))
        #expect(stableResultID(pipeline: pipeline, keyDescription: key, windowStartOrSequence: start) == expected)
        let result = WindowResult(
            pipeline: pipeline, key: key, window: Window(start: .milliseconds(start), end: .milliseconds(start + 10)),
            count: 1, value: 1.0)
        #expect(result.id == expected)
        #expect(result.id.count == 16)
    }

    @Test func countWindowIDsUseTheSequence() {
        let result = WindowResult(
            pipeline: "p", key: 7, window: Window(start: .milliseconds(100), end: .milliseconds(200), sequence: 3),
            count: 5, value: 1.0)
        #expect(result.id == hex16(referenceFNV(Array("p\u{0}7\u{0}3".utf8))))
    }

    @Test func idsAreStableAcrossRunsAndDistinctAcrossWindows() {
        let events = SyntheticStream(devices: 5, duration: .minutes(3), seed: 3).events()
        let plan = Pipeline("ids").input(SyntheticReading.self).keyBy(\.device).eventTime(\.ts)
            .window(.tumbling(.seconds(30))).aggregate(count()).plan(input: SyntheticReading.self)
        let a = TestRunner(plan: plan).run(events).outputs.map(\.id)
        let b = TestRunner(plan: plan).run(events).outputs.map(\.id)
        #expect(a == b)
        #expect(Set(a).count == a.count)
    }

    @Test func encodesOneJSONObject() {
        let row = AggregateRow(names: ["count", "avg_temp", "max_temp", "last_state"], values: [.int(3), .double(21.5), .int(23), .string("ok\n")])
        let result = WindowResult(
            pipeline: "temp-stats", key: "dev-1", window: Window(start: .milliseconds(10_000), end: .milliseconds(20_000)),
            count: 3, value: row)
        var writer = JSONWriter()
        result.encode(into: &writer)
        let id = hex16(referenceFNV(Array("temp-stats\u{0}dev-1\u{0}10000".utf8)))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"id":"\#(id)","pipeline":"temp-stats","key":"dev-1","window_start":10000,"window_end":20000,"count":3,"avg_temp":21.5,"max_temp":23,"last_state":"ok\n"}"#)
        #expect(result.partitionKey == "dev-1")
    }

    @Test func encodesCountWindowsAndPlainValues() {
        let result = WindowResult(
            pipeline: "p", key: 42, window: Window(start: .milliseconds(5), end: .milliseconds(9), sequence: 2), count: 4,
            value: 2.5)
        var writer = JSONWriter()
        result.encode(into: &writer)
        let id = hex16(referenceFNV(Array("p\u{0}42\u{0}2".utf8)))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"id":"\#(id)","pipeline":"p","key":"42","window_start":5,"window_end":9,"window_seq":2,"count":4,"value":2.5}"#)
    }

    static func syntheticEvents() -> [TimedEvent<SyntheticReading>] {
        SyntheticStream(
            devices: 25, duration: .minutes(20), jitter: .milliseconds(500), outOfOrderFraction: 0.2,
            maxDisorder: .seconds(3), lateFraction: 0.02, lateDelay: .minutes(2),
            offline: [.init(device: 3, from: .minutes(2), to: .minutes(12)), .init(device: 11, from: .minutes(5), to: .minutes(6))],
            seed: 2024
        ).events()
    }

    static func plans() -> [PipelinePlan<SyntheticReading, WindowResult<String, AggregateRow>>] {
        func keyed() -> KeyedStream<String, SyntheticReading> {
            Pipeline("det").input(SyntheticReading.self).keyBy(\.device)
                .eventTime(\.ts, outOfOrderness: .seconds(2), allowedLateness: .seconds(5), idleTimeout: .seconds(90))
        }
        return [
            keyed().window(.tumbling(.seconds(10))).aggregate(count(), avg(\.temp), min(\.temp), max(\.temp), percentile(\.temp, 0.9))
                .plan(input: SyntheticReading.self),
            keyed().window(.hopping(size: .minutes(1), slide: .seconds(20))).aggregate(count(), stddev(\.temp), first(\.seq), last(\.seq))
                .plan(input: SyntheticReading.self),
            keyed().window(.session(gap: .seconds(30), maxLength: .minutes(3))).aggregate(count(), sum(\.humidity))
                .plan(input: SyntheticReading.self),
            keyed().window(.count(17)).aggregate(count(), variance(\.temp)).plan(input: SyntheticReading.self),
        ]
    }

    @Test(arguments: 0..<4)
    func twoRunsGiveIdenticalBytes(_ index: Int) {
        let events = Self.syntheticEvents()
        let plan = Self.plans()[index]
        let first = TestRunner(plan: plan, start: .seconds(1_700_000_000)).run(events)
        let second = TestRunner(plan: plan, start: .seconds(1_700_000_000)).run(events)
        #expect(!first.outputs.isEmpty)
        #expect(first.encodedOutput == second.encodedOutput)
        #expect(first.late == second.late)
        // Nothing vanishes silently.
        if index == 0 || index == 3 {
            #expect(first.outputs.map(\.count).reduce(0, +) + first.metrics.late == Int64(events.count))
        }
        #expect(index != 0 || first.metrics.late > 0, "the stream has late records")
    }

    /// Pins the bytes across processes too: Swift seeds hashing per process, so any output order
    /// that depended on Dictionary/Set iteration would change this digest from run to run.
    @Test func outputDigestIsPinned() {
        let run = TestRunner(plan: Self.plans()[0], start: .seconds(1_700_000_000)).run(Self.syntheticEvents())
        var h = FNV1a64()
        h.combine(run.encodedOutput)
        #expect(h.hex == "6a11a434525f3c5f")
    }

    @Test(arguments: 0..<4)
    func replayThroughACheckpointGivesIdenticalBytes(_ index: Int) throws {
        let events = Self.syntheticEvents()
        let runner = TestRunner(plan: Self.plans()[index], start: .seconds(1_700_000_000))
        let straight = runner.run(events)
        for split in [1, events.count / 3, events.count / 2, events.count - 1] {
            let replayed = try runner.runWithCheckpoint(events, split: split)
            #expect(replayed.encodedOutput == straight.encodedOutput, "split \(split)")
            #expect(replayed.metrics.late == straight.metrics.late)
        }
    }
}
