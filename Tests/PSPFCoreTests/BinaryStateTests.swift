import PSPFTesting
import PropertyBased
import Testing

@testable import PSPFCore

/// A codec that takes the binary fast path where a type has one (as the storage layer's
/// `BinaryStateCodec` does) and JSON for everything else: engine tests of the fast path without
/// the storage module.
struct FastPathJSONCodec: StateCodec {
    let json = JSONStateCodec()
    var prefersBinaryState: Bool { true }
    func encode<T: Encodable>(_ value: T) throws -> [UInt8] { try json.encode(value) }
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T { try json.decode(type, from: bytes) }
}

/// Round trips through the hand-rolled encoding.
func binaryRoundTrip<T: BinaryStateCodable>(_ value: T) throws -> T {
    var writer = BinaryStateWriter()
    value.write(to: &writer)
    return try BinaryStateReader.read(T.self, from: writer.copyBytes())
}

/// Whether `value` survives a round trip bit for bit (`==` would fail on NaN fields).
func roundTripsExactly<T: BinaryStateCodable>(_ value: T) throws -> Bool {
    binaryBytes(try binaryRoundTrip(value)) == binaryBytes(value)
}

func binaryBytes<T: BinaryStateWritable>(_ value: T) -> [UInt8] {
    var writer = BinaryStateWriter()
    value.write(to: &writer)
    return writer.copyBytes()
}

@Suite("Binary state fast path")
struct BinaryStateTests {
    // MARK: Primitives

    @Test func integersAndDeltasAreExactForEveryValue() async throws {
        await propertyCheck(input: Gen.int64().array(of: 1...20)) { (values) throws in
            for value in values {
                #expect(try binaryRoundTrip(value) == value)
                for base in [Int64.min, -1, 0, 1, .max, value] {
                    var writer = BinaryStateWriter()
                    writer.writeDelta(value, from: base)
                    let back = try writer.copyBytes().withUnsafeBytes { buffer in
                        var reader = BinaryStateReader(buffer)
                        return try reader.readDelta(from: base)
                    }
                    #expect(back == value)
                }
            }
        }
    }

    @Test func doublesKeepTheirBitPattern() throws {
        let specials: [Double] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 21.37]
        for value in specials {
            #expect(try binaryRoundTrip(value).bitPattern == value.bitPattern)
        }
    }

    @Test func stringsOptionalsAndArraysRoundTrip() async throws {
        // Latin-1 and some multi-byte characters (2–4 UTF-8 bytes).
        let strings = Gen.oneOf(Gen.latin1, Gen.character(in: "\u{400}"..."\u{4FF}"), Gen.character(in: "\u{1F600}"..."\u{1F64F}"))
            .string(of: 0...12)
        await propertyCheck(input: strings.array(of: 0...8)) { (values) throws in
            #expect(try binaryRoundTrip(values) == values)
            #expect(try binaryRoundTrip(values.first) == values.first)
        }
    }

    @Test func smallValuesAreSmall() {
        #expect(binaryBytes(Int64(3)).count == 1)
        #expect(binaryBytes(Int64(-64)).count == 1)
        #expect(binaryBytes(Int64(1_732_406_400_000)).count == 6)
        #expect(binaryBytes("dev-000042").count == 11)
    }

    // MARK: Accumulators

    /// Values of every shape the built-in columns see: integers, doubles with specials, NaNs.
    static let numbers = Gen.oneOf(
        Gen.double(in: -1e6...1e6), Gen.int(in: -1000...1000).map(Double.init),
        Gen.element(of: [Double.nan, .infinity, -.infinity, 0, -0.0, 1e300]).map { $0 ?? 0 }
    ).array(of: 0...40)

    @Test func builtInAccumulatorsRoundTrip() async throws {
        await propertyCheck(input: Self.numbers) { (xs) throws in
            let reader = FieldReader(\Bare<Double>.value)
            let ints = FieldReader(\Bare<Int64>.value)
            var sum = Sum(reader).initial()
            var intSum = Sum(ints).initial()
            var average = Average(reader).initial()
            var minimum = Extremum(reader, max: false).initial()
            var maximum = Extremum(reader, max: true).initial()
            var intMax = Extremum(ints, max: true).initial()
            var firstValue = Pick(FieldReader(\Bare<AggregateValue>.value), last: false).initial()
            var lastValue = Pick(FieldReader(\Bare<AggregateValue>.value), last: true).initial()
            var welford = WelfordAccumulator()
            var sketch = DDSketch(relativeAccuracy: 0.02, maxBuckets: 64)
            for (i, x) in xs.enumerated() {
                Sum(reader).add(&sum, Bare(x))
                Sum(ints).add(&intSum, Bare(Int64(i) * 7 - 50))
                Average(reader).add(&average, Bare(x))
                Extremum(reader, max: false).add(&minimum, Bare(x))
                Extremum(reader, max: true).add(&maximum, Bare(x))
                Extremum(ints, max: true).add(&intMax, Bare(Int64(i)))
                let value: AggregateValue = i % 3 == 0 ? .string("s\(i)") : i % 3 == 1 ? .double(x) : .bool(x > 0)
                Pick(FieldReader(\Bare<AggregateValue>.value), last: false).add(&firstValue, Bare(value), at: .milliseconds(Int64(i % 5)))
                Pick(FieldReader(\Bare<AggregateValue>.value), last: true).add(&lastValue, Bare(value), at: .milliseconds(Int64(i % 5)))
                if !x.isNaN { welford.add(x) }
                sketch.add(x)
            }
            #expect(try roundTripsExactly(sum))
            #expect(try roundTripsExactly(intSum))
            #expect(try roundTripsExactly(average))
            #expect(try roundTripsExactly(minimum))
            #expect(try roundTripsExactly(maximum))
            #expect(try roundTripsExactly(intMax))
            #expect(try roundTripsExactly(firstValue))
            #expect(try roundTripsExactly(lastValue))
            #expect(try roundTripsExactly(welford))
            let restored = try binaryRoundTrip(sketch)
            #expect(restored == sketch)
            #expect(restored.quantile(0.5) == sketch.quantile(0.5))
            var merged = restored
            merged.merge(sketch)  // a restored sketch stays mergeable with a fresh one
            #expect(merged.count == 2 * sketch.count)
            let pair = ColumnPairAccumulator(first: sum, second: ColumnPairAccumulator(first: Int64(xs.count), second: sketch))
            #expect(try roundTripsExactly(pair))
        }
    }

    @Test func aggregateValuesRoundTrip() throws {
        let values: [AggregateValue] = [.null, .int(.min), .int(.max), .double(-0.0), .string(""), .string("ü✓"), .bool(false), .bool(true)]
        for value in values { #expect(try binaryRoundTrip(value) == value) }
    }

    @Test func dynamicColumnsAccumulatorsRoundTrip() async throws {
        let columns = DynamicColumns<Bare<Double>>([
            .count(),
            DynamicColumn(name: "n", function: .count, reader: .number { $0.value.isNaN ? nil : $0.value }),
            DynamicColumn(name: "s", function: .sum, reader: .number { $0.value }),
            DynamicColumn(name: "si", function: .sum, reader: .integer { Int64(exactly: $0.value.rounded(.towardZero)) }),
            DynamicColumn(name: "a", function: .avg, reader: .number { $0.value }),
            DynamicColumn(name: "lo", function: .min, reader: .number { $0.value }),
            DynamicColumn(name: "hi", function: .max, reader: .integer { Int64(exactly: $0.value.rounded(.towardZero)) }),
            DynamicColumn(name: "f", function: .first, reader: .value { .double($0.value) }),
            DynamicColumn(name: "l", function: .last, reader: .value { $0.value > 0 ? .string("pos") : .null }),
            DynamicColumn(name: "sd", function: .stddev(population: false), reader: .number { $0.value }),
            DynamicColumn(name: "v", function: .variance(population: true), reader: .number { $0.value }),
            DynamicColumn(name: "p", function: .percentile(0.9), reader: .number { $0.value }),
        ])
        await propertyCheck(input: Self.numbers) { (xs) throws in
            var accumulator = columns.initial()
            for (i, x) in xs.enumerated() { columns.add(&accumulator, Bare(x), at: .milliseconds(Int64(i))) }
            let back = try binaryRoundTrip(accumulator)
            #expect(binaryBytes(back) == binaryBytes(accumulator))
            #expect(columns.result(back).description == columns.result(accumulator).description)
        }
    }

    // MARK: Engine state

    static let windows = zip(Gen.int64(), Gen.int64(in: -100...100_000), Gen.int64(in: 0...50), Gen.int64(in: 0...1000))
        .array(of: 0...4)
    static let keyStates = zip(
        Gen.element(of: [Int64.min, 0, 1_732_406_400_000, .max]).map { $0 ?? 0 }, Gen.int64(in: -5000...5000),
        Gen.int64(), Gen.int64(in: 0...3), windows)

    @Test func windowKeyStateRoundTrips() async throws {
        await propertyCheck(input: Self.keyStates) { (maxTimestamp, lag, arrival, sequence, windows) throws in
            var state = WindowKeyState<ColumnPairAccumulator<Int64, ExtremumAccumulator>>()
            state.maxTimestamp = maxTimestamp
            state.watermark = maxTimestamp &- lag
            state.lastArrival = arrival
            state.nextSequence = sequence
            state.windows = windows.map { start, size, spread, count in
                OpenWindow(
                    start: start, end: start &+ size, minTime: start &+ spread, maxTime: start &+ spread &* 2, count: count,
                    accumulator: ColumnPairAccumulator(
                        first: count, second: ExtremumAccumulator(int: count, double: count > 500 ? .infinity : Double(size), count: spread)))
            }
            let bytes = binaryBytes(state)
            let back = try BinaryStateReader.read(WindowKeyState<ColumnPairAccumulator<Int64, ExtremumAccumulator>>.self, from: bytes)
            let json = JSONStateCodec()
            #expect(try json.encode(back) == json.encode(state))
            #expect(binaryBytes(back) == bytes)
        }
    }

    @Test func processStateRoundTrips() throws {
        var state = ProcessKeyState<[Int64]>()
        state.maxTimestamp = 1_732_406_400_000
        state.watermark = .min
        state.state = [1, -2, .max]
        state.eventTimers = [KeyTimer(time: 5, sequence: 1), KeyTimer(time: .max, sequence: 9)]
        state.processingTimers = [KeyTimer(time: -3, sequence: 2)]
        let back = try BinaryStateReader.read(ProcessKeyState<[Int64]>.self, from: binaryBytes(state))
        #expect(back.maxTimestamp == state.maxTimestamp && back.watermark == state.watermark && back.state == state.state)
        #expect(back.eventTimers == state.eventTimers && back.processingTimers == state.processingTimers)
        let snapshot = ProcessOperatorSnapshot(operatorState: NoOperatorState(), timerSequence: 42)
        #expect(try BinaryStateReader.read(ProcessOperatorSnapshot<NoOperatorState>.self, from: binaryBytes(snapshot)).timerSequence == 42)
    }

    /// The reference pipeline's key state (one open window, count/avg/min/max) is far smaller
    /// than through Codable (~130 bytes in the tagged binary format).
    @Test func referenceKeyStateIsCompact() {
        typealias Acc = ColumnPairAccumulator<Int64, ColumnPairAccumulator<AverageAccumulator, ColumnPairAccumulator<ExtremumAccumulator, ExtremumAccumulator>>>
        var state = WindowKeyState<Acc>()
        state.maxTimestamp = 1_732_406_405_321
        state.watermark = state.maxTimestamp - 1000
        state.lastArrival = 1_764_000_000_123
        let acc = Acc(
            first: 5,
            second: .init(
                first: AverageAccumulator(),
                second: .init(first: ExtremumAccumulator(int: .max, double: 20.5, count: 5), second: ExtremumAccumulator(int: .min, double: 31.25, count: 5))))
        state.windows = [OpenWindow(start: 1_732_406_400_000, end: 1_732_406_410_000, minTime: 1_732_406_400_120, maxTime: 1_732_406_405_321, count: 5, accumulator: acc)]
        #expect(binaryBytes(state).count <= 64)
    }

    // MARK: Corrupt input

    @Test func truncatedOrExtendedBytesThrowInsteadOfMisreading() throws {
        var state = WindowKeyState<DynamicColumnsAccumulator>()
        state.maxTimestamp = 1_000
        var sketch = DDSketch()
        for x in [1.0, 2, 300, -4] { sketch.add(x) }
        let cells: [DynamicColumnsAccumulator.Cell] = [
            .count(3), .sum(SumAccumulator()), .pick(PickAccumulator(time: 7, value: .string("x"), present: true)), .sketch(sketch),
        ]
        state.windows = [OpenWindow(start: 0, end: 10, minTime: 1, maxTime: 9, count: 3, accumulator: DynamicColumnsAccumulator(cells: cells))]
        let bytes = binaryBytes(state)
        for length in 0..<bytes.count {
            #expect(throws: BinaryStateFormatError.self) {
                try BinaryStateReader.read(WindowKeyState<DynamicColumnsAccumulator>.self, from: Array(bytes.prefix(length)))
            }
        }
        #expect(throws: BinaryStateFormatError.self) {
            try BinaryStateReader.read(WindowKeyState<DynamicColumnsAccumulator>.self, from: bytes + [0])
        }
        #expect(throws: BinaryStateFormatError.self) { try BinaryStateReader.read(Bool.self, from: [2]) }
        #expect(throws: BinaryStateFormatError.self) { try BinaryStateReader.read(AggregateValue.self, from: [9]) }
        #expect(throws: BinaryStateFormatError.self) { try BinaryStateReader.read([Int64].self, from: [0xFF, 0xFF, 0x7F]) }
        #expect(throws: BinaryStateFormatError.self) { try BinaryStateReader.read(Int64.self, from: Array(repeating: 0xFF, count: 11)) }
        // A sketch with parameters its initializer would trap on is an error, not a crash.
        var writer = BinaryStateWriter()
        writer.write(2.0)
        writer.write(Int64(4))
        #expect(throws: BinaryStateFormatError.self) { try BinaryStateReader.read(DDSketch.self, from: writer.copyBytes()) }
    }

    // MARK: Through the engine

    /// Every window kind, with the fast path, replays through a checkpoint to the same bytes as
    /// an uninterrupted run, and really uses the fast path (no JSON in the state).
    @Test(arguments: 0..<4)
    func engineCheckpointsThroughTheFastPath(_ index: Int) throws {
        let events = ResultAndDeterminismTests.syntheticEvents()
        let runner = TestRunner(plan: ResultAndDeterminismTests.plans()[index], start: .seconds(1_700_000_000))
        let straight = runner.run(events)
        for split in [1, events.count / 3, events.count - 1] {
            let replayed = try runner.runWithCheckpoint(events, split: split, codec: FastPathJSONCodec())
            #expect(replayed.encodedOutput == straight.encodedOutput, "split \(split)")
        }
        let session = TestSession(plan: ResultAndDeterminismTests.plans()[index], start: .seconds(1_700_000_000))
        session.feed(contentsOf: events.prefix(500))
        let entries = try session.snapshot(codec: FastPathJSONCodec())
        #expect(!entries.isEmpty)
        #expect(entries.allSatisfy { $0.value.first != UInt8(ascii: "{") && $0.key?.first != UInt8(ascii: "\"") })
    }

    /// A process function whose state adopts the fast path, and one whose state is only
    /// `Codable` (the fallback), both survive a checkpoint.
    @Test func processFunctionsCheckpointWithAndWithoutTheFastPath() throws {
        let events = arrivingAtZero(["a@0", "b@1", "a@3", "b@8", "a@12", "b@20", "a@25", "c@26", "a@40"].map(parse))
        let fast = Pipeline("proc").input(Reading.self).keyBy(\.device).eventTime(\.ts)
            .process(CountAfterDelay()).plan(input: Reading.self)
        let runner = TestRunner(plan: fast)
        let straight = runner.run(events)
        for split in 0...events.count {
            #expect(try runner.runWithCheckpoint(events, split: split, codec: FastPathJSONCodec()).outputs == straight.outputs)
        }
        // Total (the operator state) is Codable only: its row goes through the codec, the
        // per-key rows (Int state) through the fast path.
        let session = TestSession(plan: fast)
        session.feed(contentsOf: events.prefix(4))
        let entries = try session.snapshot(codec: FastPathJSONCodec())
        #expect(entries.first { $0.key == nil }?.value.first == UInt8(ascii: "{"))
        #expect(entries.filter { $0.key != nil }.allSatisfy { $0.value.first != UInt8(ascii: "{") })
    }
}

@Suite("Slot-addressed snapshot batches")
struct StateSnapshotBatchTests {
    /// Collects batches into entries (key bytes from the batches' new keys), for comparison
    /// with `snapshotState(dirtyOnly:)`.
    private func entries(
        _ batches: [StateSnapshotBatch], keys: inout [String: [[UInt8]]]
    ) -> [StateEntry] {
        var result: [StateEntry] = []
        for batch in batches {
            if let state = batch.operatorState {
                result.append(StateEntry(operatorID: batch.operatorID, key: nil, value: state))
            }
            keys[batch.operatorID, default: []] += batch.keys
            #expect(keys[batch.operatorID]!.count == batch.slotCount)
            #expect(zip(batch.slots, batch.slots.dropFirst()).allSatisfy { $0 < $1 })
            for i in batch.slots.indices {
                result.append(
                    StateEntry(
                        operatorID: batch.operatorID, key: keys[batch.operatorID]![Int(batch.slots[i])],
                        value: batch.value(at: i)))
            }
        }
        return result
    }

    /// Round by round, a batch holds exactly the dirty entries' bytes (new keys included), for
    /// every window kind, with and without the fast path.
    @Test(arguments: 0..<4, [false, true])
    func windowBatchesHoldTheDirtyEntries(_ index: Int, _ fastPath: Bool) throws {
        let events = ResultAndDeterminismTests.syntheticEvents()
        let session = TestSession(plan: ResultAndDeterminismTests.plans()[index], start: .seconds(1_700_000_000))
        try check(session, events, steps: [1, 7, 60, 0, 300, events.count], fastPath: fastPath)
    }

    /// The same for a process function (operator state and per-key state).
    @Test(arguments: [false, true])
    func processBatchesHoldTheDirtyEntries(_ fastPath: Bool) throws {
        let events = arrivingAtZero(["a@0", "b@1", "a@3", "b@8", "a@12", "b@20", "a@25", "c@26", "a@40"].map(parse))
        let plan = Pipeline("proc").input(Reading.self).keyBy(\.device).eventTime(\.ts)
            .process(CountAfterDelay()).plan(input: Reading.self)
        try check(TestSession(plan: plan), events, steps: [1, 0, 2, 3, 9], fastPath: fastPath)
    }

    private func check<I, O>(
        _ session: TestSession<I, O>, _ events: [TimedEvent<I>], steps: [Int], fastPath: Bool
    ) throws {
        let codec: any StateCodec = fastPath ? FastPathJSONCodec() : JSONStateCodec()
        var keys: [String: [[UInt8]]] = [:]
        var fed = 0
        for step in steps {
            let next = min(events.count, fed + step)
            session.feed(contentsOf: events[fed..<next])
            fed = next
            let expected = try session.instance.snapshotState(codec: codec, dirtyOnly: true)
            let batches = try session.instance.snapshotChangedState(codec: codec) { keys[$0]?.count ?? 0 }
            session.instance.markStateClean()
            #expect(entries(batches, keys: &keys) == expected, "after \(fed) events")
        }
    }
}
