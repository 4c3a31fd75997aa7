import PSPFCore
import PSPFJSON

/// The checks of one pipeline that involve more than one key — window without key, computed
/// field order, expression types and fields against the schema, aggregate names and inputs —
/// and the slot layout they imply. The loader runs it to report errors at their place in the
/// file; the builder runs it again to get the layout (and to reject a configuration built in
/// code that was never validated).
struct PipelineAnalyzer {
    let pipeline: PipelineConfig
    let diagnostics: Diagnostics

    /// Column names the result object already uses (see docs/engine.md §5).
    static let reservedNames: Set<String> = [
        "id", "pipeline", "key", "window_start", "window_end", "window_seq", "count",
    ]

    private var path: String { join("pipelines", pipeline.name) }

    func analyze() -> PipelineLayout {
        var layout = PipelineLayout()
        let schema = pipeline.schema
        let schemaByPath = Dictionary((schema ?? []).map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })

        // Key and timestamp first, then the schema in declaration order.
        if case .field(let keyPath) = pipeline.key {
            _ = layout.slot(for: keyPath, type: schemaByPath[keyPath])
            layout.keyField = layout.fieldIndex(of: keyPath)
        }
        if case .eventTime(let ts) = pipeline.time {
            _ = layout.slot(for: ts.field, type: schemaByPath[ts.field])
            layout.timestampField = layout.fieldIndex(of: ts.field)
        }
        for field in schema ?? [] {
            _ = layout.slot(for: field.path, type: field)
            if let i = layout.fieldIndex(of: field.path) { layout.schemaChecks.append(i) }
        }

        // Payload fields an expression may name when there is a schema.
        var declared = Set((schema ?? []).map(\.path) + pipeline.untypedSchemaFields)
        if case .field(let keyPath) = pipeline.key { declared.insert(keyPath) }
        if case .eventTime(let ts) = pipeline.time { declared.insert(ts.field) }

        let allComputed = Set(pipeline.compute.map(\.name))
        var computedTypes: [String: ExpressionType] = [:]
        var computedIndex: [String: Int] = [:]

        func fieldType(_ field: SchemaField?) -> ExpressionType {
            guard let field else { return .any }
            let type: ValueType =
                switch field.type {
                case .number, .integer: .number
                case .string: .string
                case .boolean: .bool
                }
            return ExpressionType(type: type, nullable: field.optional)
        }

        /// Resolves a name in an expression; records which computed fields it depends on.
        func resolver(referencing dependencies: Dependencies?, defining current: String? = nil)
            -> ExpressionChecker.Resolver
        {
            return { name, range in
                if name.components.count == 1, name.components[0] == current {
                    return .failure(
                        ExpressionError(
                            .unknownField, "computed field '\(name)' refers to itself",
                            hint: "a computed field cannot reuse the name of a field it reads; call it e.g. \(name)_2",
                            range: range))
                }
                if name.components.count == 1, let type = computedTypes[name.components[0]] {
                    if let dependencies, let i = computedIndex[name.components[0]] {
                        dependencies.after = Swift.max(dependencies.after, i + 1)
                    }
                    return .success(type)
                }
                if name.components.count == 1, allComputed.contains(name.components[0]) {
                    return .failure(
                        ExpressionError(
                            .unknownField, "computed field '\(name)' is used before it is defined",
                            hint: "computed fields are evaluated in order; move '\(name)' above this one", range: range)
                    )
                }
                let fieldPath = JSONFieldPath(components: name.components)
                if schema != nil && !declared.contains(fieldPath) {
                    let candidates = declared.map(\.description) + computedTypes.keys.sorted()
                    return .failure(
                        ExpressionError(
                            .unknownField, "unknown field '\(name.dotted)': the schema does not declare it",
                            hint: Suggestions.didYouMean(name.dotted, in: candidates)
                                ?? "declare it under schema, e.g. \(name.dotted): number",
                            range: range))
                }
                _ = layout.slot(for: fieldPath, type: schemaByPath[fieldPath])
                return .success(fieldType(schemaByPath[fieldPath]))
            }
        }

        func report(_ errors: [ExpressionError], at path: String) {
            for e in errors {
                let code: ConfigError.Code =
                    switch e.kind {
                    case .syntax: .expressionSyntax
                    case .type: .expressionType
                    case .unknownField: .unknownField
                    }
                diagnostics.error(code, path, e.message, hint: e.hint, offset: e.offset)
            }
        }

        // compute, in order.
        let schemaNames = Set(declared.filter { $0.components.count == 1 }.map { $0.components[0] })
        for (index, computed) in pipeline.compute.enumerated() {
            let computedPath = join(join(path, "compute"), computed.name)
            if schemaNames.contains(computed.name) {
                diagnostics.error(
                    .duplicateName, computedPath, "computed field '\(computed.name)' has the name of a payload field",
                    hint: "choose another name; a computed field cannot replace a field of the payload")
            }
            var checker = ExpressionChecker(resolve: resolver(referencing: nil, defining: computed.name))
            let type = checker.check(computed.expression.root)
            report(checker.errors, at: computedPath)
            let slot = layout.slotCount
            layout.slotCount += 1
            layout.slotOfName[FieldName(components: [computed.name])] = slot
            layout.computed.append((slot, computed.expression.root, computed.name))
            computedTypes[computed.name] = type
            computedIndex[computed.name] = index
        }

        // filter: after the last computed field it uses.
        if let filter = pipeline.filter {
            let dependencies = Dependencies()
            var checker = ExpressionChecker(resolve: resolver(referencing: dependencies))
            let type = checker.check(filter.root)
            report(checker.errors, at: join(path, "filter"))
            if type.type != .bool && type.type != .any && checker.errors.isEmpty {
                diagnostics.error(
                    .expressionType, join(path, "filter"), "a filter must be a condition, this is a \(type.type)",
                    hint: "compare it: e.g. \(filter.text) > 0", offset: 0)
            }
            layout.filter = filter.root
            layout.filterAfter = dependencies.after
        } else {
            layout.filterAfter = layout.computed.count
        }

        // aggregates.
        var names: [String: Int] = [:]
        for (i, aggregate) in pipeline.aggregates.enumerated() {
            let itemPath = join(join(path, "aggregates"), index: aggregate.sourceIndex ?? i)
            let isElementCount = aggregate.function == .count && aggregate.input == .none
            if let first = names[aggregate.name] {
                diagnostics.error(
                    .duplicateName, join(itemPath, "name"),
                    "duplicate aggregate name '\(aggregate.name)' (also aggregates[\(pipeline.aggregates[first].sourceIndex ?? first)])",
                    hint: "give one of them another name: name: …")
            } else {
                names[aggregate.name] = i
            }
            if Self.reservedNames.contains(aggregate.name) && !isElementCount {
                diagnostics.error(
                    .reservedName, join(itemPath, "name"), "'\(aggregate.name)' is a field of every result",
                    hint:
                        "reserved: id, pipeline, key, window_start, window_end, window_seq, count; choose another name")
            }
            var column = PipelineLayout.Column(config: aggregate, slot: nil, integral: false)
            switch aggregate.input {
            case .none:
                break
            case .field(let text):
                let name = FieldName(components: JSONFieldPath(text).components)
                let fieldPath = join(itemPath, "field")
                switch resolver(referencing: nil)(name, 0..<0) {
                case .failure(let e):
                    let code: ConfigError.Code = e.kind == .unknownField ? .unknownField : .expressionType
                    diagnostics.error(code, fieldPath, e.message, hint: e.hint)
                case .success(let type):
                    checkNumeric(aggregate, type, path: fieldPath, what: "'\(text)' is a \(type.type)", offset: nil)
                    column.slot = layout.slotOfName[name]
                    let schemaType = schemaByPath[JSONFieldPath(components: name.components)]?.type
                    let exactFunction =
                        aggregate.function == .sum || aggregate.function == .min
                        || aggregate.function == .max
                    column.integral = schemaType == .integer && exactFunction
                }
            case .expression(let expression):
                let expressionPath = join(itemPath, "expression")
                var checker = ExpressionChecker(resolve: resolver(referencing: nil))
                let type = checker.check(expression.root)
                report(checker.errors, at: expressionPath)
                if checker.errors.isEmpty {
                    checkNumeric(
                        aggregate, type, path: expressionPath, what: "the expression is a \(type.type)", offset: 0)
                }
                let slot = layout.slotCount
                layout.slotCount += 1
                layout.computed.append((slot, expression.root, aggregate.name))
                column.slot = slot
            }
            layout.aggregates.append(column)
        }

        // A window needs a key (the configuration's "window on an unkeyed stream").
        if pipeline.key == nil {
            diagnostics.error(
                .windowWithoutKey, join(path, "window"), "a window needs a key: pipeline '\(pipeline.name)' has none",
                hint: "add key: <field> (e.g. key: device) or key: {topic_segment: 1}")
        }
        return layout
    }

    /// How many computed fields (in order) an expression needs evaluated before it.
    private final class Dependencies {
        var after = 0
    }

    private func checkNumeric(
        _ aggregate: AggregateConfig, _ type: ExpressionType, path: String, what: String, offset: Int?
    ) {
        guard aggregate.function.isNumeric, type.type != .number, type.type != .any else { return }
        diagnostics.error(
            .expressionType, path, "\(aggregate.function.keyword) needs a number, \(what)",
            hint: "first and last take any value; count counts values", offset: offset)
    }
}
