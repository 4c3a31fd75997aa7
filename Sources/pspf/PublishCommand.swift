import ArgumentParser
import Foundation
import Logging
import PSPFConnectors
import PSPFLog
import PSPFMQTT

/// `pspf publish`: the MQTT sink on its own: forward an output log topic's results to MQTT.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Forward the results in an output log topic to MQTT (at-least-once, resumable).",
        discussion: """
            Each record (a result JSON object) is published as it is stored, to a topic rendered \
            from the template: {key}, {pipeline}, {id} or any result field, sanitised so values \
            cannot add levels or wildcards. The delivered offset is the consumer group \
            sink.<name> of the topic, advanced only on the broker's acknowledgement; a restart \
            resumes there. Runs until SIGTERM/SIGINT.
            """)

    @OptionGroup var brokerOptions: BrokerOptions

    @Option(help: "Log directory.") var dir: String
    @Option(help: "Output topic to forward.") var topic: String = "results"
    @Option(help: "MQTT topic template, e.g. 'agg/{key}'.") var template: String
    @Option(help: "Sink name (its offsets are the consumer group sink.<name>).") var name: String = "mqtt"
    @Option(help: "Publish QoS.") var qos: Int = 1
    @Option(help: "Publishes awaiting acknowledgement at once.") var maxInflight: Int = 64
    @Flag(help: "Publish retained.") var retain = false
    @Option(help: "Log level on stderr.") var logLevel: Logger.Level = .info

    func run() async throws {
        let logger = stderrLogger("pspf.publish", level: logLevel)
        guard (0...2).contains(qos) else { throw ValidationError("--qos must be 0, 1 or 2") }
        var sink = MQTTSinkConfiguration(name: name, topic: try TopicTemplate(template))
        sink.qos = MQTTQoS(rawValue: Int32(qos))!
        sink.maxInflight = maxInflight
        sink.retain = retain
        var client = try brokerOptions.configuration(defaultClientID: "pspf-sink-\(name)-\(hostName())", persistent: qos > 0)
        client.maxInflightPublishes = max(client.maxInflightPublishes, maxInflight)
        let log = try PartitionedLog(directory: dir, logger: logger)
        let existing = try PartitionedLog.topicNames(in: dir)
        guard existing.contains(topic) else { throw ValidationError("no topic '\(topic)' in \(dir)") }
        let meta = try LogTopic.openReadOnly(directory: (dir as NSString).appendingPathComponent(topic), logger: logger)
        let output = try log.topic(topic, config: TopicConfig(partitions: meta.partitionCount))
        let mqtt = try MQTTClient(configuration: client, logger: logger)
        try await mqtt.connect()
        let mqttSink = try MQTTSink(configuration: sink, output: output, transport: mqtt, logger: logger)
        do {
            try await runUntilSignalled { try await mqttSink.run() }
        } catch {
            await mqtt.disconnect()
            try? log.close()
            throw error
        }
        await mqtt.disconnect()
        try log.close()
        let stats = mqttSink.stats
        logger.info(
            "sink stopped",
            metadata: [
                "published": "\(stats.published)", "failures": "\(stats.failures)",
                "committed": "\(stats.committedOffsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" })",
            ])
    }
}
