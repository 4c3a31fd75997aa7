// The checkpoint fast path (BinaryStateCodable) of the configuration pipeline's accumulator.

/// The number of cells, then per cell a tag byte and the built-in accumulator's encoding.
extension DynamicColumnsAccumulator: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {
        writer.writeCount(cells.count)
        for cell in cells { cell.write(to: &writer) }
    }

    public init(from reader: inout BinaryStateReader) throws {
        let n = try reader.readCount()
        var cells: [Cell] = []
        cells.reserveCapacity(n)
        for _ in 0..<n { cells.append(try Cell(from: &reader)) }
        self.init(cells: cells)
    }
}

/// Tags: `0` count, `1` sum, `2` average, `3` min/max, `4` first/last, `5` variance/stddev,
/// `6` percentile sketch.
extension DynamicColumnsAccumulator.Cell: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {
        switch self {
        case .count(let n):
            writer.writeByte(0)
            writer.write(n)
        case .sum(let x):
            writer.writeByte(1)
            x.write(to: &writer)
        case .average(let x):
            writer.writeByte(2)
            x.write(to: &writer)
        case .extremum(let x):
            writer.writeByte(3)
            x.write(to: &writer)
        case .pick(let x):
            writer.writeByte(4)
            x.write(to: &writer)
        case .dispersion(let x):
            writer.writeByte(5)
            x.write(to: &writer)
        case .sketch(let x):
            writer.writeByte(6)
            x.write(to: &writer)
        }
    }

    public init(from reader: inout BinaryStateReader) throws {
        switch try reader.readByte() {
        case 0: self = .count(try reader.readInt64())
        case 1: self = .sum(try SumAccumulator(from: &reader))
        case 2: self = .average(try AverageAccumulator(from: &reader))
        case 3: self = .extremum(try ExtremumAccumulator(from: &reader))
        case 4: self = .pick(try PickAccumulator(from: &reader))
        case 5: self = .dispersion(try WelfordAccumulator(from: &reader))
        case 6: self = .sketch(try DDSketch(from: &reader))
        case let tag: throw reader.corrupt("unknown dynamic column cell tag \(tag)")
        }
    }
}
