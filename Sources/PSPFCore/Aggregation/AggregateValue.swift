import PSPFJSON

/// One aggregate column's value.
public enum AggregateValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)

    /// The value as a `Double` (ints converted), or `nil` for null, strings and bools.
    public var doubleValue: Double? {
        switch self {
        case let .int(v): Double(v)
        case let .double(v): v
        default: nil
        }
    }

    /// The value as an `Int64` if it is an int (or an integral double), else `nil`.
    public var intValue: Int64? {
        switch self {
        case let .int(v): v
        case let .double(v) where v.rounded() == v && abs(v) < 9.2e18: Int64(v)
        default: nil
        }
    }

    public var isNull: Bool { if case .null = self { true } else { false } }

    public var description: String {
        switch self {
        case .null: "null"
        case let .int(v): String(v)
        case let .double(v): String(v)
        case let .string(v): String(reflecting: v)
        case let .bool(v): String(v)
        }
    }

    /// Writes the value as one JSON value.
    public func encode(into writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case let .int(v): writer.number(v)
        case let .double(v): writer.number(v)
        case let .string(v): writer.string(v)
        case let .bool(v): writer.bool(v)
        }
    }
}

/// Field types the built-in aggregates (`sum`, `avg`, `min`, `max`, `stddev`, `variance`,
/// `percentile`) read. Integers aggregate exactly in `Int64` where the result is an integer
/// (`sum`, `min`, `max`); everything else goes through `Double`.
public protocol AggregatableNumber: Sendable {
    /// Whether the type is an integer type (then `sum`, `min` and `max` produce `.int`).
    static var isIntegral: Bool { get }
    var aggregateDouble: Double { get }
    /// Clamped to `Int64`'s range.
    var aggregateInt64: Int64 { get }
}

extension AggregatableNumber where Self: BinaryInteger {
    public static var isIntegral: Bool { true }
    public var aggregateDouble: Double { Double(self) }
    public var aggregateInt64: Int64 { Int64(clamping: self) }
}

extension AggregatableNumber where Self: BinaryFloatingPoint {
    public static var isIntegral: Bool { false }
    public var aggregateDouble: Double { Double(self) }
    public var aggregateInt64: Int64 {
        let d = Double(self)
        if d.isNaN { return 0 }
        if d >= 9.223372036854775e18 { return .max }
        if d <= -9.223372036854775e18 { return .min }
        return Int64(d)
    }
}

extension Int: AggregatableNumber {}
extension Int8: AggregatableNumber {}
extension Int16: AggregatableNumber {}
extension Int32: AggregatableNumber {}
extension Int64: AggregatableNumber {}
extension UInt: AggregatableNumber {}
extension UInt8: AggregatableNumber {}
extension UInt16: AggregatableNumber {}
extension UInt32: AggregatableNumber {}
extension UInt64: AggregatableNumber {}
extension Double: AggregatableNumber {}
extension Float: AggregatableNumber {}

/// Field types `first` and `last` can report.
public protocol AggregateValueConvertible: Sendable {
    var aggregateValue: AggregateValue { get }
}

extension AggregateValueConvertible where Self: BinaryInteger {
    public var aggregateValue: AggregateValue { .int(Int64(clamping: self)) }
}

extension Int: AggregateValueConvertible {}
extension Int8: AggregateValueConvertible {}
extension Int16: AggregateValueConvertible {}
extension Int32: AggregateValueConvertible {}
extension Int64: AggregateValueConvertible {}
extension UInt: AggregateValueConvertible {}
extension UInt8: AggregateValueConvertible {}
extension UInt16: AggregateValueConvertible {}
extension UInt32: AggregateValueConvertible {}
extension UInt64: AggregateValueConvertible {}
extension Double: AggregateValueConvertible { public var aggregateValue: AggregateValue { .double(self) } }
extension Float: AggregateValueConvertible { public var aggregateValue: AggregateValue { .double(Double(self)) } }
extension String: AggregateValueConvertible { public var aggregateValue: AggregateValue { .string(self) } }
extension Bool: AggregateValueConvertible { public var aggregateValue: AggregateValue { .bool(self) } }
extension Timestamp: AggregateValueConvertible { public var aggregateValue: AggregateValue { .int(milliseconds) } }
extension AggregateValue: AggregateValueConvertible { public var aggregateValue: AggregateValue { self } }
extension Optional: AggregateValueConvertible where Wrapped: AggregateValueConvertible {
    public var aggregateValue: AggregateValue { self?.aggregateValue ?? .null }
}
