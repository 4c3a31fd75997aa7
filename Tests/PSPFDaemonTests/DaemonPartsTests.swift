import Foundation
import Logging
import PSPFConfig
import PSPFConnectors
import PSPFTesting
import Testing

@testable import PSPFDaemon

/// The daemon's small pure parts: file sink paths, the console's text line, logfmt quoting.
struct DaemonPartsTests {
    @Test(
        "SinkFactory.split: the directory is what precedes the first placeholder",
        arguments: [
            ("/data/results/{pipeline}/{date}.jsonl", "/data/results", "{pipeline}/{date}.jsonl"),
            ("/data/results/{pipeline}.jsonl", "/data/results", "{pipeline}.jsonl"),
            ("/data/results/r-{pipeline}.jsonl", "/data/results", "r-{pipeline}.jsonl"),
            ("/data/{pipeline}/x/{date}.jsonl", "/data", "{pipeline}/x/{date}.jsonl"),
            ("/data/out.jsonl", "/data", "out.jsonl"),
            ("/out.jsonl", "/", "out.jsonl"),
            ("/{pipeline}.jsonl", "/", "{pipeline}.jsonl"),
            ("out.jsonl", ".", "out.jsonl"),
            ("{pipeline}.jsonl", ".", "{pipeline}.jsonl"),
            ("out/{pipeline}.jsonl", "out", "{pipeline}.jsonl"),
        ])
    func splitPath(path: String, directory: String, template: String) {
        let split = SinkFactory.split(path: path)
        #expect(split.directory == directory)
        #expect(split.template == template)
    }

    @Test("a file sink path's {sink} is the sink's name, not an empty result field")
    func fileSinkNamePlaceholder() async throws {
        try await withTemporaryDirectory(prefix: "pspf-factory-") { directory in
            let yaml = """
                version: 1
                data_dir: \(directory)
                brokers:
                  local: {host: 127.0.0.1, client_id: test}
                sources:
                  sensors: {broker: local, topics: [sensors/+/reading], key: {topic_segment: 1}}
                pipelines:
                  temps:
                    source: sensors
                    key: {topic_segment: 1}
                    timestamp: processing_time
                    window: {type: tumbling, size: 1s}
                    sinks: [archive]
                sinks:
                  archive: {type: file, path: "\(directory)/out/{sink}/{pipeline}.jsonl"}
                """
            let configuration = try ConfigLoader.load(yaml: yaml, baseDirectory: directory)
            let factory = SinkFactory(
                configuration: configuration, logger: Logger(label: "test"), mqttClients: [:], consoleWrite: { _ in })
            let sink = try #require(try factory.makeSink(configuration.sinks[0], pipeline: "temps") as? FileSink)
            #expect(sink.configuration.directory == directory + "/out/archive")
            #expect(sink.configuration.path.description == "{pipeline}.jsonl")
        }
    }

    @Test("ResultLine.format: pipeline, key, UTC window, columns with at most 3 decimals")
    func resultLine() {
        // 2026-01-01T08:15:00Z … 08:15:10Z
        let json =
            #"{"id":"0123456789abcdef","pipeline":"temp-stats","key":"dev-0003","window_start":1767255300000,"window_end":1767255310000,"count":12,"avg_temp":21.53456,"min_temp":20,"max_temp":22.5,"site":"hall-2"}"#
        #expect(
            ResultLine.format(json)
                == "temp-stats  dev-0003  [08:15:00–08:15:10)  count=12 avg_temp=21.535 min_temp=20 max_temp=22.5 site=hall-2")
        // Count windows: the sequence is left out like the id.
        let counted = #"{"id":"x","pipeline":"p","key":"k","window_start":0,"window_end":1000,"window_seq":7,"count":3}"#
        #expect(ResultLine.format(counted) == "p  k  [00:00:00–00:00:01)  count=3")
        // Times wrap at midnight UTC; a missing window shows as ?.
        #expect(ResultLine.format(#"{"pipeline":"p","key":"k","window_start":86399000}"#) == "p  k  [23:59:59–?)  ")
        #expect(ResultLine.format(#"{"pipeline":"p","key":"k","avg":-1.00049}"#) == "p  k  [?–?)  avg=-1")
    }

    @Test("ResultLine.format is nil for anything but a JSON object", arguments: ["", "not json", "[1,2]", "42", #""text""#])
    func resultLineOfNonObjects(text: String) {
        #expect(ResultLine.format(text) == nil)
    }

    @Test(
        "LogfmtLogHandler.quoted: plain tokens as is, everything else quoted and escaped onto one line",
        arguments: [
            ("dev-1", "dev-1"),
            ("/var/lib/pspf", "/var/lib/pspf"),
            ("[\"a\"]", #""[\"a\"]""#),
            ("", #""""#),
            ("two words", #""two words""#),
            ("a=b", #""a=b""#),
            (#"say "hi""#, #""say \"hi\"""#),
            (#"C:\dir"#, #""C:\\dir""#),
            ("line\nbreak", #""line\nbreak""#),
            ("cr\rtab\t", #""cr\rtab\t""#),
            ("bell\u{07}", #""bell\u0007""#),
            ("del\u{7F}", #""del\u007F""#),
            ("température", "température"),
        ])
    func logfmtQuoting(value: String, expected: String) {
        #expect(LogfmtLogHandler.quoted(value) == expected)
    }

    @Test("LogfmtLogHandler writes one line per event, metadata sorted, journald priority when asked")
    func logfmtLines() {
        let lines = Observed<[String]>([])
        var handler = LogfmtLogHandler(label: "pspf", journald: true) { line in lines.update { $0.append(line) } }
        handler.logLevel = .trace
        handler[metadataKey: "sink"] = "api"
        let logger = Logger(label: "pspf") { _ in handler }
        logger.warning("delivery failed\nretrying", metadata: ["attempt": "2", "error": "HTTP 503"])
        #expect(
            lines.value == [#"<4>level=warning label=pspf msg="delivery failed\nretrying" attempt=2 error="HTTP 503" sink=api"#])
    }
}
