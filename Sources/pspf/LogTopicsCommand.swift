import ArgumentParser
import PSPFLog

/// `pspf log topics --dir DIR`: topics, partitions, start/end offsets and sizes.
struct LogTopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "List topics with per-partition start/end offsets and sizes."
    )

    @OptionGroup var options: LogDirectoryOptions

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func run() throws {
        var rows: [[String]] = []
        for name in try options.topicNames(only: nil) {
            let topic = try options.openTopic(name)
            for p in 0..<topic.partitionCount {
                let info = topic.info(partition: p)
                if json {
                    printJSON { w in
                        w.beginObject()
                        w.key("topic"); w.string(name)
                        w.key("partitions"); w.number(topic.partitionCount)
                        w.key("partition"); w.number(p)
                        w.key("startOffset"); w.number(info.startOffset)
                        w.key("endOffset"); w.number(info.endOffset)
                        w.key("records"); w.number(info.endOffset - info.startOffset)
                        w.key("segments"); w.number(info.segments)
                        w.key("bytes"); w.number(info.bytes)
                        w.endObject()
                    }
                } else {
                    rows.append([
                        name, "\(p)/\(topic.partitionCount)", "\(info.startOffset)", "\(info.endOffset)",
                        "\(info.endOffset - info.startOffset)", "\(info.segments)", formatBytes(info.bytes),
                    ])
                }
            }
        }
        if !json {
            printTable(["TOPIC", "PARTITION", "START", "END", "RECORDS", "SEGMENTS", "SIZE"], rows)
        }
    }
}
