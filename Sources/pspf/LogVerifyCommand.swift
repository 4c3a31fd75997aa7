import ArgumentParser
import PSPFLog

/// `pspf log verify --dir DIR [--topic T]`: CRC check of every segment; exits 1 if any record is
/// corrupt.
struct LogVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the CRC of every record in every segment; exit status 1 if any is corrupt.",
        discussion: """
            A torn tail (an incomplete last write, which opening the topic for writing \
            truncates) is reported as tail bytes but is not counted as corruption.
            """
    )

    @OptionGroup var options: LogDirectoryOptions

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @Option(help: "Only this topic.")
    var topic: String?

    func run() throws {
        var corrupt: Int64 = 0
        var rows: [[String]] = []
        for name in try options.topicNames(only: topic) {
            let report = try options.openTopic(name).verify()
            for partition in report.partitions {
                corrupt += partition.corruptRecords
                if json {
                    printJSON { w in
                        w.beginObject()
                        w.key("topic"); w.string(name)
                        w.key("partition"); w.number(partition.partition)
                        w.key("segments"); w.number(partition.segments)
                        w.key("validRecords"); w.number(partition.validRecords)
                        w.key("corruptRecords"); w.number(partition.corruptRecords)
                        w.key("corruptRegions"); w.number(partition.corruptRegions.count)
                        w.key("tailBytes"); w.number(partition.tailBytes)
                        w.endObject()
                    }
                } else {
                    rows.append([
                        name, "\(partition.partition)", "\(partition.segments)", "\(partition.validRecords)",
                        "\(partition.corruptRecords)", "\(partition.corruptRegions.count)", "\(partition.tailBytes)",
                    ])
                }
                for region in partition.corruptRegions where !json {
                    print("  corrupt: \(region)")
                }
            }
        }
        if !json {
            printTable(["TOPIC", "PARTITION", "SEGMENTS", "VALID", "CORRUPT", "REGIONS", "TAIL_BYTES"], rows)
            print(corrupt == 0 ? "OK: no corrupt records" : "CORRUPT: \(corrupt) record(s) unreadable")
        }
        if corrupt > 0 { throw ExitCode(1) }
    }
}
