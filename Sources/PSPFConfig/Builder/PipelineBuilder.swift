import PSPFCore
import PSPFJSON

/// Builds the runtime graph of a configured pipeline: the same `PipelinePlan` type the typed
/// Swift API produces and `LocalRunner` runs.
///
/// ```swift
/// let config = try ConfigLoader.load(file: "/etc/pspf/pspf.yaml")
/// let builder = PipelineBuilder(configuration: config)
/// for built in try builder.buildAll() {
///     let runner = LocalRunner(plan: built.plan, input: inputTopic, output: outputTopic, options: …)
/// }
/// ```
///
/// The plan decodes each record's payload with one ``JSONFieldExtractor`` over every field the
/// pipeline references, rejects bad records to the dead letters (`oversized`,
/// `malformed_input`, `missing_key`, `missing_timestamp`, `timestamp_out_of_range`,
/// `schema_violation`), evaluates computed fields and the filter over a row of slots, keys by
/// the key string, takes event time from the timestamp field (or processing time), windows, and
/// aggregates with ``DynamicColumns`` — the built-in accumulators, so results equal the typed
/// API's for the same pipeline.
public struct PipelineBuilder: Sendable {
    public let configuration: PSPFConfiguration

    public init(configuration: PSPFConfiguration) {
        self.configuration = configuration
    }

    /// Builds every pipeline, in file order.
    public func buildAll() throws(ConfigErrors) -> [BuiltPipeline] {
        var built: [BuiltPipeline] = []
        for pipeline in configuration.pipelines { built.append(try build(pipeline)) }
        return built
    }

    /// Builds the pipeline called `name`.
    public func build(named name: String) throws(ConfigErrors) -> BuiltPipeline {
        guard let pipeline = configuration.pipeline(named: name) else {
            throw ConfigErrors([
                ConfigError(
                    code: .undefinedReference, file: configuration.file, line: 0, column: 0, path: "pipelines",
                    message: "no pipeline named '\(name)'")
            ])
        }
        return try build(pipeline)
    }

    /// Builds one pipeline (which need not be part of ``configuration``; its source's
    /// `max_payload_bytes` applies if the source is).
    public func build(_ pipeline: PipelineConfig) throws(ConfigErrors) -> BuiltPipeline {
        let maxPayloadBytes = configuration.source(named: pipeline.source)?.maxPayloadBytes ?? (256 << 10)
        return try Self.build(pipeline, maxPayloadBytes: maxPayloadBytes, file: configuration.file)
    }

    /// The plan of one pipeline.
    public func plan(for pipeline: PipelineConfig) throws(ConfigErrors)
        -> PipelinePlan<InputRecord, WindowResult<String, AggregateRow>>
    {
        try build(pipeline).plan
    }

    static func build(_ pipeline: PipelineConfig, maxPayloadBytes: Int, file: String) throws(ConfigErrors)
        -> BuiltPipeline
    {
        let diagnostics = Diagnostics(file: file, source: nil)
        let layout = PipelineAnalyzer(pipeline: pipeline, diagnostics: diagnostics).analyze()
        if diagnostics.hasErrors { throw diagnostics.collected() }

        let slot: (FieldName) -> Int = { name in
            guard let slot = layout.slotOfName[name] else { preconditionFailure("unresolved field \(name)") }
            return slot
        }
        let key: RowProgram.Key =
            switch pipeline.key {
            case .field: .field(layout.keyField!)
            case .topicSegment(let n): .topicSegment(n)
            case .topic, nil: .topic
            }
        var timestamp: (Int, JSONTimestampFormat)?
        if case .eventTime(let ts) = pipeline.time { timestamp = (layout.timestampField!, ts.format) }
        let program = RowProgram(
            extractor: JSONFieldExtractor(fields: layout.fields), fields: layout.fields, fieldSlots: layout.fieldSlots,
            fieldDecodings: layout.fieldTypes.map(FieldDecoding.init), schemaChecks: layout.schemaChecks, key: key,
            keyFieldIndex: layout.keyField,
            timestamp: timestamp,
            computed: layout.computed.map {
                RowProgram.Computed(slot: $0.slot, evaluate: ExpressionCompiler.compile($0.expression, slot: slot))
            },
            filter: layout.filter.map { ExpressionCompiler.compile($0, slot: slot) }, filterAfter: layout.filterAfter,
            slotCount: layout.slotCount, maxPayloadBytes: maxPayloadBytes)

        let columns = DynamicColumns<ConfigRow>(layout.aggregates.map(Self.column))
        let spec = pipeline.window.spec
        let outOfOrderness = pipeline.outOfOrderness
        let allowedLateness = pipeline.allowedLateness
        let idleTimeout = pipeline.idleTimeout
        let time = pipeline.time
        let plan = Pipeline(pipeline.name).plan(input: InputRecord.self) { records in
            let keyed =
                records
                .tryMap(makingTransform: {
                    var decoder = RowDecoder(program: program)
                    return { record in try decoder.decode(record) }
                })
                .compactMap { $0 }
                .keyBy { $0.key }
            let timed =
                switch time {
                case .eventTime:
                    keyed.eventTime(
                        { $0.time }, outOfOrderness: outOfOrderness, allowedLateness: allowedLateness,
                        idleTimeout: idleTimeout)
                case .processingTime:
                    keyed.processingTime(idleTimeout: idleTimeout)
                }
            return timed.window(spec).aggregate(RowAggregator(columns))
        }
        return BuiltPipeline(
            config: pipeline, plan: plan, fields: layout.fields.map(\.description),
            stateDescription: stateDescription(pipeline, columns: columns))
    }

    private static func column(_ c: PipelineLayout.Column) -> DynamicColumn<ConfigRow> {
        let function: DynamicColumn<ConfigRow>.Function =
            switch c.config.function {
            case .count: .count
            case .sum: .sum
            case .avg: .avg
            case .min: .min
            case .max: .max
            case .first: .first
            case .last: .last
            case .stddev(let population): .stddev(population: population)
            case .variance(let population): .variance(population: population)
            case .percentile(let q, let accuracy): .percentile(q, relativeAccuracy: accuracy)
            }
        guard let slot = c.slot else { return DynamicColumn(name: c.config.name, function: function, reader: .none) }
        // Non-capturing readers by slot: no closure context to retain per record.
        let reader: DynamicColumn<ConfigRow>.Reader
        switch c.config.function {
        case .first, .last, .count:
            reader = .valueAt(slot) { row, slot in row.values[slot].aggregateValue }
        default:
            if c.integral {
                reader = .integerAt(slot) { row, slot in
                    switch row.values[slot] {
                    case .integer(let v): v
                    case .number(let v): v.isFinite ? Int64(exactly: v.rounded(.towardZero)) : nil
                    default: nil
                    }
                }
            } else {
                reader = .numberAt(slot) { row, slot in row.values[slot].number }
            }
        }
        return DynamicColumn(name: c.config.name, function: function, reader: reader)
    }

    /// What a checkpoint of this pipeline's state depends on: time semantics, window and columns.
    private static func stateDescription(_ pipeline: PipelineConfig, columns: DynamicColumns<ConfigRow>) -> String {
        let time: String =
            switch pipeline.time {
            case .eventTime:
                "event-time(outOfOrderness: \(pipeline.outOfOrderness.configMilliseconds)ms, allowedLateness: \(pipeline.allowedLateness.configMilliseconds)ms)"
            case .processingTime: "processing-time"
            }
        let idle = pipeline.idleTimeout.map { " idle \($0.configMilliseconds)ms" } ?? ""
        let cols = columns.columns.map { "\($0.name)=\($0.function)" }.joined(separator: ",")
        return "window \(pipeline.window.spec) \(time)\(idle) columns [\(cols)]"
    }
}

/// A built pipeline: its configuration, its plan, and what a checkpoint of it depends on.
public struct BuiltPipeline: Sendable {
    public let config: PipelineConfig
    /// The executable plan: raw input records in, one ``WindowResult`` per fired window out.
    public let plan: PipelinePlan<InputRecord, WindowResult<String, AggregateRow>>
    /// The payload fields the plan extracts, in order.
    public let fields: [String]
    /// The window, time semantics and columns. The engine describes the aggregator only by its
    /// type (the same for every configured pipeline), so store this with a checkpoint and refuse
    /// to restore state into a pipeline whose description differs.
    public let stateDescription: String

    public var name: String { config.name }
}
