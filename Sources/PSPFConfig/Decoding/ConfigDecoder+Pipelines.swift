import PSPFJSON

extension ConfigDecoder {
    func decodePipeline(_ name: String, _ m: MappingReader, _ path: String) -> PipelineConfig? {
        let source = m.string("source", required: true, hint: "name one of the sources")
        // An invalid key (reported) becomes a placeholder, so "window without key" is not reported too.
        let key = m.value("key").map { decodeKey($0, m.keyPath("key")) ?? .topic }
        let time = decodeTime(m)
        var untyped: [JSONFieldPath] = []
        let schema = m.mapping("schema", what: "the schema (field: type)").map { decodeSchema($0, untyped: &untyped) }
        var compute: [ComputedField] = []
        if let c = m.mapping("compute", what: "computed fields (name: expression)") {
            for entry in c.presentKeys {
                c.accept(entry.key)
                let fieldPath = c.keyPath(entry.key)
                if !FieldName.isPlainIdentifier(entry.key) {
                    diagnostics.error(
                        .invalidValue, fieldPath, "invalid computed field name '\(entry.key)'",
                        hint: "use letters, digits and '_' (not a keyword), starting with a letter or '_'",
                        node: entry.keyNode)
                }
                if let expression = expression(entry.value, fieldPath) {
                    compute.append(ComputedField(name: entry.key, expression: expression))
                }
            }
            c.finish()
        }
        let filter = m.value("filter").flatMap { expression($0, m.keyPath("filter")) }
        let window = decodeWindow(m)
        let outOfOrderness = m.duration("out_of_orderness", allowZero: true)
        let allowedLateness = m.duration("allowed_lateness", allowZero: true)
        let idleTimeout = m.duration("idle_timeout")
        if case .processingTime = time {
            for key in ["out_of_orderness", "allowed_lateness"] where m.has(key) {
                diagnostics.error(
                    .conflict, m.keyPath(key), "\(key) applies only to event time",
                    hint: "remove it, or read the time from a field: timestamp: {field: ts}", node: m.value(key))
            }
        }
        let late = m.choice("late", ["dead_letter": LatePolicy.deadLetter, "count": .count]) ?? .deadLetter
        var aggregates: [AggregateConfig] = []
        if let items = m.list("aggregates", what: "aggregates") {
            for (index, item) in items.enumerated() {
                if var aggregate = decodeAggregate(item.node, item.path) {
                    aggregate.sourceIndex = index
                    aggregates.append(aggregate)
                }
            }
        }
        var sinks: [String] = []
        if let items = m.stringList("sinks", what: "sink names", required: true) {
            sinks = items.map(\.0)
            if items.isEmpty, let node = m.value("sinks") {
                diagnostics.error(
                    .invalidValue, m.keyPath("sinks"), "a pipeline needs at least one sink",
                    hint: "e.g. sinks: [console]",
                    node: node)
            }
        }
        // Missing parts (already reported) get placeholders, so the rest is still checked.
        var pipeline = PipelineConfig(
            name: name, source: source ?? "", time: time ?? .processingTime, window: window ?? .count(1), sinks: sinks)
        pipeline.key = key
        pipeline.schema = schema
        pipeline.untypedSchemaFields = untyped
        pipeline.compute = compute
        pipeline.filter = filter
        pipeline.outOfOrderness = outOfOrderness ?? .zero
        pipeline.allowedLateness = allowedLateness ?? .zero
        pipeline.idleTimeout = idleTimeout
        pipeline.late = late
        pipeline.aggregates = aggregates
        return pipeline
    }

    /// Parses an expression, reporting a syntax error at its column in the file.
    func expression(_ node: ConfigNode, _ path: String) -> Expression? {
        guard let text = reader.string(node, path) else { return nil }
        do {
            return try Expression(parsing: text)
        } catch {
            diagnostics.error(
                .expressionSyntax, path, error.message, hint: error.hint, node: node, offset: error.offset)
            return nil
        }
    }

    private func decodeTime(_ m: MappingReader) -> TimeSource? {
        let hint = "write timestamp: {field: ts, format: epoch_ms} or timestamp: processing_time"
        guard let node = m.required("timestamp", hint: hint) else { return nil }
        let path = m.keyPath("timestamp")
        if let scalar = node.scalar {
            if scalar.text == "processing_time" { return .processingTime }
            if scalar.isInvalid { return nil }
            diagnostics.error(
                .invalidValue, path, "invalid timestamp '\(scalar.text)'",
                hint: Suggestions.didYouMean(scalar.text, in: ["processing_time"]) ?? hint, node: node)
            return nil
        }
        guard let t = reader.mapping(node, path, what: "the timestamp field") else { return nil }
        return decodeTimestampField(t).map(TimeSource.eventTime)
    }

    private func decodeSchema(_ m: MappingReader, untyped: inout [JSONFieldPath]) -> [SchemaField] {
        var fields: [SchemaField] = []
        let types = SchemaField.FieldType.allCases.map(\.rawValue)
        let aliases = [
            "float": "number", "double": "number", "int": "integer", "long": "integer", "str": "string",
            "text": "string", "bool": "boolean",
        ]
        for entry in m.presentKeys {
            m.accept(entry.key)
            let path = m.keyPath(entry.key)
            guard let scalar = reader.scalar(entry.value, path, expected: "a type (\(types.joined(separator: ", ")))")
            else {
                untyped.append(JSONFieldPath(entry.key))
                continue
            }
            let optional = scalar.text.hasSuffix("?")
            let name = optional ? String(scalar.text.dropLast()) : scalar.text
            guard let type = SchemaField.FieldType(rawValue: name) else {
                diagnostics.error(
                    .invalidValue, path,
                    "unknown type '\(scalar.text)' (expected \(types.joined(separator: ", ")), with '?' for optional)",
                    hint: aliases[name].map { "write \($0)\(optional ? "?" : "")" }
                        ?? Suggestions.didYouMean(name, in: types),
                    node: entry.value)
                untyped.append(JSONFieldPath(entry.key))
                continue
            }
            fields.append(SchemaField(path: JSONFieldPath(entry.key), type: type, optional: optional))
        }
        m.finish()
        return fields
    }

    private func decodeWindow(_ m: MappingReader) -> WindowConfig? {
        guard let w = m.mapping("window", what: "a window", required: true) else { return nil }
        defer { w.finish() }
        let type = w.choice(
            "type", ["tumbling": "tumbling", "hopping": "hopping", "session": "session", "count": "count"],
            required: true)
        if let type {
            w.explainVariants(
                [
                    "tumbling": ["size", "offset"], "hopping": ["size", "slide", "offset"],
                    "session": ["gap", "max_length"],
                    "count": ["size"],
                ], current: type, what: "windows")
        }
        switch type {
        case "tumbling":
            let size = w.duration("size", required: true)
            let offset = w.duration("offset", allowZero: true) ?? .zero
            guard let size else { return nil }
            if offset >= size {
                diagnostics.error(
                    .invalidValue, w.keyPath("offset"), "offset must be less than size", node: w.value("offset"))
            }
            return .tumbling(size: size, offset: offset)
        case "hopping":
            let size = w.duration("size", required: true)
            let slide = w.duration("slide", required: true)
            let offset = w.duration("offset", allowZero: true) ?? .zero
            guard let size, let slide else { return nil }
            if slide > size {
                diagnostics.error(
                    .invalidValue, w.keyPath("slide"), "slide must not exceed size",
                    hint: "windows of 'size' start every 'slide'; for gaps between windows use a filter",
                    node: w.value("slide"))
            }
            if offset >= slide {
                diagnostics.error(
                    .invalidValue, w.keyPath("offset"), "offset must be less than slide", node: w.value("offset"))
            }
            return .hopping(size: size, slide: slide, offset: offset)
        case "session":
            let gap = w.duration("gap", required: true)
            let maxLength = w.duration("max_length")
            guard let gap else { return nil }
            return .session(gap: gap, maxLength: maxLength)
        case "count":
            guard let n = w.int("size", in: 1...1_000_000_000, required: true) else { return nil }
            return .count(n)
        default:
            for key in w.presentKeys.map(\.key) { w.accept(key) }
            return nil
        }
    }

    private func decodeAggregate(_ node: ConfigNode, _ path: String) -> AggregateConfig? {
        guard let m = reader.mapping(node, path, what: "an aggregate ({function, field, name})") else { return nil }
        defer { m.finish() }
        let keyword = m.choice(
            "function",
            [
                "count": "count", "sum": "sum", "avg": "avg", "min": "min", "max": "max", "first": "first",
                "last": "last",
                "stddev": "stddev", "variance": "variance", "percentile": "percentile",
            ], required: true)
        let explicitName = m.string("name")
        let fieldNode = m.value("field")
        let expressionNode = m.value("expression")
        var input: AggregateConfig.Input = .none
        if let fieldNode, expressionNode != nil {
            diagnostics.error(
                .conflict, m.keyPath("field"), "set either 'field' or 'expression', not both", node: fieldNode)
            return nil
        }
        if let fieldNode, let field = reader.string(fieldNode, m.keyPath("field")) {
            input = .field(field)
        } else if let expressionNode, let e = expression(expressionNode, m.keyPath("expression")) {
            input = .expression(e)
        } else if fieldNode != nil || expressionNode != nil {
            return nil
        }
        let function: AggregateConfig.Function
        switch keyword {
        case nil:
            m.accept("q", "relative_accuracy", "population")
            return nil
        case "percentile":
            m.accept("population")
            let q = m.double("q", required: true, hint: "q: 0.95 for the 95th percentile")
            if let q, !(q > 0 && q < 1) {
                diagnostics.error(
                    .invalidValue, m.keyPath("q"), "q must be between 0 and 1 (exclusive), got \(q)",
                    hint: "q: 0.95 is the 95th percentile; use min or max for 0 and 1", node: m.value("q"))
                return nil
            }
            let accuracy = m.double("relative_accuracy") ?? 0.01
            if !(accuracy > 0 && accuracy < 1) {
                diagnostics.error(
                    .invalidValue, m.keyPath("relative_accuracy"),
                    "relative_accuracy must be between 0 and 1 (exclusive)",
                    hint: "0.01 means within 1 % of the exact value", node: m.value("relative_accuracy"))
            }
            guard let q else { return nil }
            function = .percentile(q, relativeAccuracy: accuracy)
        case "stddev", "variance":
            let population = m.bool("population") ?? false
            function = keyword == "stddev" ? .stddev(population: population) : .variance(population: population)
        case "count": function = .count
        case "sum": function = .sum
        case "avg": function = .avg
        case "min": function = .min
        case "max": function = .max
        case "first": function = .first
        default: function = .last
        }
        if case .none = input, function != .count {
            diagnostics.error(
                .missingKey, m.keyPath("field"), "\(function.keyword) needs a 'field' or an 'expression'",
                hint: "e.g. {function: \(function.keyword), field: temp}", node: m.node)
            return nil
        }
        if function == .count, case .expression = input {
            diagnostics.error(
                .invalidValue, m.keyPath("expression"), "count takes a field or nothing",
                hint: "count counts elements; with 'field' it counts non-null values", node: expressionNode)
            return nil
        }
        let fieldName: String? = if case .field(let f) = input { f } else { nil }
        guard let name = explicitName ?? AggregateConfig.defaultName(function, field: fieldName) else {
            diagnostics.error(
                .missingKey, m.keyPath("name"), "an aggregate over an expression needs a 'name'",
                hint: "the name is the result column, e.g. name: max_delta", node: m.node)
            return nil
        }
        return AggregateConfig(name: name, function: function, input: input)
    }
}
