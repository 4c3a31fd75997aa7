import Logging
import PSPFJSON
import PSPFLog
import PSPFTesting
import Testing

@testable import PSPFRuntime

@Suite struct DeadLetterTests {
    private let logger = Logger(label: "test")

    private func envelope(_ reason: String, payload: String, key: String = "dev-1") -> DeadLetterEnvelope {
        DeadLetterEnvelope(
            reason: reason, message: "because", pipeline: "p", sourceTopic: "sensors/\(key)/reading", partition: 2,
            offset: 17, key: Array(key.utf8), appendTime: 1_700_000_000_000, payload: Array(payload.utf8))
    }

    @Test func envelopeRoundTripsThroughItsJSON() {
        let original = envelope("schema_violation", payload: "{\"temp\":\"warm\"}\u{0}\u{1}binary")
        var writer = JSONWriter()
        original.encode(into: &writer)
        let decoded = writer.bytes.withUnsafeBytes { DeadLetterEnvelope(json: $0) }
        #expect(decoded == original)
        #expect(JSONValidator.isValid(writer.bytes))
    }

    @Test func replayReinjectsOriginalBytesOnceAndFilters() async throws {
        try await withTemporaryDirectory { directory in
            let deadLetters = try LogTopic.open(directory: directory + "/dead-letters", config: TopicConfig(fsync: .none), logger: logger)
            let input = try LogTopic.open(directory: directory + "/readings", config: TopicConfig(partitions: 2, fsync: .none), logger: logger)
            var batch = LogBatch()
            for (index, reason) in ["schema_violation", "late", "schema_violation"].enumerated() {
                var writer = JSONWriter()
                envelope(reason, payload: #"{"n":\#(index)}"#, key: "dev-\(index)").encode(into: &writer)
                batch.append(key: "k", payload: String(decoding: writer.bytes, as: UTF8.self))
            }
            batch.append(key: "k", payload: "not an envelope")
            try await deadLetters.appendDurably(batch)

            let replayer = DeadLetterReplayer(deadLetters: deadLetters, input: input)
            let dry = try await replayer.replay(dryRun: true) { $0.reason == "schema_violation" }
            #expect(dry == .init(examined: 4, replayed: 2, unreadable: 1))
            let report = try await replayer.replay { $0.reason == "schema_violation" }
            #expect(report == .init(examined: 4, replayed: 2, unreadable: 1))
            // The replay position moved: a second replay finds nothing new.
            let again = try await replayer.replay()
            #expect(again == .init())

            var replayed: [(key: String, topic: String, payload: String)] = []
            for partition in 0..<input.partitionCount {
                try input.reader(partition: partition).read(from: 0) { record in
                    replayed.append(
                        (String(decoding: record.key, as: UTF8.self), String(decoding: record.topic, as: UTF8.self),
                         String(decoding: record.payload, as: UTF8.self)))
                }
            }
            #expect(replayed.map(\.payload).sorted() == [#"{"n":0}"#, #"{"n":2}"#])
            #expect(replayed.map(\.topic).sorted() == ["sensors/dev-0/reading", "sensors/dev-2/reading"])
            #expect(replayed.map(\.key).sorted() == ["dev-0", "dev-2"])
            try input.close()
            try deadLetters.close()
        }
    }
}
