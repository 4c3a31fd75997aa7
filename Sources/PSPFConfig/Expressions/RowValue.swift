import PSPFCore

/// One value of a dynamic row: a decoded payload field or a computed field.
enum RowValue: Sendable, Hashable {
    /// Missing or JSON `null` (or a non-value: every operator treats it as null).
    case null
    case bool(Bool)
    /// A JSON number (IEEE double).
    case number(Double)
    /// A number of a field the schema declares `integer`: kept exact for `sum`/`min`/`max`.
    case integer(Int64)
    case string(String)
    /// A JSON object or array: present (so `exists` is true) but not a value.
    case composite

    /// The value as a number (integers converted), else `nil`.
    @inline(__always) var number: Double? {
        switch self {
        case .number(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }

    /// `null` or a composite: what `??`, `coalesce` and the aggregates skip.
    @inline(__always) var isNullish: Bool {
        switch self {
        case .null, .composite: true
        default: false
        }
    }

    /// Only `true` is true; null counts as false.
    @inline(__always) var isTrue: Bool {
        if case .bool(true) = self { return true }
        return false
    }

    var aggregateValue: AggregateValue {
        switch self {
        case .null, .composite: .null
        case .bool(let b): .bool(b)
        case .number(let v): .double(v)
        case .integer(let v): .int(v)
        case .string(let s): .string(s)
        }
    }
}

/// A decoded record as the configured pipeline sees it: the fields it references, in slots
/// resolved when the pipeline is built (payload fields first, then computed fields), plus the
/// key and the event time.
struct ConfigRow {
    var values: [RowValue]
    var key: String = ""
    var time = Timestamp(milliseconds: 0)

    init(slots: Int) {
        values = Array(repeating: .null, count: slots)
    }
}
