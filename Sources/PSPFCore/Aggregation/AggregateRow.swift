import PSPFJSON

/// The value of a window aggregated with named columns, e.g.
/// `.aggregate(count(), avg(\.temp), max(\.temp))` → columns `count`, `avg_temp`, `max_temp`.
public struct AggregateRow: Sendable, Hashable, CustomStringConvertible {
    /// Column names, in the order given to `aggregate`.
    public let names: [String]
    /// Column values, parallel to `names`.
    public var values: [AggregateValue]

    public init(names: [String], values: [AggregateValue]) {
        precondition(names.count == values.count, "AggregateRow needs one value per column")
        self.names = names
        self.values = values
    }

    /// The value of the column `name`, or `nil` if there is no such column.
    public subscript(name: String) -> AggregateValue? {
        guard let i = names.firstIndex(of: name) else { return nil }
        return values[i]
    }

    public var description: String {
        "{" + zip(names, values).map { "\($0): \($1)" }.joined(separator: ", ") + "}"
    }
}

/// One named output column of `aggregate(...)`: a built-in (`count()`, `avg(\.temp)`, …) or
/// your own ``Aggregator`` that produces an ``AggregateValue``.
public protocol AggregateColumn: ColumnList where Output == AggregateValue {
    /// The output column's name.
    var name: String { get set }
}

extension AggregateColumn {
    /// Renames the output column: `avg(\.temp).named("mean")`.
    public func named(_ name: String) -> Self {
        var copy = self
        copy.name = name
        return copy
    }

    public var columnNames: [String] { [name] }
    public var elementCountColumns: [String] { [] }


    public func appendValues(_ accumulator: Accumulator, to values: inout [AggregateValue]) {
        values.append(result(accumulator))
    }
}

/// One or more columns computed together (the building block of `aggregate(a, b, c)`).
public protocol ColumnList: Aggregator {
    var columnNames: [String] { get }
    /// Names of columns that equal the window's element count (`count()`), which may use the
    /// reserved name `count`.
    var elementCountColumns: [String] { get }
    func appendValues(_ accumulator: Accumulator, to values: inout [AggregateValue])
}

/// The accumulator of a ``ColumnPair``.
public struct ColumnPairAccumulator<A: Codable & Sendable, B: Codable & Sendable>: Codable, Sendable {
    public var first: A
    public var second: B
}

/// Two column lists over the same input, side by side.
public struct ColumnPair<A: ColumnList, B: ColumnList>: ColumnList where A.Input == B.Input {
    public let first: A
    public let second: B

    public init(_ first: A, _ second: B) {
        self.first = first
        self.second = second
    }

    public var columnNames: [String] { first.columnNames + second.columnNames }
    public var elementCountColumns: [String] { first.elementCountColumns + second.elementCountColumns }


    public func initial() -> ColumnPairAccumulator<A.Accumulator, B.Accumulator> {
        ColumnPairAccumulator(first: first.initial(), second: second.initial())
    }


    public func add(_ accumulator: inout ColumnPairAccumulator<A.Accumulator, B.Accumulator>, _ input: A.Input) {
        first.add(&accumulator.first, input)
        second.add(&accumulator.second, input)
    }


    public func add(_ accumulator: inout ColumnPairAccumulator<A.Accumulator, B.Accumulator>, _ input: A.Input, at time: Timestamp) {
        first.add(&accumulator.first, input, at: time)
        second.add(&accumulator.second, input, at: time)
    }


    public func merge(
        _ accumulator: inout ColumnPairAccumulator<A.Accumulator, B.Accumulator>,
        _ other: ColumnPairAccumulator<A.Accumulator, B.Accumulator>
    ) {
        first.merge(&accumulator.first, other.first)
        second.merge(&accumulator.second, other.second)
    }

    public func result(_ accumulator: ColumnPairAccumulator<A.Accumulator, B.Accumulator>) -> [AggregateValue] {
        var values: [AggregateValue] = []
        appendValues(accumulator, to: &values)
        return values
    }


    public func appendValues(_ accumulator: ColumnPairAccumulator<A.Accumulator, B.Accumulator>, to values: inout [AggregateValue]) {
        first.appendValues(accumulator.first, to: &values)
        second.appendValues(accumulator.second, to: &values)
    }
}

/// Turns a column list into an aggregator producing ``AggregateRow``s.
public struct RowAggregator<Columns: ColumnList>: Aggregator {
    public let columns: Columns
    public let names: [String]

    /// Names the window result object already uses; columns may not take them.
    public static var reservedNames: Set<String> { ["id", "pipeline", "key", "window_start", "window_end", "window_seq", "count"] }

    public init(_ columns: Columns) {
        self.columns = columns
        self.names = columns.columnNames
        var seen = Set<String>()
        let countColumns = Set(columns.elementCountColumns)
        for name in names {
            precondition(seen.insert(name).inserted, "duplicate aggregate column name '\(name)'; rename one with .named(_:)")
            precondition(
                !Self.reservedNames.contains(name) || (name == "count" && countColumns.contains(name)),
                "aggregate column name '\(name)' is reserved by the result object; rename it with .named(_:)")
        }
    }

    public func initial() -> Columns.Accumulator { columns.initial() }
    public func add(_ accumulator: inout Columns.Accumulator, _ input: Columns.Input) { columns.add(&accumulator, input) }
    public func add(_ accumulator: inout Columns.Accumulator, _ input: Columns.Input, at time: Timestamp) {
        columns.add(&accumulator, input, at: time)
    }
    public func merge(_ accumulator: inout Columns.Accumulator, _ other: Columns.Accumulator) { columns.merge(&accumulator, other) }

    public func result(_ accumulator: Columns.Accumulator) -> AggregateRow {
        var values: [AggregateValue] = []
        values.reserveCapacity(names.count)
        columns.appendValues(accumulator, to: &values)
        return AggregateRow(names: names, values: values)
    }
}
