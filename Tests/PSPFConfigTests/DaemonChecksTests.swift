import Testing

@testable import PSPFConfig

/// The validator's checks for `pspf run`: a pipeline keyed like its source's partitioning (or by
/// a topic segment that pins one topic of a whole-topic source), and file sinks shared by
/// pipelines only with `{pipeline}` in their path.
struct DaemonChecksTests {
    static func yaml(sourceKey: String?, partitions: Int?, pipelineKey: String) -> String {
        var source = "{broker: local, topics: [sensors/+/reading]"
        if let sourceKey { source += ", key: \(sourceKey)" }
        if let partitions { source += ", log: {partitions: \(partitions)}" }
        source += "}"
        return """
            version: 1
            brokers:
              local: {host: 127.0.0.1, client_id: test}
            sources:
              sensors: \(source)
            sinks:
              console: {type: console}
            pipelines:
              p:
                source: sensors
                key: \(pipelineKey)
                timestamp: {field: ts}
                window: {type: tumbling, size: 10s}
                sinks: [console]
            """
    }

    @Test(
        "a pipeline keyed differently from its multi-partition source is an error at the pipeline's key",
        arguments: [
            ("{topic_segment: 1}", 4, "device"),
            ("{topic_segment: 1}", 2, "{topic_segment: 2}"),
            ("device", 8, "{topic_segment: 1}"),
            ("device", 4, "site"),
            (nil, nil, "device"),  // the defaults: the whole topic, 4 partitions
            // A topic segment of a whole-topic source is fine only if it pins one topic: in
            // sensors/+/reading segment 0 does not (the `+` level varies under one key).
            (nil, 4, "{topic_segment: 0}"),
        ] as [(String?, Int?, String)])
    func pipelineKeyMustMatchSource(sourceKey: String?, partitions: Int?, pipelineKey: String) throws {
        let text = Self.yaml(sourceKey: sourceKey, partitions: partitions, pipelineKey: pipelineKey)
        let errors = loadErrors(text)
        #expect(errors.count == 1, "\(errors)")
        let error = try #require(errors.first)
        #expect(error.code == .conflict)
        #expect(error.path == "pipelines.p.key")
        #expect(error.file == "test.yaml")
        let place = try #require(position(of: "key: \(pipelineKey)", in: text))
        #expect(error.line == place.line)
        #expect(error.column == place.column + "key: ".count)
        #expect(error.message.contains("source 'sensors'"), "\(error.message)")
        #expect(error.hint?.contains("1 partition") == true)
    }

    @Test(
        "a pipeline keyed like its source, or reading a one-partition log, is fine",
        arguments: [
            ("{topic_segment: 1}", 4, "{topic_segment: 1}"),
            ("device", 4, "device"),
            ("device", 4, "{field: device}"),
            ("{topic_segment: 1}", 1, "device"),
            // sensors/+/reading keyed by segment 1: one key, one topic, one partition.
            (nil, 4, "{topic_segment: 1}"),
        ] as [(String?, Int?, String)])
    func matchingKeysAreAccepted(sourceKey: String?, partitions: Int?, pipelineKey: String) {
        let errors = loadErrors(Self.yaml(sourceKey: sourceKey, partitions: partitions, pipelineKey: pipelineKey))
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test(
        "a key that is itself invalid is reported once, without a partitioning conflict on top",
        arguments: [
            ("{topic_segment: 1}", "[device, site]", "pipelines.p.key"),
            ("{topic_segment: 1}", "{field: device, topic_segment: 1}", "pipelines.p.key"),
            ("[device]", "device", "sources.sensors.key"),
        ])
    func invalidKeysDoNotCascade(sourceKey: String, pipelineKey: String, path: String) {
        let errors = loadErrors(Self.yaml(sourceKey: sourceKey, partitions: 4, pipelineKey: pipelineKey))
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.path == path, "\(errors)")
        #expect(errors.allSatisfy { !$0.message.contains("split across partitions") }, "\(errors)")
    }

    static func sharedFileSink(path: String, users: [String]) -> String {
        var text = """
            version: 1
            brokers:
              local: {host: 127.0.0.1, client_id: test}
            sources:
              sensors: {broker: local, topics: [sensors/+/reading], key: {topic_segment: 1}}
            sinks:
              console: {type: console}
              archive:
                type: file
                path: \(path)
            pipelines:
            """
        for name in ["first", "second"] {
            text += """

                  \(name):
                    source: sensors
                    key: {topic_segment: 1}
                    timestamp: {field: ts}
                    window: {type: tumbling, size: 10s}
                    sinks: [\(users.contains(name) ? "archive" : "console")]
                """
        }
        return text
    }

    @Test("a file sink without {pipeline} used by two pipelines is an error at its path")
    func sharedFileSinkNeedsPipelinePlaceholder() throws {
        let text = Self.sharedFileSink(path: "/var/lib/pspf/out/results.jsonl", users: ["first", "second"])
        let errors = loadErrors(text)
        #expect(errors.count == 1, "\(errors)")
        let error = try #require(errors.first)
        #expect(error.code == .conflict)
        #expect(error.path == "sinks.archive.path")
        let place = try #require(position(of: "/var/lib/pspf/out/results.jsonl", in: text))
        #expect(error.line == place.line)
        #expect(error.column == place.column)
        #expect(error.message.contains("first, second"), "\(error.message)")
        #expect(error.hint?.contains("{pipeline}") == true)
    }

    @Test(
        "a file sink with {pipeline}, or used by one pipeline, is fine",
        arguments: [
            ("/var/lib/pspf/out/{pipeline}.jsonl", ["first", "second"]),
            ("\"/var/lib/pspf/{pipeline}/{date}.jsonl\"", ["first", "second"]),
            ("/var/lib/pspf/out/results.jsonl", ["first"]),
        ])
    func unsharedOrTemplatedFileSinks(path: String, users: [String]) {
        let errors = loadErrors(Self.sharedFileSink(path: path, users: users))
        #expect(errors.isEmpty, "\(errors)")
    }
}
