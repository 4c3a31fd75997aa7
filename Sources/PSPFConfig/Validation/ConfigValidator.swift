/// Checks across sections: every name that refers to a broker, source or sink is defined, and
/// each pipeline passes ``PipelineAnalyzer``.
struct ConfigValidator {
    let config: PSPFConfiguration
    let diagnostics: Diagnostics

    func validate() {
        let brokers = config.brokers.map(\.name)
        let sources = config.sources.map(\.name)
        let sinks = config.sinks.map(\.name)
        for source in config.sources {
            reference(source.broker, kind: "broker", in: brokers, path: join(join("sources", source.name), "broker"))
        }
        for sink in config.sinks {
            if case .mqtt(let mqtt) = sink.kind {
                reference(mqtt.broker, kind: "broker", in: brokers, path: join(join("sinks", sink.name), "broker"))
            }
        }
        for pipeline in config.pipelines {
            let path = join("pipelines", pipeline.name)
            reference(pipeline.source, kind: "source", in: sources, path: join(path, "source"))
            var seen = Set<String>()
            for (i, sink) in pipeline.sinks.enumerated() {
                let sinkPath = join(join(path, "sinks"), index: i)
                reference(sink, kind: "sink", in: sinks, path: sinkPath)
                if !seen.insert(sink).inserted {
                    diagnostics.error(
                        .duplicateName, sinkPath, "sink '\(sink)' is listed twice", hint: "list each sink once")
                }
            }
            _ = PipelineAnalyzer(pipeline: pipeline, diagnostics: diagnostics).analyze()
            checkKeyMatchesSource(pipeline, path: path)
        }
        checkSharedFileSinks()
    }

    /// Each input partition runs as its own task with its own window state, so a pipeline's key
    /// must be the source's partitioning key: otherwise one device's readings would be spread
    /// over partitions and its windows split in several partial results. One partition is safe.
    private func checkKeyMatchesSource(_ pipeline: PipelineConfig, path: String) {
        guard let key = pipeline.key, let source = config.source(named: pipeline.source),
            source.log.partitions > 1, key != source.key, !Self.isDetermined(key, byTopicOf: source),
            !diagnostics.errors.contains(where: { $0.path == join(path, "key") || $0.path == join(join("sources", source.name), "key") })
        else { return }  // an unreadable key was reported already
        diagnostics.error(
            .conflict, join(path, "key"),
            "the pipeline is keyed by \(key) but source '\(source.name)' partitions its log by \(source.key); one key's readings would be split across partitions",
            hint: "use the source's key here, set the source's key to \(key), or give the source log 1 partition")
    }

    /// Whether a topic-segment key names exactly one topic of a source partitioned by the whole
    /// topic: one filter whose levels are all literal except that segment (`sensors/+/reading`
    /// keyed by segment 1), so one key's messages all share a topic, hence a partition.
    static func isDetermined(_ key: KeySelector, byTopicOf source: SourceConfig) -> Bool {
        guard case .topic = source.key, case .topicSegment(let index) = key, source.topics.count == 1 else {
            return false
        }
        let levels = source.topics[0].split(separator: "/", omittingEmptySubsequences: false)
        guard index < levels.count else { return false }
        return levels.enumerated().allSatisfy { position, level in
            position == index || (level != "+" && level != "#")
        }
    }

    /// Two pipelines writing one file sink need `{pipeline}` in its path: each pipeline's
    /// results are forwarded (and their exactly-once file positions kept) separately.
    private func checkSharedFileSinks() {
        for sink in config.sinks {
            guard case .file(let file) = sink.kind, !file.path.contains("{pipeline}") else { continue }
            let users = config.pipelines.filter { $0.sinks.contains(sink.name) }.map(\.name)
            guard users.count > 1 else { continue }
            diagnostics.error(
                .conflict, join(join("sinks", sink.name), "path"),
                "file sink '\(sink.name)' is used by pipelines \(users.joined(separator: ", ")) but its path has no {pipeline}; their files would collide",
                hint: "add {pipeline} to the path, e.g. results/{pipeline}.jsonl")
        }
    }

    private func reference(_ name: String, kind: String, in names: [String], path: String) {
        guard !name.isEmpty, !names.contains(name) else { return }  // empty: missing, reported already
        let hint =
            Suggestions.didYouMean(name, in: names)
            ?? (names.isEmpty
                ? "no \(kind)s are defined; add one under \(kind)s:"
                : "defined \(kind)s: \(names.joined(separator: ", "))")
        diagnostics.error(.undefinedReference, path, "undefined \(kind) '\(name)'", hint: hint)
    }
}
