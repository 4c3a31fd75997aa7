/// The topology of a configuration — brokers → sources → pipelines → sinks — as indented text
/// or as a Mermaid `flowchart LR`: what `pspf inspect` prints. Pure: the same configuration
/// always renders the same text (file order throughout, secrets only ever said to be set).
///
/// ```swift
/// let config = try ConfigLoader.load(file: "config/demo.yaml")
/// let topology = TopologyRenderer(configuration: config)
/// print(topology.text())      // broker local  127.0.0.1:1883, MQTT 5, …
/// print(topology.mermaid())   // flowchart LR …
/// ```
public struct TopologyRenderer: Sendable {
    public let configuration: PSPFConfiguration

    public init(configuration: PSPFConfiguration) {
        self.configuration = configuration
    }

    // MARK: - Text

    /// Every broker with the sources it feeds, each source with its pipelines, each pipeline
    /// with its sinks (a sink shared by pipelines appears under each). Brokers that only
    /// receive sink output are listed with the sinks that publish to them.
    public func text() -> String {
        var lines: [String] = []
        for broker in configuration.brokers {
            lines.append("broker \(broker.name)  " + describe(broker))
            let sources = configuration.sources.filter { $0.broker == broker.name }
            let publishers = configuration.sinks.filter { sink in
                if case .mqtt(let mqtt) = sink.kind { return mqtt.broker == broker.name }
                return false
            }
            if !publishers.isEmpty {
                lines.append("  receives from sinks " + publishers.map(\.name).joined(separator: ", "))
            }
            for source in sources {
                lines.append("  source \(source.name)  " + describe(source))
                lines.append("    log: " + describe(source.log))
                for pipeline in configuration.pipelines where pipeline.source == source.name {
                    lines += describe(pipeline).map { "    " + $0 }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func describe(_ broker: BrokerConfig) -> String {
        var parts = ["\(broker.host):\(broker.port)", "MQTT \(broker.protocolVersion.rawValue)"]
        if let tls = broker.tls { parts.append(tls.certFile == nil ? "TLS" : "mutual TLS") }
        if broker.username != nil { parts.append("user \(broker.username ?? "")") }
        parts.append("client id \(broker.clientID)")
        parts.append(broker.cleanSession ? "clean session" : "persistent session")
        return parts.joined(separator: ", ")
    }

    private func describe(_ source: SourceConfig) -> String {
        var parts = [
            "topics [" + source.topics.joined(separator: ", ") + "]", "qos \(source.qos)", "key \(source.key)",
        ]
        if let eventTime = source.eventTime { parts.append("event time \(eventTime)") }
        parts.append("max payload \(ByteSize(bytes: Int64(source.maxPayloadBytes)))")
        switch source.dedup.by {
        case .none: break
        case .eventTime: parts.append("dedup by event time for \(ConfigDuration.format(source.dedup.horizon))")
        case .payload: parts.append("dedup by payload for \(ConfigDuration.format(source.dedup.horizon))")
        case .field(let field): parts.append("dedup by \(field) for \(ConfigDuration.format(source.dedup.horizon))")
        }
        return parts.joined(separator: ", ")
    }

    private func describe(_ log: InputLogConfig) -> String {
        var parts = ["\(log.partitions) partitions", "fsync \(log.fsync)", "segments \(log.segmentBytes)"]
        var retention: [String] = []
        if let age = log.retentionAge { retention.append("max age \(ConfigDuration.format(age))") }
        if let bytes = log.retentionBytes { retention.append("max \(bytes)") }
        if !retention.isEmpty { parts.append("retention " + retention.joined(separator: " and ")) }
        if let quota = log.diskQuota {
            parts.append("disk quota \(quota) \(log.quotaPolicy.rawValue)")
        } else {
            parts.append("no disk quota")
        }
        return parts.joined(separator: ", ")
    }

    private func describe(_ pipeline: PipelineConfig) -> [String] {
        var lines: [String] = []
        var head = ["key " + (pipeline.key.map(\.description) ?? "none")]
        switch pipeline.time {
        case .eventTime(let field): head.append("event time \(field)")
        case .processingTime: head.append("processing time")
        }
        lines.append("pipeline \(pipeline.name)  " + head.joined(separator: ", "))
        if let schema = pipeline.schema {
            let fields = schema.map { "\($0.path) \($0.type.rawValue)\($0.optional ? "?" : "")" }
            lines.append("  schema: " + fields.joined(separator: ", "))
        }
        for field in pipeline.compute {
            lines.append("  compute: \(field.name) = \(field.expression.text)")
        }
        if let filter = pipeline.filter { lines.append("  filter: \(filter.text)") }
        var window = [pipeline.window.description]
        if case .eventTime = pipeline.time {
            window.append("out of orderness \(ConfigDuration.format(pipeline.outOfOrderness))")
            if pipeline.allowedLateness != .zero {
                window.append("allowed lateness \(ConfigDuration.format(pipeline.allowedLateness))")
            }
        }
        if let idle = pipeline.idleTimeout { window.append("idle timeout \(ConfigDuration.format(idle))") }
        if case .eventTime = pipeline.time {
            window.append(pipeline.late == .deadLetter ? "late → dead letters" : "late → counted")
        }
        lines.append("  window: " + window.joined(separator: ", "))
        let aggregates = pipeline.aggregates.isEmpty ? ["count"] : pipeline.aggregates.map(describe)
        lines.append("  aggregates: " + aggregates.joined(separator: ", "))
        for name in pipeline.sinks {
            guard let sink = configuration.sink(named: name) else { continue }
            lines.append("  sink \(sink.name)  " + describe(sink))
        }
        return lines
    }

    private func describe(_ aggregate: AggregateConfig) -> String {
        var arguments: [String] = []
        switch aggregate.input {
        case .none: break
        case .field(let field): arguments.append(field)
        case .expression(let expression): arguments.append(expression.text)
        }
        switch aggregate.function {
        case .percentile(let q, _): arguments.append("q \(q)")
        case .stddev(let population), .variance(let population): if population { arguments.append("population") }
        default: break
        }
        let call = aggregate.function.keyword + (arguments.isEmpty ? "" : "(" + arguments.joined(separator: ", ") + ")")
        return aggregate.name == call ? call : "\(aggregate.name) = \(call)"
    }

    private func describe(_ sink: SinkConfig) -> String {
        var parts: [String]
        switch sink.kind {
        case .mqtt(let mqtt):
            parts = [
                "mqtt → broker \(mqtt.broker) topic \(mqtt.topic)", "qos \(mqtt.qos)",
                "max in flight \(mqtt.maxInflight)",
            ]
            if mqtt.retain { parts.append("retained") }
        case .file(let file):
            var rotate: [String] = []
            if let bytes = file.rotateBytes { rotate.append("\(bytes)") }
            if let interval = file.rotateInterval { rotate.append(ConfigDuration.format(interval)) }
            parts = ["file \(file.path)", file.format.rawValue]
            if !rotate.isEmpty { parts.append("rotate at " + rotate.joined(separator: " or ")) }
            parts.append("fsync \(file.fsync)")
        case .http(let http):
            parts = [
                "http POST \(http.url)",
                "batch \(http.batchMaxRecords) or \(ConfigDuration.format(http.batchMaxWait))",
                "timeout \(ConfigDuration.format(http.timeout))",
                "retry \(ConfigDuration.format(http.retryInitial))…\(ConfigDuration.format(http.retryMax))"
                    + (http.retryMaxAttempts.map { " at most \($0) attempts" } ?? ""),
            ]
            if http.bearerToken != nil { parts.append("bearer token set") }
        case .console(let console):
            parts = ["console \(console.format.rawValue)"]
        }
        parts.append("backlog \(sink.backlog.quota) \(sink.backlog.policy.rawValue)")
        return parts.joined(separator: ", ")
    }

    // MARK: - Mermaid

    /// A `flowchart LR`: brokers (hexagons) → sources → pipelines (rounded) → sinks
    /// (parallelograms), and a dotted edge from each MQTT sink to the broker it publishes to.
    /// Node ids are the kind and the name with every character outside `[A-Za-z0-9_]`
    /// replaced by `_` (made unique when two names map to the same id); labels are quoted and
    /// escaped, so any name is safe.
    public func mermaid() -> String {
        var ids = MermaidIDs()
        var lines = ["flowchart LR"]
        var edges: [String] = []
        for broker in configuration.brokers {
            let id = ids.id(kind: "broker", name: broker.name)
            lines.append("  \(id){{\(Self.label(["broker \(broker.name)", "\(broker.host):\(broker.port)"]))}}")
        }
        for source in configuration.sources {
            let id = ids.id(kind: "source", name: source.name)
            lines.append("  \(id)[\(Self.label(["source \(source.name)"] + source.topics))]")
            edges.append("  \(ids.id(kind: "broker", name: source.broker)) --> \(id)")
        }
        for pipeline in configuration.pipelines {
            let id = ids.id(kind: "pipeline", name: pipeline.name)
            lines.append("  \(id)(\(Self.label(["pipeline \(pipeline.name)", pipeline.window.description])))")
            edges.append("  \(ids.id(kind: "source", name: pipeline.source)) --> \(id)")
            for sink in pipeline.sinks { edges.append("  \(id) --> \(ids.id(kind: "sink", name: sink))") }
        }
        for sink in configuration.sinks {
            let id = ids.id(kind: "sink", name: sink.name)
            var target: String
            switch sink.kind {
            case .mqtt(let mqtt):
                target = mqtt.topic
                edges.append("  \(id) -.-> \(ids.id(kind: "broker", name: mqtt.broker))")
            case .file(let file): target = file.path
            case .http(let http): target = http.url
            case .console: target = "standard output"
            }
            lines.append("  \(id)[/\(Self.label(["sink \(sink.name)", "\(sink.kind.type): \(target)"]))/]")
        }
        return (lines + edges).joined(separator: "\n") + "\n"
    }

    /// A quoted Mermaid label, one line per element. Characters Mermaid would read as syntax or
    /// markup become entity codes (`#quot;`, `#35;`, `#lt;`, `#gt;`).
    static func label(_ lines: [String]) -> String {
        let escaped = lines.map { line in
            var out = ""
            for character in line {
                switch character {
                case "\"": out += "#quot;"
                case "#": out += "#35;"
                case "<": out += "#lt;"
                case ">": out += "#gt;"
                default: out.append(character)
                }
            }
            return out
        }
        return "\"" + escaped.joined(separator: "<br/>") + "\""
    }
}
