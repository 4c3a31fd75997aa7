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
