import PSPFCore
import PSPFStorage
import PSPFTesting
import Testing

@Suite("BinaryStateCodec")
struct BinaryStateCodecTests {
    struct Inner: Codable, Hashable {
        var a: Int64
        var b: Double?
        var c: [Int32]
    }

    enum Shape: Codable, Hashable {
        case point
        case circle(radius: Double)
        case labelled(String, Int)
    }

    struct Empty: Codable, Hashable {}

    struct DictionaryFirst: Codable, Hashable {
        var table: [String: [Int64]]
        var after: Empty
        var last: Int8
    }

    struct Everything: Codable, Hashable {
        var bool = true
        var int = -42
        var int8: Int8 = -8
        var int16: Int16 = 1600
        var int32: Int32 = -32
        var int64: Int64 = .min
        var uint: UInt = 7
        var uint8: UInt8 = 255
        var uint16: UInt16 = 65535
        var uint32: UInt32 = .max
        var uint64: UInt64 = .max
        var float: Float = 1.5
        var double: Double = -.infinity
        var string = "dév-0042 ✓"
        var empty = ""
        var optionalPresent: Int? = 3
        var optionalAbsent: String? = nil
        var nestedOptional: Inner? = Inner(a: 1, b: nil, c: [])
        var inner = Inner(a: .max, b: 2.25, c: [1, -2, 3])
        var inners: [Inner] = [Inner(a: 0, b: 0, c: [0]), Inner(a: -1, b: nil, c: [])]
        var shapes: [Shape] = [.point, .circle(radius: 2), .labelled("x", 9)]
        var byName: [String: Int] = ["a": 1, "bb": 2, "": 3]
        var byNumber: [Int: String] = [1: "one", -5: "minus five"]
        var bySet: Set<String> = ["x", "y"]
        var bytes: [UInt8] = [0, 1, 255]
        var optionals: [Int?] = [1, nil, 3]
        var timestamp = Timestamp(milliseconds: 1_732_406_400_123)
        var values: [AggregateValue] = [.null, .int(-1), .double(2.5), .string("s"), .bool(true)]
        var nothing = Empty()
        var nothings = [Empty(), Empty()]
        var dictionaryFirst = DictionaryFirst(table: ["x": [1, 2], "y": []], after: Empty(), last: -1)
        var afterEmpty: Int64 = 99
    }

    @Test func roundTripsEveryKindOfValue() throws {
        let codec = BinaryStateCodec()
        let value = Everything()
        let bytes = try codec.encode(value)
        #expect(try codec.decode(Everything.self, from: bytes) == value)
    }

    @Test(arguments: [Int64.min, -1, 0, 1, 63, 64, -64, -65, 1_732_406_400_000, .max])
    func integersRoundTrip(_ value: Int64) throws {
        let codec = BinaryStateCodec()
        #expect(try codec.decode(Int64.self, from: codec.encode(value)) == value)
        #expect(try codec.decode(Int64?.self, from: codec.encode(Optional(value))) == value)
    }

    @Test func isCompact() throws {
        let codec = BinaryStateCodec()
        // tag + zigzag varint: a millisecond timestamp in 7 bytes, a small count in 2.
        #expect(try codec.encode(Int64(1_732_406_400_000)).count == 7)
        #expect(try codec.encode(Int64(3)).count == 2)
        #expect(try codec.encode("dev-0042").count == 10)
        #expect(try codec.encode(Optional<Int>.none) == [0])
    }

    @Test func mismatchesThrowInsteadOfMisreading() throws {
        let codec = BinaryStateCodec()
        let bytes = try codec.encode(Inner(a: 1, b: 2, c: [3]))
        #expect(throws: DecodingError.self) { try codec.decode(Everything.self, from: bytes) }
        #expect(throws: DecodingError.self) { try codec.decode(String.self, from: bytes) }
        #expect(throws: DecodingError.self) { try codec.decode(Inner.self, from: Array(bytes.dropLast())) }
        #expect(throws: DecodingError.self) { try codec.decode(Inner.self, from: bytes + [0]) }
        #expect(throws: DecodingError.self) { try codec.decode(Int8.self, from: codec.encode(Int64(300))) }
    }

    /// The engine's own state (windows of every kind, sketches, first/last with enum values)
    /// survives a checkpoint through the binary codec exactly as through JSON.
    @Test(arguments: [3, 17, 40])
    func engineSnapshotsRoundTrip(split: Int) throws {
        struct Reading: Codable, Sendable {
            var device: String
            var ts: Int64
            var temp: Double
        }
        let plan = Pipeline("codec").input(Reading.self)
            .keyBy(\.device)
            .eventTime({ Timestamp(milliseconds: $0.ts) }, outOfOrderness: .milliseconds(5))
            .window(.session(gap: .milliseconds(20)))
            .aggregate(count(), avg(\.temp), first(\.temp), last(\.device), percentile(\.temp, 0.9), stddev(\.temp))
            .plan(input: Reading.self)
        var events: [TimedEvent<Reading>] = []
        for i in 0..<60 {
            let ts = Int64(i * 7 % 50 + i)
            events.append(
                TimedEvent(Reading(device: "d\(i % 3)", ts: ts, temp: Double(i) * 0.5), at: .milliseconds(ts)))
        }
        let runner = TestRunner(plan: plan)
        let straight = runner.run(events)
        let viaBinary = try runner.runWithCheckpoint(events, split: split, codec: BinaryStateCodec())
        #expect(viaBinary.encodedLines == straight.encodedLines)
        #expect(!straight.outputs.isEmpty)
    }

    /// Format 2: the engine's state takes its hand-rolled encoding through this codec; the
    /// configuration pipeline's accumulator (`DynamicColumns`) included.
    @Test(arguments: [5, 29])
    func dynamicColumnSnapshotsTakeTheFastPath(split: Int) throws {
        struct Row: Sendable {
            var device: String
            var ts: Int64
            var value: Double
        }
        #expect(BinaryStateCodec.formatVersion == 2)
        #expect(BinaryStateCodec().prefersBinaryState)
        let columns = DynamicColumns<Row>([
            .count(),
            DynamicColumn(name: "sum", function: .sum, reader: .number { $0.value }),
            DynamicColumn(name: "min", function: .min, reader: .integer { Int64($0.value) }),
            DynamicColumn(name: "first", function: .first, reader: .value { .string($0.device) }),
            DynamicColumn(name: "sd", function: .stddev(population: false), reader: .number { $0.value }),
            DynamicColumn(name: "p90", function: .percentile(0.9), reader: .number { $0.value }),
        ])
        let plan = Pipeline("dynamic").input(Row.self)
            .keyBy(\.device)
            .eventTime({ Timestamp(milliseconds: $0.ts) }, outOfOrderness: .milliseconds(5))
            .window(.tumbling(.milliseconds(25)))
            .aggregate(RowAggregator(columns))
            .plan(input: Row.self)
        var events: [TimedEvent<Row>] = []
        for i in 0..<60 {
            let ts = Int64(i * 3 + i % 4)
            events.append(TimedEvent(Row(device: "d\(i % 4)", ts: ts, value: Double(i) * 1.5 - 20), at: .milliseconds(ts)))
        }
        let runner = TestRunner(plan: plan)
        let straight = runner.run(events)
        let viaBinary = try runner.runWithCheckpoint(events, split: split, codec: BinaryStateCodec())
        #expect(viaBinary.encodedLines == straight.encodedLines)

        let session = TestSession(plan: plan)
        session.feed(contentsOf: events.prefix(split))
        let binary = try session.snapshot(codec: BinaryStateCodec())
        let codable = try session.snapshot(codec: CodableOnly())
        #expect(binary.count == codable.count)
        // The key is a bare length-prefixed string (no tag), the state smaller than format 1's.
        #expect(binary.allSatisfy { $0.key?.count == 3 && $0.key?.first == 2 && $0.key?[1] == UInt8(ascii: "d") })
        let fastBytes: Int = binary.reduce(0) { $0 + $1.value.count }
        let codableBytes: Int = codable.reduce(0) { $0 + $1.value.count }
        #expect(fastBytes * 3 < codableBytes * 2)
    }

    /// `BinaryStateCodec` as format 1 used it: everything through `Codable`.
    struct CodableOnly: StateCodec {
        let codec = BinaryStateCodec()
        func encode<T: Encodable>(_ value: T) throws -> [UInt8] { try codec.encode(value) }
        func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T { try codec.decode(type, from: bytes) }
    }
}
