import ArgumentParser
import Foundation
import Logging
import PSPFConnectors
import PSPFJSON
import PSPFLog
import PSPFMQTT

/// `pspf ingest`: the durable MQTT ingest on its own: subscribe, append every message to the
/// input log before acknowledging it, until SIGTERM/SIGINT. See docs/ingest.md.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Subscribe to MQTT and append every message durably to the input log before acknowledging it.",
        discussion: """
            Runs until SIGTERM or SIGINT, then finishes the batch in hand (flushed and \
            acknowledged), disconnects and closes the log. Uses a persistent session (stable \
            client id, clean session off), so the broker keeps QoS 1 messages while it is down. \
            With --progress it prints one JSON line per durable batch (for scripts and tests).
            """)

    @OptionGroup var brokerOptions: BrokerOptions

    @Option(name: .customLong("topic"), help: "Topic filter to subscribe to (repeatable).")
    var topics: [String] = []

    @Option(help: "Log directory (one directory per topic).")
    var dir: String

    @Option(help: "Key = this level of the MQTT topic (0-based), e.g. 1 for sensors/<device>/reading.")
    var keySegment: Int?

    @Option(help: "Key = this payload field (dotted path).")
    var keyField: String?

    @Option(help: "Payload field holding the event time.")
    var tsField: String?

    @Option(help: "Event time format: auto (number = epoch ms, string = RFC 3339), ms, s, us, rfc3339.")
    var tsFormat: String = "auto"

    @Option(help: "Subscription QoS (1 recommended; 2 is weaker for a crashing consumer).")
    var qos: Int = 1

    @Option(help: "Partitions of the input topic (fixed when the topic is created).")
    var partitions: Int = 4

    @Option(help: "Group commit interval of the input topic in ms (0: fsync every batch).")
    var fsyncIntervalMs: Int = 1

    @Option(help: "Larger payloads go to the dead-letter topic.")
    var maxPayloadBytes: Int = 256 << 10

    @Option(help: "Disk quota of the input topic in bytes (reading pauses when it fills).")
    var quotaBytes: Int64?

    @Option(help: "Size retention of the input topic in bytes (only consumed segments are deleted).")
    var retentionBytes: Int64?

    @Option(help: "Input topic name in the log.")
    var inputTopic: String = "input"

    @Option(help: "Dead-letter topic name in the log.")
    var deadLetterTopic: String = "dead-letters"

    @Option(help: "De-duplication identity: key-ts (key + event time), field:NAME (message-id field), payload, none.")
    var dedup: String = "key-ts"

    @Option(help: "De-duplication horizon in seconds of append time.")
    var dedupHorizonS: Int = 600

    @Option(help: "De-duplication memory bound (entries).")
    var dedupMaxEntries: Int = 1_000_000

    @Flag(help: "Print a JSON line when subscribed and after every durable batch.")
    var progress = false

    @Option(help: "Log level on stderr.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if topics.isEmpty { throw ValidationError("give at least one --topic filter") }
        if (keySegment == nil) == (keyField == nil) { throw ValidationError("give exactly one of --key-segment and --key-field") }
        if !(0...2).contains(qos) { throw ValidationError("--qos must be 0, 1 or 2") }
    }

    func ingestConfiguration() throws -> MQTTIngestConfiguration {
        let key: IngestKey = keySegment.map { .topicSegment($0) } ?? .payloadField(JSONFieldPath(keyField!))
        var configuration = MQTTIngestConfiguration(topicFilters: topics, qos: MQTTQoS(rawValue: Int32(qos))!, key: key)
        if let tsField {
            let format: JSONTimestampFormat? =
                switch tsFormat {
                case "auto": nil
                case "ms": .epoch(.milliseconds)
                case "s": .epoch(.seconds)
                case "us": .epoch(.microseconds)
                case "rfc3339": .rfc3339
                default: throw ValidationError("--ts-format must be auto, ms, s, us or rfc3339")
                }
            configuration.eventTime = EventTimeField(JSONFieldPath(tsField), format: format)
        }
        let identity: Deduplication.Identity
        switch dedup {
        case "key-ts": identity = .keyAndEventTime
        case "payload": identity = .payloadBytes
        case "none": identity = .none
        case let value where value.hasPrefix("field:"): identity = .payloadField(JSONFieldPath(String(value.dropFirst(6))))
        default: throw ValidationError("--dedup must be key-ts, field:NAME, payload or none")
        }
        configuration.deduplication =
            identity == .none
            ? .disabled : Deduplication(identity: identity, horizon: .seconds(dedupHorizonS), maxEntries: dedupMaxEntries)
        configuration.maxPayloadBytes = maxPayloadBytes
        return configuration
    }

    func run() async throws {
        let logger = stderrLogger("pspf.ingest", level: logLevel)
        let ingest = try ingestConfiguration()
        let client = try brokerOptions.configuration(
            defaultClientID: "pspf-ingest-\(hostName())", persistent: ingest.qos != .atMostOnce)
        let fsync: FsyncPolicy = fsyncIntervalMs == 0 ? .every : .interval(milliseconds: fsyncIntervalMs)
        let log = try PartitionedLog(directory: dir, logger: logger)
        let input = try log.topic(
            inputTopic,
            config: TopicConfig(
                partitions: partitions, fsync: fsync, retention: Retention(maxBytes: retentionBytes),
                diskQuotaBytes: quotaBytes, quotaPolicy: .block))
        let deadLetters = try log.topic(deadLetterTopic, config: TopicConfig(partitions: 1, fsync: fsync))
        let source = try MQTTIngestSource(
            client: client, ingest: ingest, input: input, deadLetters: deadLetters, logger: logger)
        logger.info(
            "ingest starting",
            metadata: [
                "mqtt": "\(client)", "topics": "\(topics)", "key": "\(ingest.key)", "log": "\(dir)",
                "dedup_rebuilt": "\(source.handler.rebuildReport.entriesLoaded)",
            ])
        if progress {
            source.handler.observe { [input] event in
                guard case .batchCompleted(let messages, let appended, true) = event else { return }
                var records: Int64 = 0
                for partition in 0..<input.partitionCount {
                    records += input.endOffset(partition: partition) - input.startOffset(partition: partition)
                }
                emitLine(#"{"event":"batch","messages":\#(messages),"appended":\#(appended),"log_records":\#(records)}"#)
            }
        }
        let showProgress = progress
        do {
            try await runUntilSignalled {
                try await source.run {
                    if showProgress { emitLine(#"{"event":"subscribed"}"#) }
                }
            }
        } catch {
            try? log.close()
            throw error
        }
        let stats = source.stats
        try log.close()
        logger.info(
            "ingest stopped",
            metadata: [
                "received": "\(stats.received)", "appended": "\(stats.appended)", "duplicates": "\(stats.duplicates)",
                "dead_lettered": "\(stats.deadLettered)", "rejected": "\(stats.rejected)", "pauses": "\(stats.pauses)",
            ])
        if progress {
            emitLine(
                #"{"event":"stopped","received":\#(stats.received),"appended":\#(stats.appended),"duplicates":\#(stats.duplicates),"dead_lettered":\#(stats.deadLettered),"rejected":\#(stats.rejected)}"#
            )
        }
    }
}
