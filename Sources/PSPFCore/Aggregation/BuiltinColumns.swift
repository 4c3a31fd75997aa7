// The built-in aggregate columns. Each is a small value type conforming to `AggregateColumn`, so
// `aggregate(count(), avg(\.temp))` specialises into straight-line code with inline
// accumulators (no allocation per element, no existentials).

// MARK: count

/// The number of elements in the window. Column `count`.
public struct Count<Input>: AggregateColumn {
    public var name: String
    public init(name: String = "count") { self.name = name }
    public var elementCountColumns: [String] { [name] }
    public func initial() -> Int64 { 0 }
    public func add(_ accumulator: inout Int64, _ input: Input) { accumulator &+= 1 }
    public func merge(_ accumulator: inout Int64, _ other: Int64) { accumulator &+= other }
    public func result(_ accumulator: Int64) -> AggregateValue { .int(accumulator) }
}

/// The number of elements in the window (column `count`).
public func count<T>(as name: String = "count") -> Count<T> { Count(name: name) }

// MARK: sum

public struct SumAccumulator: Codable, Sendable, Hashable {
    public var int: Int64 = 0
    public var double: Double = 0
    public init() {}
}

/// The sum of a numeric field: `.int` for integer fields (saturating at `Int64`'s range),
/// `.double` otherwise. Column `sum_<field>`.
public struct Sum<Input, Value: AggregatableNumber>: AggregateColumn {
    public var name: String
    public let field: FieldReader<Input, Value>
    public init(_ field: FieldReader<Input, Value>, name: String? = nil) {
        self.field = field
        self.name = name ?? "sum_\(field.fieldName)"
    }
    public func initial() -> SumAccumulator { SumAccumulator() }
    public func add(_ accumulator: inout SumAccumulator, _ input: Input) {
        let v = field.read(input)
        if Value.isIntegral {
            let (s, o) = accumulator.int.addingReportingOverflow(v.aggregateInt64)
            accumulator.int = o ? (v.aggregateInt64 < 0 ? .min : .max) : s
        } else {
            accumulator.double += v.aggregateDouble
        }
    }
    public func merge(_ accumulator: inout SumAccumulator, _ other: SumAccumulator) {
        let (s, o) = accumulator.int.addingReportingOverflow(other.int)
        accumulator.int = o ? (other.int < 0 ? .min : .max) : s
        accumulator.double += other.double
    }
    public func result(_ accumulator: SumAccumulator) -> AggregateValue {
        Value.isIntegral ? .int(accumulator.int) : .double(accumulator.double)
    }
}

/// The sum of a numeric field (column `sum_<field>`).
public func sum<T, V: AggregatableNumber>(_ field: any KeyPath<T, V> & Sendable, as name: String? = nil) -> Sum<T, V> {
    Sum(FieldReader(field), name: name)
}

// MARK: avg

public struct AverageAccumulator: Codable, Sendable, Hashable {
    public var sum: Double = 0
    public var count: Int64 = 0
    public init() {}
}

/// The arithmetic mean of a numeric field as `.double`. Column `avg_<field>`.
public struct Average<Input, Value: AggregatableNumber>: AggregateColumn {
    public var name: String
    public let field: FieldReader<Input, Value>
    public init(_ field: FieldReader<Input, Value>, name: String? = nil) {
        self.field = field
        self.name = name ?? "avg_\(field.fieldName)"
    }
    public func initial() -> AverageAccumulator { AverageAccumulator() }
    public func add(_ accumulator: inout AverageAccumulator, _ input: Input) {
        accumulator.sum += field.read(input).aggregateDouble
        accumulator.count &+= 1
    }
    public func merge(_ accumulator: inout AverageAccumulator, _ other: AverageAccumulator) {
        accumulator.sum += other.sum
        accumulator.count &+= other.count
    }
    public func result(_ accumulator: AverageAccumulator) -> AggregateValue {
        accumulator.count == 0 ? .null : .double(accumulator.sum / Double(accumulator.count))
    }
}

/// The mean of a numeric field (column `avg_<field>`).
public func avg<T, V: AggregatableNumber>(_ field: any KeyPath<T, V> & Sendable, as name: String? = nil) -> Average<T, V> {
    Average(FieldReader(field), name: name)
}

// MARK: min / max

public struct ExtremumAccumulator: Codable, Sendable, Hashable {
    public var int: Int64
    public var double: Double
    public var count: Int64 = 0
}

/// The smallest or largest value of a numeric field (`.int` for integer fields). Columns
/// `min_<field>` / `max_<field>`. NaNs are ignored.
public struct Extremum<Input, Value: AggregatableNumber>: AggregateColumn {
    public var name: String
    public let field: FieldReader<Input, Value>
    public let isMax: Bool
    public init(_ field: FieldReader<Input, Value>, max isMax: Bool, name: String? = nil) {
        self.field = field
        self.isMax = isMax
        self.name = name ?? "\(isMax ? "max" : "min")_\(field.fieldName)"
    }
    public func initial() -> ExtremumAccumulator {
        isMax ? ExtremumAccumulator(int: .min, double: -.infinity) : ExtremumAccumulator(int: .max, double: .infinity)
    }
    public func add(_ accumulator: inout ExtremumAccumulator, _ input: Input) {
        let v = field.read(input)
        if Value.isIntegral {
            let i = v.aggregateInt64
            accumulator.int = isMax ? Swift.max(accumulator.int, i) : Swift.min(accumulator.int, i)
        } else {
            let d = v.aggregateDouble
            if d.isNaN { return }
            accumulator.double = isMax ? Swift.max(accumulator.double, d) : Swift.min(accumulator.double, d)
        }
        accumulator.count &+= 1
    }
    public func merge(_ accumulator: inout ExtremumAccumulator, _ other: ExtremumAccumulator) {
        guard other.count > 0 else { return }
        accumulator.int = isMax ? Swift.max(accumulator.int, other.int) : Swift.min(accumulator.int, other.int)
        accumulator.double = isMax ? Swift.max(accumulator.double, other.double) : Swift.min(accumulator.double, other.double)
        accumulator.count &+= other.count
    }
    public func result(_ accumulator: ExtremumAccumulator) -> AggregateValue {
        guard accumulator.count > 0 else { return .null }
        return Value.isIntegral ? .int(accumulator.int) : .double(accumulator.double)
    }
}

/// The smallest value of a numeric field (column `min_<field>`).
public func min<T, V: AggregatableNumber>(_ field: any KeyPath<T, V> & Sendable, as name: String? = nil) -> Extremum<T, V> {
    Extremum(FieldReader(field), max: false, name: name)
}

/// The largest value of a numeric field (column `max_<field>`).
public func max<T, V: AggregatableNumber>(_ field: any KeyPath<T, V> & Sendable, as name: String? = nil) -> Extremum<T, V> {
    Extremum(FieldReader(field), max: true, name: name)
}

// MARK: first / last

public struct PickAccumulator: Codable, Sendable, Hashable {
    public var time: Int64
    public var value: AggregateValue = .null
    public var present = false
}

/// The field's value at the earliest (`first`) or latest (`last`) timestamp in the window.
/// Ties go to the earlier-arriving element for `first` and the later-arriving one for `last`;
/// when sessions merge, ties go to the earlier session for `first`, the later for `last`.
/// Columns `first_<field>` / `last_<field>`.
public struct Pick<Input, Value: AggregateValueConvertible>: AggregateColumn {
    public var name: String
    public let field: FieldReader<Input, Value>
    public let isLast: Bool
    public init(_ field: FieldReader<Input, Value>, last isLast: Bool, name: String? = nil) {
        self.field = field
        self.isLast = isLast
        self.name = name ?? "\(isLast ? "last" : "first")_\(field.fieldName)"
    }
    public func initial() -> PickAccumulator { PickAccumulator(time: isLast ? .min : .max) }
    /// Without a timestamp, `first` keeps the first element added and `last` the last.
    public func add(_ accumulator: inout PickAccumulator, _ input: Input) {
        if isLast || !accumulator.present {
            accumulator.value = field.read(input).aggregateValue
            accumulator.present = true
        }
    }
    public func add(_ accumulator: inout PickAccumulator, _ input: Input, at time: Timestamp) {
        let t = time.milliseconds
        if !accumulator.present || (isLast ? t >= accumulator.time : t < accumulator.time) {
            accumulator.time = t
            accumulator.value = field.read(input).aggregateValue
            accumulator.present = true
        }
    }
    public func merge(_ accumulator: inout PickAccumulator, _ other: PickAccumulator) {
        guard other.present else { return }
        if !accumulator.present || (isLast ? other.time >= accumulator.time : other.time < accumulator.time) {
            accumulator = other
        }
    }
    public func result(_ accumulator: PickAccumulator) -> AggregateValue { accumulator.value }
}

/// The field's value at the window's earliest timestamp (column `first_<field>`).
public func first<T, V: AggregateValueConvertible>(_ field: any KeyPath<T, V> & Sendable, as name: String? = nil) -> Pick<T, V> {
    Pick(FieldReader(field), last: false, name: name)
}

/// The field's value at the window's latest timestamp (column `last_<field>`).
public func last<T, V: AggregateValueConvertible>(_ field: any KeyPath<T, V> & Sendable, as name: String? = nil) -> Pick<T, V> {
    Pick(FieldReader(field), last: true, name: name)
}

// MARK: variance / stddev

/// Welford's running mean and sum of squared deviations, mergeable with Chan et al.'s formula.
public struct WelfordAccumulator: Codable, Sendable, Hashable {
    public var count: Int64 = 0
    public var mean: Double = 0
    public var m2: Double = 0

    public init() {}


    public mutating func add(_ x: Double) {
        count &+= 1
        let delta = x - mean
        mean += delta / Double(count)
        m2 += delta * (x - mean)
    }


    public mutating func merge(_ other: WelfordAccumulator) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        let n = count + other.count
        let delta = other.mean - mean
        mean += delta * Double(other.count) / Double(n)
        m2 += other.m2 + delta * delta * Double(count) * Double(other.count) / Double(n)
        count = n
    }

    /// Sample (`n − 1`) or population (`n`) variance; `nil` when undefined.
    public func variance(population: Bool) -> Double? {
        if population { return count > 0 ? Swift.max(0, m2 / Double(count)) : nil }
        return count > 1 ? Swift.max(0, m2 / Double(count - 1)) : nil
    }
}

/// Variance or standard deviation of a numeric field (sample by default, i.e. divided by
/// `n − 1`; `null` for fewer than 2 elements, or 1 with `population: true`). NaNs are ignored.
/// Columns `variance_<field>` / `stddev_<field>`.
public struct Dispersion<Input, Value: AggregatableNumber>: AggregateColumn {
    public var name: String
    public let field: FieldReader<Input, Value>
    public let isStandardDeviation: Bool
    public let population: Bool
    public init(_ field: FieldReader<Input, Value>, standardDeviation: Bool, population: Bool = false, name: String? = nil) {
        self.field = field
        self.isStandardDeviation = standardDeviation
        self.population = population
        self.name = name ?? "\(standardDeviation ? "stddev" : "variance")_\(field.fieldName)"
    }
    public func initial() -> WelfordAccumulator { WelfordAccumulator() }
    public func add(_ accumulator: inout WelfordAccumulator, _ input: Input) {
        let d = field.read(input).aggregateDouble
        if !d.isNaN { accumulator.add(d) }
    }
    public func merge(_ accumulator: inout WelfordAccumulator, _ other: WelfordAccumulator) { accumulator.merge(other) }
    public func result(_ accumulator: WelfordAccumulator) -> AggregateValue {
        guard let v = accumulator.variance(population: population) else { return .null }
        return .double(isStandardDeviation ? v.squareRoot() : v)
    }
}

/// Standard deviation of a numeric field (column `stddev_<field>`).
public func stddev<T, V: AggregatableNumber>(
    _ field: any KeyPath<T, V> & Sendable, population: Bool = false, as name: String? = nil
) -> Dispersion<T, V> {
    Dispersion(FieldReader(field), standardDeviation: true, population: population, name: name)
}

/// Variance of a numeric field (column `variance_<field>`).
public func variance<T, V: AggregatableNumber>(
    _ field: any KeyPath<T, V> & Sendable, population: Bool = false, as name: String? = nil
) -> Dispersion<T, V> {
    Dispersion(FieldReader(field), standardDeviation: false, population: population, name: name)
}

// MARK: percentile

/// A quantile of a numeric field estimated with a ``DDSketch``: the result `v̂` satisfies
/// `|v̂ − v| ≤ relativeAccuracy · |v|` where `v` is the exact element of rank `⌊q·(n−1)⌋`.
/// Column `p<100·q>_<field>`, e.g. `p99_temp`, `p99_9_temp`, `p50_temp`.
public struct Percentile<Input, Value: AggregatableNumber>: AggregateColumn {
    public var name: String
    public let field: FieldReader<Input, Value>
    public let quantile: Double
    public let relativeAccuracy: Double
    public let maxBuckets: Int
    public init(
        _ field: FieldReader<Input, Value>, quantile: Double, relativeAccuracy: Double = 0.01, maxBuckets: Int = 2048,
        name: String? = nil
    ) {
        precondition((0...1).contains(quantile), "percentile quantile must be in 0...1, got \(quantile)")
        self.field = field
        self.quantile = quantile
        self.relativeAccuracy = relativeAccuracy
        self.maxBuckets = maxBuckets
        self.name = name ?? "\(Self.label(quantile))_\(field.fieldName)"
    }
    static func label(_ q: Double) -> String {
        let p = (q * 100 * 10_000).rounded() / 10_000
        if p == p.rounded() { return "p\(Int(p))" }
        return "p" + String(p).replacingPeriods()
    }
    public func initial() -> DDSketch { DDSketch(relativeAccuracy: relativeAccuracy, maxBuckets: maxBuckets) }
    public func add(_ accumulator: inout DDSketch, _ input: Input) { accumulator.add(field.read(input).aggregateDouble) }
    public func merge(_ accumulator: inout DDSketch, _ other: DDSketch) { accumulator.merge(other) }
    public func result(_ accumulator: DDSketch) -> AggregateValue {
        accumulator.quantile(quantile).map { .double($0) } ?? .null
    }
}

extension String {
    fileprivate func replacingPeriods() -> String { String(map { $0 == "." ? "_" : $0 }) }
}

/// A quantile (`0...1`) of a numeric field with bounded relative error (column `p99_<field>`
/// for `0.99`).
public func percentile<T, V: AggregatableNumber>(
    _ field: any KeyPath<T, V> & Sendable, _ quantile: Double, relativeAccuracy: Double = 0.01, as name: String? = nil
) -> Percentile<T, V> {
    Percentile(FieldReader(field), quantile: quantile, relativeAccuracy: relativeAccuracy, name: name)
}
