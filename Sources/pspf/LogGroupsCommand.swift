import ArgumentParser
import PSPFLog

/// `pspf log groups --dir DIR [--topic T]`: consumer groups, committed offsets and lag.
struct LogGroupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups", abstract: "List consumer groups with committed offsets and lag per partition."
    )

    @OptionGroup var options: LogDirectoryOptions

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @Option(help: "Only this topic.")
    var topic: String?

    func run() throws {
        var rows: [[String]] = []
        for name in try options.topicNames(only: topic) {
            let log = try options.openTopic(name)
            for group in log.groups.names {
                let offsets = log.groups.offsets(of: group) ?? []
                for p in 0..<log.partitionCount {
                    let end = log.endOffset(partition: p)
                    let start = log.startOffset(partition: p)
                    let committed = p < offsets.count ? offsets[p] : nil
                    // Lag: records from the committed offset (or the start, if none) to the end.
                    let lag = max(0, end - max(committed ?? start, start))
                    if json {
                        printJSON { w in
                            w.beginObject()
                            w.key("topic"); w.string(name)
                            w.key("group"); w.string(group)
                            w.key("partition"); w.number(p)
                            w.key("committed"); if let committed { w.number(committed) } else { w.null() }
                            w.key("endOffset"); w.number(end)
                            w.key("lag"); w.number(lag)
                            w.endObject()
                        }
                    } else {
                        rows.append([name, group, "\(p)", committed.map { "\($0)" } ?? "-", "\(end)", "\(lag)"])
                    }
                }
            }
        }
        if !json {
            printTable(["TOPIC", "GROUP", "PARTITION", "COMMITTED", "END", "LAG"], rows)
        }
    }
}
