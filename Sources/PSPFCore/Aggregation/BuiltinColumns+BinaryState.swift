// The checkpoint fast path (BinaryStateCodable) of the built-in accumulators. Each layout is
// documented next to its code; docs/checkpoints.md §3 has the overview.

/// `int` (zigzag varint), `sum` (8 bytes).
extension SumAccumulator: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {
        writer.write(int)
        writer.write(double)
    }

    public init(from reader: inout BinaryStateReader) throws {
        self.init()
        int = try reader.readInt64()
        double = try reader.readDouble()
    }
}

/// `sum` (8 bytes), `count` (zigzag varint).
extension AverageAccumulator: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {
        writer.write(sum)
        writer.write(count)
    }

    public init(from reader: inout BinaryStateReader) throws {
        self.init()
        sum = try reader.readDouble()
        count = try reader.readInt64()
    }
}

/// A flags byte saying which field still holds its start value (`Int64.max`/`.min`,
/// `±infinity`: a min/max column over doubles never touches `int`, and vice versa), then the
/// fields that do not, then `count`. 3–11 bytes instead of 19.
extension ExtremumAccumulator: BinaryStateCodable {
    private enum Flag {
        static let intMax: UInt8 = 1
        static let intMin: UInt8 = 2
        static let doublePlusInfinity: UInt8 = 4
        static let doubleMinusInfinity: UInt8 = 8
        static let all: UInt8 = 15
    }

    public func write(to writer: inout BinaryStateWriter) {
        var flags: UInt8 = 0
        if int == .max { flags |= Flag.intMax } else if int == .min { flags |= Flag.intMin }
        if double == .infinity {
            flags |= Flag.doublePlusInfinity
        } else if double == -.infinity {
            flags |= Flag.doubleMinusInfinity
        }
        writer.writeByte(flags)
        if flags & (Flag.intMax | Flag.intMin) == 0 { writer.write(int) }
        if flags & (Flag.doublePlusInfinity | Flag.doubleMinusInfinity) == 0 { writer.write(double) }
        writer.write(count)
    }

    public init(from reader: inout BinaryStateReader) throws {
        let flags = try reader.readByte()
        guard flags & ~Flag.all == 0, flags & 3 != 3, flags & 12 != 12 else {
            throw reader.corrupt("invalid min/max accumulator flags \(flags)")
        }
        let int: Int64 =
            if flags & Flag.intMax != 0 { .max } else if flags & Flag.intMin != 0 { .min } else { try reader.readInt64() }
        let double: Double =
            if flags & Flag.doublePlusInfinity != 0 {
                .infinity
            } else if flags & Flag.doubleMinusInfinity != 0 {
                -.infinity
            } else {
                try reader.readDouble()
            }
        self.init(int: int, double: double, count: try reader.readInt64())
    }
}

/// A flags byte (`present`; `time` at `Int64.max`/`.min`, the start values of `first`/`last`),
/// `time` unless it is one of those, then the value.
extension PickAccumulator: BinaryStateCodable {
    private enum Flag {
        static let present: UInt8 = 1
        static let timeMax: UInt8 = 2
        static let timeMin: UInt8 = 4
        static let all: UInt8 = 7
    }

    public func write(to writer: inout BinaryStateWriter) {
        var flags: UInt8 = present ? Flag.present : 0
        if time == .max { flags |= Flag.timeMax } else if time == .min { flags |= Flag.timeMin }
        writer.writeByte(flags)
        if flags & (Flag.timeMax | Flag.timeMin) == 0 { writer.write(time) }
        value.write(to: &writer)
    }

    public init(from reader: inout BinaryStateReader) throws {
        let flags = try reader.readByte()
        guard flags & ~Flag.all == 0, flags & 6 != 6 else { throw reader.corrupt("invalid first/last accumulator flags \(flags)") }
        let time: Int64 =
            if flags & Flag.timeMax != 0 { .max } else if flags & Flag.timeMin != 0 { .min } else { try reader.readInt64() }
        self.init(time: time, value: try AggregateValue(from: &reader), present: flags & Flag.present != 0)
    }
}

/// `count` (zigzag varint), `mean`, `m2` (8 bytes each).
extension WelfordAccumulator: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {
        writer.write(count)
        writer.write(mean)
        writer.write(m2)
    }

    public init(from reader: inout BinaryStateReader) throws {
        self.init()
        count = try reader.readInt64()
        mean = try reader.readDouble()
        m2 = try reader.readDouble()
    }
}

/// A tag byte (`0` null, `1` int, `2` double, `3` string, `4` false, `5` true), then the payload.
extension AggregateValue: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {
        switch self {
        case .null: writer.writeByte(0)
        case .int(let v):
            writer.writeByte(1)
            writer.write(v)
        case .double(let v):
            writer.writeByte(2)
            writer.write(v)
        case .string(let v):
            writer.writeByte(3)
            writer.write(v)
        case .bool(let v): writer.writeByte(v ? 5 : 4)
        }
    }

    public init(from reader: inout BinaryStateReader) throws {
        switch try reader.readByte() {
        case 0: self = .null
        case 1: self = .int(try reader.readInt64())
        case 2: self = .double(try reader.readDouble())
        case 3: self = .string(try reader.readString())
        case 4: self = .bool(false)
        case 5: self = .bool(true)
        case let tag: throw reader.corrupt("unknown aggregate value tag \(tag)")
        }
    }
}

/// `first`, then `second` (nothing of its own).
extension ColumnPairAccumulator: BinaryStateWritable where A: BinaryStateWritable, B: BinaryStateWritable {
    public func write(to writer: inout BinaryStateWriter) {
        first.write(to: &writer)
        second.write(to: &writer)
    }
}

extension ColumnPairAccumulator: BinaryStateReadable where A: BinaryStateReadable, B: BinaryStateReadable {
    public init(from reader: inout BinaryStateReader) throws {
        let first = try A(from: &reader)
        self.init(first: first, second: try B(from: &reader))
    }
}
