// Aggregate columns chosen at run time (from a configuration file) rather than at compile time.
//
// The typed API composes columns with `ColumnPair`, which needs the column list in the type.
// A configuration names its columns in a list, so `DynamicColumns` keeps a runtime array of
// columns and one accumulator of fixed shape: one array per accumulator kind (counts, sums,
// Welford states, sketches, …). Each column owns one index in its kind's array, so adding an
// element mutates the arrays in place and allocates nothing. The arithmetic is not repeated
// here: every column delegates to the built-in column type (`Sum`, `Average`, `Extremum`,
// `Pick`, `Dispersion`, `Percentile`) instantiated over the bare value, so a dynamic column
// produces bit-for-bit what the typed one produces for the same inputs.

/// One column of a ``DynamicColumns`` aggregator: a name, a function and how to read the
/// function's input from an element.
///
/// ```swift
/// let columns = DynamicColumns<Row>([
///     .count(),
///     DynamicColumn(name: "avg_temp", function: .avg, reader: .number { $0.temp }),
///     DynamicColumn(name: "p95_temp", function: .percentile(0.95), reader: .number { $0.temp }),
/// ])
/// windowed.aggregate(RowAggregator(columns))   // Stream<WindowResult<Key, AggregateRow>>
/// ```
///
/// A reader that returns `nil` (or `.null`) for an element skips that element for this column
/// only, as SQL aggregates skip nulls; the window's `count` still counts it.
public struct DynamicColumn<Input>: Sendable {
    /// What the column computes. Results are those of the typed built-ins (`count()`, `sum`,
    /// `avg`, `min`, `max`, `first`, `last`, `stddev`, `variance`, `percentile`).
    public enum Function: Sendable, Hashable, CustomStringConvertible {
        /// With ``Reader/none``: the number of elements; with a reader: the number of elements
        /// whose value is not null.
        case count
        case sum
        case avg
        case min
        case max
        case first
        case last
        case stddev(population: Bool)
        case variance(population: Bool)
        /// A quantile in `0...1` estimated with a ``DDSketch``.
        case percentile(Double, relativeAccuracy: Double)

        /// `percentile(q)` with the default relative accuracy of 1 %.
        public static func percentile(_ q: Double) -> Function { .percentile(q, relativeAccuracy: 0.01) }

        public var description: String {
            switch self {
            case .count: "count"
            case .sum: "sum"
            case .avg: "avg"
            case .min: "min"
            case .max: "max"
            case .first: "first"
            case .last: "last"
            case let .stddev(population): population ? "stddev(population)" : "stddev"
            case let .variance(population): population ? "variance(population)" : "variance"
            case let .percentile(q, accuracy): "percentile(\(q), accuracy: \(accuracy))"
            }
        }
    }

    /// How the column reads its input from an element.
    public enum Reader: Sendable {
        /// No input: only for ``Function/count`` (the element count).
        case none
        /// A number; `nil` skips the element.
        case number(@Sendable (Input) -> Double?)
        /// An integer: `sum`, `min` and `max` then produce `.int` (exact, saturating), like the
        /// typed built-ins over integer fields. Other functions convert it to `Double`.
        case integer(@Sendable (Input) -> Int64?)
        /// Any value, for `first`/`last` (and `count` of non-null values); `.null` skips the element.
        case value(@Sendable (Input) -> AggregateValue)
    }

    public var name: String
    public let function: Function
    public let reader: Reader

    /// A column. Preconditions (programming errors, like the typed API's): `count` is the only
    /// function without a reader; `first`/`last` need a `.value` reader, the others a `.number`
    /// or `.integer` one (or `.value`, read as a number); a percentile's quantile is in `0...1`.
    public init(name: String, function: Function, reader: Reader) {
        switch (function, reader) {
        case (.count, _): break
        case (_, .none): preconditionFailure("aggregate column '\(name)': \(function) needs an input")
        case (.first, .value), (.last, .value): break
        case (.first, _), (.last, _): preconditionFailure("aggregate column '\(name)': \(function) needs a .value reader")
        case let (.percentile(q, accuracy), _):
            precondition((0...1).contains(q), "aggregate column '\(name)': quantile must be in 0...1, got \(q)")
            precondition(accuracy > 0 && accuracy < 1, "aggregate column '\(name)': relative accuracy must be in (0, 1)")
        default: break
        }
        self.name = name
        self.function = function
        self.reader = reader
    }

    /// The element count, column `count` by default.
    public static func count(as name: String = "count") -> DynamicColumn {
        DynamicColumn(name: name, function: .count, reader: .none)
    }

    /// Whether this column is the element count (which may use the reserved name `count`).
    var isElementCount: Bool {
        if case .count = function, case .none = reader { return true }
        return false
    }
}

/// The accumulator of a ``DynamicColumns`` aggregator: one array per accumulator kind, each
/// column owning one index. `Codable`, so open windows checkpoint like any other.
public struct DynamicColumnsAccumulator: Codable, Sendable, Hashable {
    public var counts: [Int64] = []
    public var sums: [SumAccumulator] = []
    public var averages: [AverageAccumulator] = []
    public var extrema: [ExtremumAccumulator] = []
    public var picks: [PickAccumulator] = []
    public var dispersions: [WelfordAccumulator] = []
    public var sketches: [DDSketch] = []

    public init() {}
}

/// A list of aggregate columns decided at run time: wrap it in ``RowAggregator`` to aggregate
/// a window into an ``AggregateRow``, exactly like `aggregate(c1, c2, …)` does with typed columns.
///
/// Per element, each column costs one call of its reader and the built-in column's `add`; the
/// accumulator arrays are mutated in place, so nothing is allocated (except inside a percentile
/// sketch whose range grows, as with the typed `percentile`).
public struct DynamicColumns<Input>: ColumnList {
    public typealias Accumulator = DynamicColumnsAccumulator
    public typealias Output = [AggregateValue]

    /// The columns, in output order.
    public let columns: [DynamicColumn<Input>]
    private let kernels: [Kernel]
    private let empty: DynamicColumnsAccumulator

    /// The built-in column each dynamic column delegates to, over the bare value, with the
    /// index of its accumulator in the kind's array.
    private enum Kernel: Sendable {
        case elementCount(Int)
        case countValues(Int, @Sendable (Input) -> Bool)
        case sumDouble(Sum<Double, Double>, Int, @Sendable (Input) -> Double?)
        case sumInteger(Sum<Int64, Int64>, Int, @Sendable (Input) -> Int64?)
        case average(Average<Double, Double>, Int, @Sendable (Input) -> Double?)
        case extremumDouble(Extremum<Double, Double>, Int, @Sendable (Input) -> Double?)
        case extremumInteger(Extremum<Int64, Int64>, Int, @Sendable (Input) -> Int64?)
        case pick(Pick<AggregateValue, AggregateValue>, Int, @Sendable (Input) -> AggregateValue)
        case dispersion(Dispersion<Double, Double>, Int, @Sendable (Input) -> Double?)
        case percentile(Percentile<Double, Double>, Int, @Sendable (Input) -> Double?)
    }

    public init(_ columns: [DynamicColumn<Input>]) {
        self.columns = columns
        var empty = DynamicColumnsAccumulator()
        var kernels: [Kernel] = []
        kernels.reserveCapacity(columns.count)
        for column in columns {
            let number = Self.numberReader(column.reader)
            switch column.function {
            case .count:
                if column.isElementCount {
                    kernels.append(.elementCount(empty.counts.count))
                } else {
                    kernels.append(.countValues(empty.counts.count, Self.presenceReader(column.reader)))
                }
                empty.counts.append(0)
            case .sum:
                if case let .integer(read) = column.reader {
                    let sum = Sum(FieldReader(\Int64.self), name: column.name)
                    kernels.append(.sumInteger(sum, empty.sums.count, read))
                    empty.sums.append(sum.initial())
                } else {
                    let sum = Sum(FieldReader(\Double.self), name: column.name)
                    kernels.append(.sumDouble(sum, empty.sums.count, number))
                    empty.sums.append(sum.initial())
                }
            case .avg:
                let average = Average(FieldReader(\Double.self), name: column.name)
                kernels.append(.average(average, empty.averages.count, number))
                empty.averages.append(average.initial())
            case .min, .max:
                let isMax = column.function == .max
                if case let .integer(read) = column.reader {
                    let extremum = Extremum(FieldReader(\Int64.self), max: isMax, name: column.name)
                    kernels.append(.extremumInteger(extremum, empty.extrema.count, read))
                    empty.extrema.append(extremum.initial())
                } else {
                    let extremum = Extremum(FieldReader(\Double.self), max: isMax, name: column.name)
                    kernels.append(.extremumDouble(extremum, empty.extrema.count, number))
                    empty.extrema.append(extremum.initial())
                }
            case .first, .last:
                guard case let .value(read) = column.reader else { preconditionFailure("checked in DynamicColumn.init") }
                let pick = Pick(FieldReader(\AggregateValue.self), last: column.function == .last, name: column.name)
                kernels.append(.pick(pick, empty.picks.count, read))
                empty.picks.append(pick.initial())
            case let .stddev(population), let .variance(population):
                let isStandardDeviation = if case .stddev = column.function { true } else { false }
                let dispersion = Dispersion(
                    FieldReader(\Double.self), standardDeviation: isStandardDeviation, population: population,
                    name: column.name)
                kernels.append(.dispersion(dispersion, empty.dispersions.count, number))
                empty.dispersions.append(dispersion.initial())
            case let .percentile(q, accuracy):
                let percentile = Percentile(
                    FieldReader(\Double.self), quantile: q, relativeAccuracy: accuracy, name: column.name)
                kernels.append(.percentile(percentile, empty.sketches.count, number))
                empty.sketches.append(percentile.initial())
            }
        }
        self.kernels = kernels
        self.empty = empty
    }

    private static func numberReader(_ reader: DynamicColumn<Input>.Reader) -> @Sendable (Input) -> Double? {
        switch reader {
        case .none: { _ in nil }
        case let .number(read): read
        case let .integer(read): { read($0).map(Double.init) }
        case let .value(read): { read($0).doubleValue }
        }
    }

    private static func presenceReader(_ reader: DynamicColumn<Input>.Reader) -> @Sendable (Input) -> Bool {
        switch reader {
        case .none: { _ in true }
        case let .number(read): { read($0) != nil }
        case let .integer(read): { read($0) != nil }
        case let .value(read): { !read($0).isNull }
        }
    }

    public var columnNames: [String] { columns.map(\.name) }
    public var elementCountColumns: [String] { columns.filter(\.isElementCount).map(\.name) }

    public func initial() -> DynamicColumnsAccumulator { empty }

    public func add(_ accumulator: inout DynamicColumnsAccumulator, _ input: Input) {
        add(&accumulator, input, time: nil)
    }

    public func add(_ accumulator: inout DynamicColumnsAccumulator, _ input: Input, at time: Timestamp) {
        add(&accumulator, input, time: time)
    }

    @inline(__always)
    private func add(_ accumulator: inout DynamicColumnsAccumulator, _ input: Input, time: Timestamp?) {
        for kernel in kernels {
            switch kernel {
            case let .elementCount(i):
                accumulator.counts[i] &+= 1
            case let .countValues(i, present):
                if present(input) { accumulator.counts[i] &+= 1 }
            case let .sumDouble(column, i, read):
                if let v = read(input) { column.add(&accumulator.sums[i], v) }
            case let .sumInteger(column, i, read):
                if let v = read(input) { column.add(&accumulator.sums[i], v) }
            case let .average(column, i, read):
                if let v = read(input) { column.add(&accumulator.averages[i], v) }
            case let .extremumDouble(column, i, read):
                if let v = read(input) { column.add(&accumulator.extrema[i], v) }
            case let .extremumInteger(column, i, read):
                if let v = read(input) { column.add(&accumulator.extrema[i], v) }
            case let .pick(column, i, read):
                let v = read(input)
                if v.isNull { continue }
                if let time { column.add(&accumulator.picks[i], v, at: time) } else { column.add(&accumulator.picks[i], v) }
            case let .dispersion(column, i, read):
                if let v = read(input) { column.add(&accumulator.dispersions[i], v) }
            case let .percentile(column, i, read):
                if let v = read(input) { column.add(&accumulator.sketches[i], v) }
            }
        }
    }

    public func merge(_ accumulator: inout DynamicColumnsAccumulator, _ other: DynamicColumnsAccumulator) {
        for kernel in kernels {
            switch kernel {
            case let .elementCount(i), let .countValues(i, _):
                accumulator.counts[i] &+= other.counts[i]
            case let .sumDouble(column, i, _): column.merge(&accumulator.sums[i], other.sums[i])
            case let .sumInteger(column, i, _): column.merge(&accumulator.sums[i], other.sums[i])
            case let .average(column, i, _): column.merge(&accumulator.averages[i], other.averages[i])
            case let .extremumDouble(column, i, _): column.merge(&accumulator.extrema[i], other.extrema[i])
            case let .extremumInteger(column, i, _): column.merge(&accumulator.extrema[i], other.extrema[i])
            case let .pick(column, i, _): column.merge(&accumulator.picks[i], other.picks[i])
            case let .dispersion(column, i, _): column.merge(&accumulator.dispersions[i], other.dispersions[i])
            case let .percentile(column, i, _): column.merge(&accumulator.sketches[i], other.sketches[i])
            }
        }
    }

    public func result(_ accumulator: DynamicColumnsAccumulator) -> [AggregateValue] {
        var values: [AggregateValue] = []
        values.reserveCapacity(kernels.count)
        appendValues(accumulator, to: &values)
        return values
    }

    public func appendValues(_ accumulator: DynamicColumnsAccumulator, to values: inout [AggregateValue]) {
        for kernel in kernels {
            switch kernel {
            case let .elementCount(i), let .countValues(i, _): values.append(.int(accumulator.counts[i]))
            case let .sumDouble(column, i, _): values.append(column.result(accumulator.sums[i]))
            case let .sumInteger(column, i, _): values.append(column.result(accumulator.sums[i]))
            case let .average(column, i, _): values.append(column.result(accumulator.averages[i]))
            case let .extremumDouble(column, i, _): values.append(column.result(accumulator.extrema[i]))
            case let .extremumInteger(column, i, _): values.append(column.result(accumulator.extrema[i]))
            case let .pick(column, i, _): values.append(column.result(accumulator.picks[i]))
            case let .dispersion(column, i, _): values.append(column.result(accumulator.dispersions[i]))
            case let .percentile(column, i, _): values.append(column.result(accumulator.sketches[i]))
            }
        }
    }
}
