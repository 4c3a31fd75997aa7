import Foundation
import PSPFJSON
import PSPFTesting
import Testing

@testable import PSPFConnectors

@Suite struct FileSinkTests {
    private func result(_ index: Int, key: String = "dev-1", start: Int64 = 1_732_406_400_000) -> SinkRecord {
        let payload = #"{"id":"r\#(index)","pipeline":"temp-stats","key":"\#(key)","window_start":\#(start),"window_end":\#(start + 10_000),"count":\#(index),"avg_temp":21.5}"#
        return SinkRecord(partition: 0, offset: Int64(index), id: "r\(index)", payload: Array(payload.utf8))
    }

    private func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test(arguments: [
        ("../../etc/x", "_._.._etc_x"),
        ("dev/../../root", "dev_.._.._root"),
        ("..", "_."),
        (".hidden", "_hidden"),
        ("", "_"),
        ("dev 01;rm -rf", "dev_01_rm_-rf"),
        ("Ünïcode-ok_1.2", "_n_code-ok_1.2"),
    ])
    func substitutedValuesCannotEscapeTheDirectory(value: String, sanitised: String) throws {
        #expect(PathTemplate.sanitise(value) == sanitised)
        let template = try PathTemplate("{pipeline}/{key}.jsonl")
        let path = template.render(try JSONValue(parsing: #"{"pipeline":"p","key":"\#(value)"}"#))
        #expect(path.split(separator: "/").count == 2)
        #expect(!path.split(separator: "/").contains(".."))
        #expect(!path.hasPrefix("/"))
    }

    @Test func templatesAreCheckedWhenParsed() {
        #expect(throws: PathTemplateError.self) { try PathTemplate("/etc/{key}") }
        #expect(throws: PathTemplateError.self) { try PathTemplate("../{key}.jsonl") }
        #expect(throws: PathTemplateError.self) { try PathTemplate("{key") }
        #expect(throws: PathTemplateError.self) { try PathTemplate("{a b}.jsonl") }
    }

    @Test func writesJSONLinesPerTemplatePath() async throws {
        try await withTemporaryDirectory { directory in
            let sink = try FileSink(
                name: "archive",
                configuration: .init(directory: directory, path: try PathTemplate("{pipeline}/{date}/{key}.jsonl")))
            _ = try await sink.deliver([result(0), result(1, key: "dev-2"), result(2)])
            try await sink.close()
            #expect(try await sink.files == ["temp-stats/2024-11-24/dev-1.000001.jsonl", "temp-stats/2024-11-24/dev-2.000001.jsonl"])
            let written = try lines(directory + "/temp-stats/2024-11-24/dev-1.000001.jsonl")
            #expect(written.count == 2 && written[0].contains(#""id":"r0""#) && written[1].contains(#""id":"r2""#))
        }
    }

    @Test func aRestartTruncatesWhatACrashLeftAfterTheLastRecordedBatch() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = FileSink.Configuration(directory: directory, path: try PathTemplate("out.jsonl"))
            let first = try FileSink(name: "f", configuration: configuration)
            _ = try await first.deliver([result(0), result(1)])
            try await first.close()
            // A crash mid-batch: bytes reached the file, the state was not replaced.
            let file = directory + "/out.000001.jsonl"
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"id":"r2","half-writ"#.utf8))
            try handle.close()

            let second = try FileSink(name: "f", configuration: configuration)
            #expect(try await second.resumeOffsets() == [0: 2])
            _ = try await second.deliver([result(2), result(3)])
            try await second.close()
            let ids = try lines(file).map { try JSONValue(parsing: $0)["id"]?.stringValue ?? "" }
            #expect(ids == ["r0", "r1", "r2", "r3"])
        }
    }

    @Test func rotatesBySizeAndByAge() async throws {
        try await withTemporaryDirectory { directory in
            let clock = ManualMilliseconds(start: 0)
            let sink = try FileSink(
                name: "f",
                configuration: .init(directory: directory, path: try PathTemplate("out.jsonl"), maxBytes: 500, maxAgeMilliseconds: 60_000),
                now: { clock.value })
            for index in 0..<6 { _ = try await sink.deliver([result(index)]) }   // 132 bytes each: 4 per file
            clock.value = 120_000
            _ = try await sink.deliver([result(6)])
            try await sink.close()
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".jsonl") }.sorted()
            #expect(files == ["out.000001.jsonl", "out.000002.jsonl", "out.000003.jsonl"])
            let all = try files.flatMap { try lines(directory + "/" + $0) }.map { try JSONValue(parsing: $0)["id"]?.stringValue ?? "" }
            #expect(all == (0...6).map { "r\($0)" })
            #expect(try lines(directory + "/out.000002.jsonl").count == 2)  // rotated by age, not size
            #expect(try lines(directory + "/out.000003.jsonl").count == 1)
        }
    }

    @Test func csvHasAHeaderAndQuotesWhatNeedsIt() async throws {
        try await withTemporaryDirectory { directory in
            let sink = try FileSink(
                name: "csv",
                configuration: .init(
                    directory: directory, path: try PathTemplate("out.csv"), format: .csv,
                    csvColumns: ["id", "key", "count", "avg_temp"]))
            _ = try await sink.deliver([result(0, key: "dev,1"), result(1)])
            try await sink.close()
            #expect(try lines(directory + "/out.000001.csv") == ["id,key,count,avg_temp", #"r0,"dev,1",0,21.5"#, "r1,dev-1,1,21.5"])
        }
    }
}

extension FileSinkTests {
    @Test func csvQuotingFollowsRFC4180() {
        #expect(FileSink.csvLine([.string(#"say "hi""#), .integer(1), .null, .number(2.5), .string("a\nb")]) == "\"say \"\"hi\"\"\",1,,2.5,\"a\nb\"\n")
    }
}

/// A settable millisecond clock for the file sink's rotation by age.
final class ManualMilliseconds: @unchecked Sendable {
    var value: Int64
    init(start: Int64) { value = start }
}
