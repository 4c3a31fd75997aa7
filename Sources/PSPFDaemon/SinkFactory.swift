import Foundation
import Logging
import PSPFConfig
import PSPFConnectors
import PSPFMQTT

/// Builds the ``OutputSink`` and the forwarder options of one (pipeline, sink) pair from the
/// configuration. MQTT sinks publish through one client per broker, shared by the pipelines.
struct SinkFactory {
    /// The backlog quota is configured in bytes; the forwarder bounds records. Results of the
    /// built-in aggregations are 150–400 bytes of JSON, so one record counts as this much.
    static let estimatedResultBytes: Int64 = 256

    let configuration: PSPFConfiguration
    let logger: Logger
    /// MQTT clients for sinks, by broker name (created by the daemon, connected before use).
    let mqttClients: [String: any MQTTSinkTransport]
    /// Where console sinks write (standard output by default; tests capture it).
    let consoleWrite: @Sendable (String) -> Void

    func makeSink(_ sink: SinkConfig, pipeline: String) throws -> any OutputSink {
        switch sink.kind {
        case .console(let console):
            let write = consoleWrite
            return ConsoleSink(name: sink.name) { line in
                write(console.format == .json ? line : ResultLine.format(line) ?? line)
            }
        case .file(let file):
            let (directory, template) = Self.split(
                path: file.path.replacingOccurrences(of: "{sink}", with: PathTemplate.sanitise(sink.name)))
            let fsync: Bool = if case .none = file.fsync { false } else { true }
            // One file sink instance per pipeline: the exactly-once state file is per pipeline.
            return try FileSink(
                name: sink.name + "." + pipeline,
                configuration: FileSink.Configuration(
                    directory: directory, path: try PathTemplate(template),
                    format: file.format == .csv ? .csv : .jsonl, maxBytes: file.rotateBytes?.bytes,
                    maxAgeMilliseconds: file.rotateInterval?.pspfMilliseconds, fsync: fsync))
        case .http(let http):
            var sinkLogger = logger
            sinkLogger[metadataKey: "sink"] = "\(sink.name)"
            return try HTTPSink(
                name: sink.name,
                configuration: HTTPSinkConfiguration(
                    url: http.url, headers: http.headers.map { ($0.name, $0.value) },
                    bearerToken: http.bearerToken?.reveal(), timeout: http.timeout,
                    retry: RetryPolicy(
                        initialDelay: http.retryInitial, maxDelay: http.retryMax, maxAttempts: http.retryMaxAttempts),
                    tls: http.tls.map {
                        HTTPSinkTLS(
                            caFile: $0.caFile, certificateFile: $0.certFile, privateKeyFile: $0.keyFile,
                            verifyPeer: $0.verifyPeer)
                    }),
                logger: sinkLogger)
        case .mqtt(let mqtt):
            guard let client = mqttClients[mqtt.broker] else {
                preconditionFailure("no MQTT client for broker \(mqtt.broker)")  // validated config
            }
            return MQTTOutputSink(
                name: sink.name, topic: try TopicTemplate(mqtt.topic), transport: client,
                qos: MQTTQoS(rawValue: Int32(mqtt.qos)) ?? .atLeastOnce, retain: mqtt.retain)
        }
    }

    func forwarderOptions(_ sink: SinkConfig) -> SinkForwarder.Options {
        let batch: Int =
            switch sink.kind {
            case .http(let http): http.batchMaxRecords
            case .mqtt(let mqtt): mqtt.maxInflight
            case .file, .console: 500
            }
        let records = max(1, sink.backlog.quota.bytes / Self.estimatedResultBytes)
        var linger: Duration?
        if case .http(let http) = sink.kind, http.batchMaxWait > .zero { linger = http.batchMaxWait }
        return SinkForwarder.Options(
            batchRecords: batch,
            backlog: BacklogQuota(maxRecords: records, policy: sink.backlog.policy == .block ? .block : .dropOldest),
            linger: linger)
    }

    /// `/data/results/{pipeline}/{date}.jsonl` → (`/data/results`, `{pipeline}/{date}.jsonl`):
    /// the directory is the part before the first placeholder, so nothing substituted can
    /// choose it.
    static func split(path: String) -> (directory: String, template: String) {
        let placeholder = path.firstIndex(of: "{") ?? path.endIndex
        guard let slash = path[..<placeholder].lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
