import ArgumentParser
import Foundation
import PSPFJSON
import PSPFLog

/// `pspf log tail --dir DIR --topic T --partition P [--from OFFSET] [-n N]`: one JSON object per
/// record.
struct LogTailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print records of one partition as JSON lines.",
        discussion: """
            Each line: offset, partition, eventTime (ms, or null), appendTime (ms), attributes, \
            key, topic, payload and payloadEncoding. A payload that is valid JSON is embedded as \
            is ("json"); other valid UTF-8 becomes a JSON string ("utf8"); anything else is \
            base64 ("base64"). Keys and topics that are not UTF-8 are base64, flagged by \
            keyEncoding/topicEncoding. Without --from, prints the last N records.
            """
    )

    @OptionGroup var options: LogDirectoryOptions

    @Option(help: "Topic name.")
    var topic: String

    @Option(help: "Partition number.")
    var partition: Int = 0

    @Option(help: "First offset to print (default: the last N records).")
    var from: Int64?

    @Option(name: .customShort("n"), help: "Number of records to print.")
    var count: Int = 10

    func run() throws {
        let log = try options.openTopic(topic)
        guard (0..<log.partitionCount).contains(partition) else {
            throw ValidationError("partition \(partition) out of range 0..<\(log.partitionCount)")
        }
        let start = from ?? max(log.startOffset(partition: partition), log.endOffset(partition: partition) - Int64(count))
        let reader = log.reader(partition: partition)
        var writer = JSONWriter(capacity: 4096)
        let result = try reader.read(from: start, maxRecords: count) { record in
            writer.reset()
            Self.write(record, to: &writer)
            print(String(decoding: writer.bytes, as: UTF8.self))
        }
        for region in result.corruptRegions {
            FileHandle.standardError.write(Data("corrupt: \(region)\n".utf8))
        }
    }

    static func write(_ record: LogRecord, to w: inout JSONWriter) {
        w.beginObject()
        w.key("offset"); w.number(record.offset)
        w.key("partition"); w.number(record.partition)
        w.key("eventTime"); if let time = record.eventTime { w.number(time) } else { w.null() }
        w.key("appendTime"); w.number(record.appendTime)
        w.key("attributes"); w.number(Int(record.attributes))
        if let key = utf8(record.key) {
            w.key("key"); w.string(key)
        } else {
            w.key("key"); w.string(Data(record.key).base64EncodedString())
            w.key("keyEncoding"); w.string("base64")
        }
        if let topic = utf8(record.topic) {
            w.key("topic"); w.string(topic)
        } else {
            w.key("topic"); w.string(Data(record.topic).base64EncodedString())
            w.key("topicEncoding"); w.string("base64")
        }
        if isJSON(record.payload) {
            w.key("payload"); w.raw(record.payload)
            w.key("payloadEncoding"); w.string("json")
        } else if let text = utf8(record.payload) {
            w.key("payload"); w.string(text)
            w.key("payloadEncoding"); w.string("utf8")
        } else {
            w.key("payload"); w.string(Data(record.payload).base64EncodedString())
            w.key("payloadEncoding"); w.string("base64")
        }
        w.endObject()
    }

    static func utf8(_ bytes: UnsafeRawBufferPointer) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// An object or array that Foundation parses as JSON (whitespace around it allowed).
    static func isJSON(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }),
              first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        else { return false }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil
    }
}
