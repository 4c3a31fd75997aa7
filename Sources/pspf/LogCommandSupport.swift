import ArgumentParser
import Foundation
import Logging
import PSPFJSON
import PSPFLog

/// Options shared by the `pspf log` subcommands.
struct LogDirectoryOptions: ParsableArguments {
    @Option(name: .long, help: "The log directory (holds one directory per topic).")
    var dir: String

    /// Warnings (recovery, corruption) go to stderr.
    var logger: Logger {
        var logger = Logger(label: "pspf.log") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = .warning
        return logger
    }

    /// The topics to look at: `only`, or every topic in the directory.
    func topicNames(only: String?) throws -> [String] {
        if let only { return [only] }
        let names = try PartitionedLog.topicNames(in: dir)
        if names.isEmpty { throw ValidationError("no topics in \(dir)") }
        return names
    }

    func openTopic(_ name: String) throws -> LogTopic {
        try LogTopic.openReadOnly(directory: (dir as NSString).appendingPathComponent(name), logger: logger)
    }
}

func printJSON(_ build: (inout JSONWriter) -> Void) {
    var writer = JSONWriter()
    build(&writer)
    print(String(decoding: writer.bytes, as: UTF8.self))
}

/// Left-aligned text columns.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let cells = row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
