import PSPFCore
import PSPFJSON

/// `pipelines.<name>`: decode → schema → compute/filter → key → window → aggregate → sinks.
public struct PipelineConfig: Sendable, Hashable {
    public var name: String
    /// `source` (required): a name in `sources`.
    public var source: String
    /// `key`: a payload field or a topic segment. Required by a window.
    public var key: KeySelector?
    /// `timestamp`: event time from a field, or processing time (required).
    public var time: TimeSource
    /// `schema`: declared fields in order; `nil` when there is no schema.
    public var schema: [SchemaField]?
    /// `compute`: derived fields, evaluated in order.
    public var compute: [ComputedField] = []
    /// `filter`: records for which it is not `true` are dropped.
    public var filter: Expression?
    /// `window` (required).
    public var window: WindowConfig
    /// `out_of_orderness`, default 0 (event time only).
    public var outOfOrderness: Duration = .zero
    /// `allowed_lateness`, default 0 (event time only).
    public var allowedLateness: Duration = .zero
    /// `idle_timeout`, default none.
    public var idleTimeout: Duration?
    /// `late`: what happens to late records.
    public var late: LatePolicy = .deadLetter
    /// `aggregates`: the result columns after `count`.
    public var aggregates: [AggregateConfig] = []
    /// `sinks` (required): names in `sinks`.
    public var sinks: [String]
    /// Schema fields whose type could not be read (already reported): still declared, so
    /// expressions naming them do not produce a second error.
    var untypedSchemaFields: [JSONFieldPath] = []

    public init(name: String, source: String, time: TimeSource, window: WindowConfig, sinks: [String]) {
        self.name = name
        self.source = source
        self.time = time
        self.window = window
        self.sinks = sinks
    }

    /// One line for `pspf validate`.
    public var summary: String {
        var parts: [String] = ["source \(source)"]
        if let key { parts.append("key \(key)") }
        switch time {
        case .processingTime: parts.append("processing time")
        case .eventTime(let field): parts.append("event time \(field)")
        }
        if filter != nil { parts.append("filtered") }
        parts.append(window.description)
        let columns = ["count"] + aggregates.filter { $0.name != "count" }.map(\.name)
        parts.append(columns.joined(separator: ", "))
        return "pipeline \(name): " + parts.joined(separator: ", ") + " → " + sinks.joined(separator: ", ")
    }
}

/// Where a pipeline's time comes from.
public enum TimeSource: Sendable, Hashable {
    /// `timestamp: {field, format}`.
    case eventTime(TimestampField)
    /// `timestamp: processing_time`.
    case processingTime
}

/// `schema.<field>`: `number`, `integer`, `string` or `boolean`, with `?` for optional.
public struct SchemaField: Sendable, Hashable {
    public enum FieldType: String, Sendable, Hashable, CaseIterable {
        case number, integer, string, boolean
    }
    public var path: JSONFieldPath
    public var type: FieldType
    /// Optional fields may be missing or null; required ones must be present with the type.
    public var optional: Bool

    public init(path: JSONFieldPath, type: FieldType, optional: Bool = false) {
        self.path = path
        self.type = type
        self.optional = optional
    }
}

/// `compute.<name>`.
public struct ComputedField: Sendable, Hashable {
    public var name: String
    public var expression: Expression

    public init(name: String, expression: Expression) {
        self.name = name
        self.expression = expression
    }
}

/// `window`.
public enum WindowConfig: Sendable, Hashable, CustomStringConvertible {
    /// `type: tumbling`, `size`, `offset`.
    case tumbling(size: Duration, offset: Duration)
    /// `type: hopping`, `size`, `slide`, `offset`.
    case hopping(size: Duration, slide: Duration, offset: Duration)
    /// `type: session`, `gap`, `max_length`.
    case session(gap: Duration, maxLength: Duration?)
    /// `type: count`, `size`.
    case count(Int)

    /// The engine's window assigner.
    public var spec: WindowSpec {
        switch self {
        case .tumbling(let size, let offset): .tumbling(size: size, offset: offset)
        case .hopping(let size, let slide, let offset): .hopping(size: size, slide: slide, offset: offset)
        case .session(let gap, let maxLength): .session(gap: gap, maxLength: maxLength)
        case .count(let n): .count(n)
        }
    }

    public var description: String {
        let f = ConfigDuration.format(_:)
        switch self {
        case .tumbling(let size, let offset):
            return "tumbling \(f(size))" + (offset == .zero ? "" : " offset \(f(offset))")
        case .hopping(let size, let slide, let offset):
            return "hopping \(f(size)) every \(f(slide))" + (offset == .zero ? "" : " offset \(f(offset))")
        case .session(let gap, let maxLength):
            return "session gap \(f(gap))" + (maxLength.map { " max \(f($0))" } ?? "")
        case .count(let n): return "count \(n)"
        }
    }
}

/// `late`: `dead_letter` (default: written to the dead-letter log, replayable) or `count`
/// (only counted in metrics and logged).
public enum LatePolicy: String, Sendable, Hashable {
    case deadLetter = "dead_letter"
    case count
}

/// `aggregates[i]`: one result column.
public struct AggregateConfig: Sendable, Hashable {
    public enum Function: Sendable, Hashable {
        case count, sum, avg, min, max, first, last
        case stddev(population: Bool)
        case variance(population: Bool)
        /// `q` in (0, 1), `relative_accuracy` default 0.01.
        case percentile(Double, relativeAccuracy: Double)

        /// The name used in `function:`.
        public var keyword: String {
            switch self {
            case .count: "count"
            case .sum: "sum"
            case .avg: "avg"
            case .min: "min"
            case .max: "max"
            case .first: "first"
            case .last: "last"
            case .stddev: "stddev"
            case .variance: "variance"
            case .percentile: "percentile"
            }
        }

        var isNumeric: Bool {
            switch self {
            case .count, .first, .last: false
            default: true
            }
        }
    }

    /// What the function reads.
    public enum Input: Sendable, Hashable {
        /// Nothing: `count` of elements.
        case none
        /// `field`: a payload field path or a computed field's name.
        case field(String)
        /// `expression`.
        case expression(Expression)
    }

    /// `name`: the result column; defaults like the typed API's (`avg_temp`, `p95_temp`, `count`).
    public var name: String
    public var function: Function
    public var input: Input
    /// The position in the file's `aggregates` list (errors name it), when loaded from a file.
    var sourceIndex: Int?

    public init(name: String, function: Function, input: Input) {
        self.name = name
        self.function = function
        self.input = input
    }

    /// The typed API's default column name: `<function>_<field with dots as underscores>`,
    /// `p95_temp` for percentiles, `count` for the element count.
    static func defaultName(_ function: Function, field: String?) -> String? {
        guard let field else { return function == .count ? "count" : nil }
        let suffix = field.replacingDots()
        switch function {
        case .percentile(let q, _):
            let p = (q * 100 * 10_000).rounded() / 10_000
            let label = p == p.rounded() ? "p\(Int(p))" : "p" + String(p).replacingDots()
            return "\(label)_\(suffix)"
        default:
            return "\(function.keyword)_\(suffix)"
        }
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}
