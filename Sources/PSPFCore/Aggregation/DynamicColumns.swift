// Aggregate columns chosen at run time (from a configuration file) rather than at compile time.
//
// The typed API composes columns with `ColumnPair`, which needs the column list in the type.
// A configuration names its columns in a list, so `DynamicColumns` keeps a runtime array of
// columns and an accumulator that is one array of cells, one per column, each holding that
// column's built-in accumulator (`SumAccumulator`, `WelfordAccumulator`, `DDSketch`, …). Adding
// an element updates the cells in place and allocates nothing. The arithmetic is not repeated
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
            case .stddev(let population): population ? "stddev(population)" : "stddev"
            case .variance(let population): population ? "variance(population)" : "variance"
            case .percentile(let q, let accuracy): "percentile(\(q), accuracy: \(accuracy))"
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
        /// Like ``number(_:)``, read by one function shared by many columns, given each column's
        /// slot: `.numberAt(3) { row, slot in row.values[slot] }`. A function that captures
        /// nothing costs no reference counting per call, unlike a closure per column.
        case numberAt(Int, @Sendable (Input, Int) -> Double?)
        /// Like ``integer(_:)``, by slot.
        case integerAt(Int, @Sendable (Input, Int) -> Int64?)
        /// Like ``value(_:)``, by slot.
        case valueAt(Int, @Sendable (Input, Int) -> AggregateValue)
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
        case (.first, .value), (.last, .value), (.first, .valueAt), (.last, .valueAt): break
        case (.first, _), (.last, _):
            preconditionFailure("aggregate column '\(name)': \(function) needs a .value reader")
        case (.percentile(let q, let accuracy), _):
            precondition((0...1).contains(q), "aggregate column '\(name)': quantile must be in 0...1, got \(q)")
            precondition(
                accuracy > 0 && accuracy < 1, "aggregate column '\(name)': relative accuracy must be in (0, 1)")
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

/// A value as the input of a built-in column: `FieldReader(\Bare<Double>.value)` reads it at
/// offset 0 (an identity key path would fall back to slow key-path application).
struct Bare<Value>: Sendable where Value: Sendable {
    var value: Value
    @inline(__always) init(_ value: Value) { self.value = value }
}

extension DynamicColumn.Reader {
    /// The slot argument of a by-slot reader (0 otherwise).
    var slot: Int {
        switch self {
        case .numberAt(let slot, _), .integerAt(let slot, _), .valueAt(let slot, _): slot
        default: 0
        }
    }
}

/// The accumulator of a ``DynamicColumns`` aggregator: one cell per column, holding that
/// column's built-in accumulator. `Codable`, so open windows checkpoint like any other.
public struct DynamicColumnsAccumulator: Codable, Sendable, Hashable {
    public var cells: [Cell]

    public init(cells: [Cell] = []) { self.cells = cells }

    /// One column's accumulator.
    public enum Cell: Codable, Sendable, Hashable {
        case count(Int64)
        case sum(SumAccumulator)
        case average(AverageAccumulator)
        case extremum(ExtremumAccumulator)
        case pick(PickAccumulator)
        case dispersion(WelfordAccumulator)
        case sketch(DDSketch)
    }
}

/// A list of aggregate columns decided at run time: wrap it in ``RowAggregator`` to aggregate
/// a window into an ``AggregateRow``, exactly like `aggregate(c1, c2, …)` does with typed columns.
///
/// Per element, each column costs one call of its reader and the built-in column's `add` on its
/// cell of the accumulator, in place: nothing is allocated (except inside a percentile sketch
/// whose range grows, as with the typed `percentile`). The per-column plan is a trivial struct
/// of indices, so walking it does no reference counting.
public struct DynamicColumns<Input>: ColumnList {
    public typealias Accumulator = DynamicColumnsAccumulator
    public typealias Output = [AggregateValue]

    /// The columns, in output order.
    public let columns: [DynamicColumn<Input>]
    private let kernels: [Kernel]
    private let empty: DynamicColumnsAccumulator

    // The built-in columns each dynamic column delegates to, over the bare value, by kind.
    private let sumDoubles: [Sum<Bare<Double>, Double>]
    private let sumIntegers: [Sum<Bare<Int64>, Int64>]
    private let averages: [Average<Bare<Double>, Double>]
    private let extremumDoubles: [Extremum<Bare<Double>, Double>]
    private let extremumIntegers: [Extremum<Bare<Int64>, Int64>]
    private let picks: [Pick<Bare<AggregateValue>, AggregateValue>]
    private let dispersions: [Dispersion<Bare<Double>, Double>]
    private let percentiles: [Percentile<Bare<Double>, Double>]
    // The readers, by result type.
    private let numberReaders: [@Sendable (Input, Int) -> Double?]
    private let integerReaders: [@Sendable (Input, Int) -> Int64?]
    private let valueReaders: [@Sendable (Input, Int) -> AggregateValue]
    private let presenceReaders: [@Sendable (Input, Int) -> Bool]

    private enum Kind: Sendable {
        case elementCount, countValues, sumDouble, sumInteger, average, extremumDouble, extremumInteger, pick
        case dispersion, percentile
    }

    /// One column's plan: its kind, its cell in the accumulator, its built-in column's index in
    /// the kind's array, its reader's index and the reader's slot argument.
    private struct Kernel: Sendable {
        var kind: Kind
        var accumulator: Int
        var column: Int
        var reader: Int
        var slot = 0
    }

    public init(_ columns: [DynamicColumn<Input>]) {
        self.columns = columns
        var empty = DynamicColumnsAccumulator()
        var kernels: [Kernel] = []
        var sumDoubles: [Sum<Bare<Double>, Double>] = []
        var sumIntegers: [Sum<Bare<Int64>, Int64>] = []
        var averages: [Average<Bare<Double>, Double>] = []
        var extremumDoubles: [Extremum<Bare<Double>, Double>] = []
        var extremumIntegers: [Extremum<Bare<Int64>, Int64>] = []
        var picks: [Pick<Bare<AggregateValue>, AggregateValue>] = []
        var dispersions: [Dispersion<Bare<Double>, Double>] = []
        var percentiles: [Percentile<Bare<Double>, Double>] = []
        var numberReaders: [@Sendable (Input, Int) -> Double?] = []
        var integerReaders: [@Sendable (Input, Int) -> Int64?] = []
        var valueReaders: [@Sendable (Input, Int) -> AggregateValue] = []
        var presenceReaders: [@Sendable (Input, Int) -> Bool] = []

        func number(_ reader: DynamicColumn<Input>.Reader) -> Int {
            numberReaders.append(Self.numberReader(reader))
            return numberReaders.count - 1
        }
        func integer(_ reader: DynamicColumn<Input>.Reader) -> Int? {
            switch reader {
            case .integer(let read): integerReaders.append { input, _ in read(input) }
            case .integerAt(_, let read): integerReaders.append(read)
            default: return nil
            }
            return integerReaders.count - 1
        }

        for column in columns {
            let kernel: Kernel
            switch column.function {
            case .count:
                if column.isElementCount {
                    kernel = Kernel(kind: .elementCount, accumulator: empty.cells.count, column: 0, reader: 0)
                } else {
                    presenceReaders.append(Self.presenceReader(column.reader))
                    kernel = Kernel(
                        kind: .countValues, accumulator: empty.cells.count, column: 0, reader: presenceReaders.count - 1
                    )
                }
                empty.cells.append(.count(0))
            case .sum:
                if let reader = integer(column.reader) {
                    let sum = Sum(FieldReader(\Bare<Int64>.value), name: column.name)
                    kernel = Kernel(
                        kind: .sumInteger, accumulator: empty.cells.count, column: sumIntegers.count, reader: reader)
                    sumIntegers.append(sum)
                    empty.cells.append(.sum(sum.initial()))
                } else {
                    let sum = Sum(FieldReader(\Bare<Double>.value), name: column.name)
                    kernel = Kernel(
                        kind: .sumDouble, accumulator: empty.cells.count, column: sumDoubles.count,
                        reader: number(column.reader))
                    sumDoubles.append(sum)
                    empty.cells.append(.sum(sum.initial()))
                }
            case .avg:
                let average = Average(FieldReader(\Bare<Double>.value), name: column.name)
                kernel = Kernel(
                    kind: .average, accumulator: empty.cells.count, column: averages.count,
                    reader: number(column.reader))
                averages.append(average)
                empty.cells.append(.average(average.initial()))
            case .min, .max:
                let isMax = column.function == .max
                if let reader = integer(column.reader) {
                    let extremum = Extremum(FieldReader(\Bare<Int64>.value), max: isMax, name: column.name)
                    kernel = Kernel(
                        kind: .extremumInteger, accumulator: empty.cells.count, column: extremumIntegers.count,
                        reader: reader)
                    extremumIntegers.append(extremum)
                    empty.cells.append(.extremum(extremum.initial()))
                } else {
                    let extremum = Extremum(FieldReader(\Bare<Double>.value), max: isMax, name: column.name)
                    kernel = Kernel(
                        kind: .extremumDouble, accumulator: empty.cells.count, column: extremumDoubles.count,
                        reader: number(column.reader))
                    extremumDoubles.append(extremum)
                    empty.cells.append(.extremum(extremum.initial()))
                }
            case .first, .last:
                switch column.reader {
                case .value(let read): valueReaders.append { input, _ in read(input) }
                case .valueAt(_, let read): valueReaders.append(read)
                default: preconditionFailure("checked in DynamicColumn.init")
                }
                let pick = Pick(
                    FieldReader(\Bare<AggregateValue>.value), last: column.function == .last, name: column.name)
                kernel = Kernel(
                    kind: .pick, accumulator: empty.cells.count, column: picks.count, reader: valueReaders.count - 1)
                picks.append(pick)
                empty.cells.append(.pick(pick.initial()))
            case .stddev(let population), .variance(let population):
                let isStandardDeviation = if case .stddev = column.function { true } else { false }
                let dispersion = Dispersion(
                    FieldReader(\Bare<Double>.value), standardDeviation: isStandardDeviation, population: population,
                    name: column.name)
                kernel = Kernel(
                    kind: .dispersion, accumulator: empty.cells.count, column: dispersions.count,
                    reader: number(column.reader))
                dispersions.append(dispersion)
                empty.cells.append(.dispersion(dispersion.initial()))
            case .percentile(let q, let accuracy):
                let percentile = Percentile(
                    FieldReader(\Bare<Double>.value), quantile: q, relativeAccuracy: accuracy, name: column.name)
                kernel = Kernel(
                    kind: .percentile, accumulator: empty.cells.count, column: percentiles.count,
                    reader: number(column.reader))
                percentiles.append(percentile)
                empty.cells.append(.sketch(percentile.initial()))
            }
            var planned = kernel
            planned.slot = column.reader.slot
            kernels.append(planned)
        }
        self.kernels = kernels
        self.empty = empty
        self.sumDoubles = sumDoubles
        self.sumIntegers = sumIntegers
        self.averages = averages
        self.extremumDoubles = extremumDoubles
        self.extremumIntegers = extremumIntegers
        self.picks = picks
        self.dispersions = dispersions
        self.percentiles = percentiles
        self.numberReaders = numberReaders
        self.integerReaders = integerReaders
        self.valueReaders = valueReaders
        self.presenceReaders = presenceReaders
    }

    private static func numberReader(_ reader: DynamicColumn<Input>.Reader) -> @Sendable (Input, Int) -> Double? {
        switch reader {
        case .none: { _, _ in nil }
        case .number(let read): { input, _ in read(input) }
        case .integer(let read): { input, _ in read(input).map(Double.init) }
        case .value(let read): { input, _ in read(input).doubleValue }
        case .numberAt(_, let read): read
        case .integerAt(_, let read): { read($0, $1).map(Double.init) }
        case .valueAt(_, let read): { read($0, $1).doubleValue }
        }
    }

    private static func presenceReader(_ reader: DynamicColumn<Input>.Reader) -> @Sendable (Input, Int) -> Bool {
        switch reader {
        case .none: { _, _ in true }
        case .number(let read): { input, _ in read(input) != nil }
        case .integer(let read): { input, _ in read(input) != nil }
        case .value(let read): { input, _ in !read(input).isNull }
        case .numberAt(_, let read): { read($0, $1) != nil }
        case .integerAt(_, let read): { read($0, $1) != nil }
        case .valueAt(_, let read): { !read($0, $1).isNull }
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
        // Each cell is taken out (leaving a placeholder, so the payload stays uniquely referenced
        // and a sketch's buckets are not copied), updated by the built-in column, and put back.
        for k in kernels {
            let a = k.accumulator
            switch k.kind {
            case .elementCount:
                if case .count(let n) = accumulator.cells[a] { accumulator.cells[a] = .count(n &+ 1) }
            case .countValues:
                if presenceReaders[k.reader](input, k.slot), case .count(let n) = accumulator.cells[a] {
                    accumulator.cells[a] = .count(n &+ 1)
                }
            case .sumDouble:
                if let v = numberReaders[k.reader](input, k.slot), case .sum(var s) = accumulator.cells[a] {
                    sumDoubles[k.column].add(&s, Bare(v))
                    accumulator.cells[a] = .sum(s)
                }
            case .sumInteger:
                if let v = integerReaders[k.reader](input, k.slot), case .sum(var s) = accumulator.cells[a] {
                    sumIntegers[k.column].add(&s, Bare(v))
                    accumulator.cells[a] = .sum(s)
                }
            case .average:
                if let v = numberReaders[k.reader](input, k.slot), case .average(var s) = accumulator.cells[a] {
                    averages[k.column].add(&s, Bare(v))
                    accumulator.cells[a] = .average(s)
                }
            case .extremumDouble:
                if let v = numberReaders[k.reader](input, k.slot), case .extremum(var s) = accumulator.cells[a] {
                    extremumDoubles[k.column].add(&s, Bare(v))
                    accumulator.cells[a] = .extremum(s)
                }
            case .extremumInteger:
                if let v = integerReaders[k.reader](input, k.slot), case .extremum(var s) = accumulator.cells[a] {
                    extremumIntegers[k.column].add(&s, Bare(v))
                    accumulator.cells[a] = .extremum(s)
                }
            case .pick:
                let v = valueReaders[k.reader](input, k.slot)
                guard !v.isNull, case .pick(var s) = accumulator.cells[a] else { continue }
                accumulator.cells[a] = .count(0)
                if let time { picks[k.column].add(&s, Bare(v), at: time) } else { picks[k.column].add(&s, Bare(v)) }
                accumulator.cells[a] = .pick(s)
            case .dispersion:
                if let v = numberReaders[k.reader](input, k.slot), case .dispersion(var s) = accumulator.cells[a] {
                    dispersions[k.column].add(&s, Bare(v))
                    accumulator.cells[a] = .dispersion(s)
                }
            case .percentile:
                if let v = numberReaders[k.reader](input, k.slot), case .sketch(var s) = accumulator.cells[a] {
                    accumulator.cells[a] = .count(0)
                    percentiles[k.column].add(&s, Bare(v))
                    accumulator.cells[a] = .sketch(s)
                }
            }
        }
    }

    public func merge(_ accumulator: inout DynamicColumnsAccumulator, _ other: DynamicColumnsAccumulator) {
        for k in kernels {
            let a = k.accumulator
            let cell = accumulator.cells[a]
            accumulator.cells[a] = .count(0)
            switch (k.kind, cell, other.cells[a]) {
            case (.elementCount, .count(let x), .count(let y)), (.countValues, .count(let x), .count(let y)):
                accumulator.cells[a] = .count(x &+ y)
            case (.sumDouble, .sum(var x), .sum(let y)):
                sumDoubles[k.column].merge(&x, y)
                accumulator.cells[a] = .sum(x)
            case (.sumInteger, .sum(var x), .sum(let y)):
                sumIntegers[k.column].merge(&x, y)
                accumulator.cells[a] = .sum(x)
            case (.average, .average(var x), .average(let y)):
                averages[k.column].merge(&x, y)
                accumulator.cells[a] = .average(x)
            case (.extremumDouble, .extremum(var x), .extremum(let y)):
                extremumDoubles[k.column].merge(&x, y)
                accumulator.cells[a] = .extremum(x)
            case (.extremumInteger, .extremum(var x), .extremum(let y)):
                extremumIntegers[k.column].merge(&x, y)
                accumulator.cells[a] = .extremum(x)
            case (.pick, .pick(var x), .pick(let y)):
                picks[k.column].merge(&x, y)
                accumulator.cells[a] = .pick(x)
            case (.dispersion, .dispersion(var x), .dispersion(let y)):
                dispersions[k.column].merge(&x, y)
                accumulator.cells[a] = .dispersion(x)
            case (.percentile, .sketch(var x), .sketch(let y)):
                percentiles[k.column].merge(&x, y)
                accumulator.cells[a] = .sketch(x)
            default:
                preconditionFailure("dynamic column accumulator of the wrong shape (cell \(a))")
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
        for k in kernels {
            switch (k.kind, accumulator.cells[k.accumulator]) {
            case (.elementCount, .count(let n)), (.countValues, .count(let n)): values.append(.int(n))
            case (.sumDouble, .sum(let x)): values.append(sumDoubles[k.column].result(x))
            case (.sumInteger, .sum(let x)): values.append(sumIntegers[k.column].result(x))
            case (.average, .average(let x)): values.append(averages[k.column].result(x))
            case (.extremumDouble, .extremum(let x)): values.append(extremumDoubles[k.column].result(x))
            case (.extremumInteger, .extremum(let x)): values.append(extremumIntegers[k.column].result(x))
            case (.pick, .pick(let x)): values.append(picks[k.column].result(x))
            case (.dispersion, .dispersion(let x)): values.append(dispersions[k.column].result(x))
            case (.percentile, .sketch(let x)): values.append(percentiles[k.column].result(x))
            default: preconditionFailure("dynamic column accumulator of the wrong shape (cell \(k.accumulator))")
            }
        }
    }
}
