import ArgumentParser
import Logging
import PSPFJSON
import PSPFLog
import PSPFRuntime

/// `pspf dlq list|show|replay`: inspect and re-inject dead letters (malformed payloads, schema
/// violations, late records, sink rejections), each stored with its reason, its source and the
/// original bytes.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect and replay dead letters.",
        subcommands: [List.self, Show.self, Replay.self])

    struct Location: ParsableArguments {
        @Option(help: "Log directory (the daemon's: <data_dir>/log).") var dir: String
        @Option(help: "Dead-letter topic (the daemon's: dlq.ingest.<source>, dlq.pipeline.<pipeline>, dlq.sink.<pipeline>.<sink>).")
        var topic = "dead-letters"

        func open(logger: Logger) throws -> LogTopic {
            try LogTopic.openReadOnly(directory: dir + "/" + topic, logger: logger)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, oldest first.")

        @OptionGroup var location: Location
        @Option(help: "Only this reason (malformed_input, schema_violation, late, …).") var reason: String?
        @Option(help: "Only this pipeline.") var pipeline: String?
        @Option(name: [.customShort("n"), .long], help: "At most this many.") var limit = 50
        @Flag(help: "One JSON object per line instead of a table.") var json = false

        @Flag(help: "Every dead-letter topic in --dir (the daemon keeps one per source, pipeline and sink: dlq.*).")
        var all = false

        func run() async throws {
            let names =
                all
                ? try PartitionedLog.topicNames(in: location.dir).filter { $0.hasPrefix("dlq.") || $0 == "dead-letters" }
                : [location.topic]
            var shown = 0
            if !json { print("TOPIC                          PARTITION  OFFSET  REASON              PIPELINE      SOURCE                              KEY         MESSAGE") }
            for name in names {
                let topic = try LogTopic.openReadOnly(directory: location.dir + "/" + name, logger: quietLogger())
                for partition in 0..<topic.partitionCount where shown < limit {
                    try topic.reader(partition: partition).read(from: topic.startOffset(partition: partition)) { record in
                        guard shown < limit, let envelope = DeadLetterEnvelope(json: record.payload),
                            reason.map({ $0 == envelope.reason }) ?? true,
                            pipeline.map({ $0 == envelope.pipeline }) ?? true
                        else { return }
                        shown += 1
                        if json {
                            print(String(decoding: record.payload, as: UTF8.self))
                        } else {
                            let source = "\(envelope.sourceTopic)@\(envelope.partition):\(envelope.offset)"
                            print(
                                [
                                    column(name, 29), column(String(partition), 9), column(String(record.offset), 6),
                                    column(envelope.reason, 18), column(envelope.pipeline, 12), column(source, 34),
                                    column(String(decoding: envelope.key, as: UTF8.self), 10),
                                    String(envelope.message.prefix(100)),
                                ].joined(separator: "  "))
                        }
                    }
                }
            }
            if !json && shown == 0 { print("(no dead letters)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one dead letter with its original payload.")

        @OptionGroup var location: Location
        @Option(help: "Partition of the dead-letter topic.") var partition = 0
        @Argument(help: "Offset in the dead-letter topic.") var offset: Int64

        func run() async throws {
            let topic = try location.open(logger: quietLogger())
            guard (0..<topic.partitionCount).contains(partition) else {
                throw ValidationError("partition \(partition) does not exist (the topic has \(topic.partitionCount))")
            }
            var found = false
            try topic.reader(partition: partition).read(from: offset, maxRecords: 1) { record in
                guard record.offset == offset, let envelope = DeadLetterEnvelope(json: record.payload) else { return }
                found = true
                print("reason:    \(envelope.reason)")
                print("message:   \(envelope.message)")
                print("pipeline:  \(envelope.pipeline)")
                print("source:    topic \(envelope.sourceTopic), input partition \(envelope.partition), offset \(envelope.offset)")
                print("key:       \(String(decoding: envelope.key, as: UTF8.self))")
                print("received:  \(RFC3339.format(milliseconds: envelope.appendTime) ?? String(envelope.appendTime))")
                print("payload (\(envelope.payload.count) bytes):")
                if let text = String(validating: envelope.payload, as: UTF8.self) {
                    print(text)
                } else {
                    print("base64:" + Base64.encode(envelope.payload))
                }
            }
            if !found { throw ValidationError("no dead letter at partition \(partition), offset \(offset)") }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append dead-lettered payloads to an input topic again, byte for byte.",
            discussion: """
                Replays the dead letters after the last replay (kept as the consumer group \
                '\(DeadLetterReplayer.replayGroup)' of the dead-letter topic), or from --from. \
                Stop the daemon first: replay opens the input topic for writing.
                """)

        @OptionGroup var location: Location
        @Option(help: "Input topic to append to (for example readings).") var into: String
        @Option(help: "Only this reason.") var reason: String?
        @Option(help: "Only this pipeline.") var pipeline: String?
        @Option(help: "Start at this dead-letter offset instead of the last replay position.") var from: Int64?
        @Flag(help: "Count what would be replayed; change nothing.") var dryRun = false

        func run() async throws {
            let logger = quietLogger()
            let dlqConfig = TopicConfig(partitions: try location.open(logger: logger).partitionCount)
            let deadLetters = try LogTopic.open(directory: location.dir + "/" + location.topic, config: dlqConfig, logger: logger)
            let inputMeta = try LogTopic.openReadOnly(directory: location.dir + "/" + into, logger: logger)
            let input = try LogTopic.open(
                directory: location.dir + "/" + into, config: TopicConfig(partitions: inputMeta.partitionCount), logger: logger)
            let report = try await DeadLetterReplayer(deadLetters: deadLetters, input: input).replay(
                from: from, dryRun: dryRun
            ) { envelope in
                (reason.map { $0 == envelope.reason } ?? true) && (pipeline.map { $0 == envelope.pipeline } ?? true)
            }
            try input.close()
            try deadLetters.close()
            let verb = dryRun ? "would replay" : "replayed"
            print("\(verb) \(report.replayed) of \(report.examined) dead letters into '\(into)'"
                + (report.unreadable > 0 ? " (\(report.unreadable) unreadable, skipped)" : ""))
        }
    }
}

private func column(_ text: String, _ width: Int) -> String {
    text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
}

private func quietLogger() -> Logger {
    var logger = Logger(label: "pspf.dlq")
    logger.logLevel = .warning
    return logger
}
