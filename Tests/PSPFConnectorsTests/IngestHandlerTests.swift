import Foundation
import PSPFJSON
import PSPFLog
import PSPFMQTT
import PSPFRuntime
import PSPFTesting
import Synchronization
import Testing

@testable import PSPFConnectors

/// The ingest handler without a broker: messages go in through `receive`, exactly as the MQTT
/// client's network thread delivers them, and batches end with `readPhaseEnded`.
@Suite(.timeLimit(.minutes(1))) struct IngestHandlerTests {
    struct Topics {
        let log: PartitionedLog
        let input: LogTopic
        let deadLetters: LogTopic
    }

    func withTopics<T>(
        partitions: Int = 4, config: TopicConfig? = nil, clock: TestLogClock = TestLogClock(),
        _ body: (Topics) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, clock: clock.logClock, logger: testLogger)
            let input = try log.topic("input", config: config ?? TopicConfig(partitions: partitions, fsync: .every))
            let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .every))
            defer { try? log.close() }
            return try await body(Topics(log: log, input: input, deadLetters: deadLetters))
        }
    }

    func sensorConfiguration() -> MQTTIngestConfiguration {
        var configuration = MQTTIngestConfiguration(topicFilters: ["sensors/+/reading"], key: .topicSegment(1))
        configuration.eventTime = EventTimeField("ts")
        return configuration
    }

    @Test("Messages land in their key's partition with key, topic, payload and event time as they arrived")
    func roundTrip() async throws {
        try await withTopics { topics in
            let handler = try MQTTIngestHandler(
                configuration: sensorConfiguration(), input: topics.input, deadLetters: topics.deadLetters, logger: testLogger)
            var sent: [(topic: String, payload: String, device: String, ts: Int64)] = []
            for index in 0..<40 {
                let device = "dev-\(index % 7)"
                let ts = 1_732_406_400_000 + Int64(index) * 1000
                let topic = "sensors/\(device)/reading"
                let payload = readingPayload(device: device, ts: ts, seq: index)
                handler.receive(topic, payload)
                sent.append((topic, payload, device, ts))
            }
            try handler.readPhaseEnded()

            let records = try readAll(topics.input)
            #expect(records.count == sent.count)
            for record in records {
                let match = sent.first { $0.payload == record.payloadString }
                #expect(match != nil)
                guard let match else { continue }
                #expect(record.keyString == match.device)
                #expect(record.topicString == match.topic)
                #expect(record.eventTime == match.ts)
                #expect(record.partition == topics.input.partition(forKey: Array(match.device.utf8)))
            }
            // Per device, in arrival order.
            for device in Set(sent.map(\.device)) {
                let stored = records.filter { $0.keyString == device }.sorted { $0.offset < $1.offset }.map(\.payloadString)
                #expect(stored == sent.filter { $0.device == device }.map(\.payload))
            }
            let stats = handler.stats
            #expect(stats.received == 40)
            #expect(stats.appended == 40)
            #expect(stats.appendedBytes == Int64(sent.reduce(0) { $0 + $1.payload.utf8.count }))
            #expect(stats.duplicates == 0 && stats.deadLettered == 0 && stats.readPhases == 1 && stats.flushes == 1)
        }
    }

    @Test("Keys from a payload field (strings with escapes, numbers); event time from RFC 3339 or epoch seconds")
    func payloadFieldKeys() async throws {
        try await withTopics(partitions: 2) { topics in
            var configuration = MQTTIngestConfiguration(topicFilters: ["#"], key: .payloadField("meta.device"))
            configuration.eventTime = EventTimeField("time")
            let handler = try MQTTIngestHandler(
                configuration: configuration, input: topics.input, deadLetters: topics.deadLetters, logger: testLogger)
            handler.receive("a/b", #"{"meta":{"device":"d\u0065v-1"},"time":"2024-11-24T00:00:01.5Z"}"#)
            handler.receive("a/c", #"{"meta":{"device":42},"time":1732406400123}"#)
            try handler.readPhaseEnded()
            let records = try readAll(topics.input).sorted { $0.payload.count < $1.payload.count }
            #expect(records.map(\.keyString) == ["42", "dev-1"])
            #expect(records.map(\.eventTime) == [1_732_406_400_123, 1_732_406_401_500])

            var seconds = configuration
            seconds.eventTime = EventTimeField("time", format: .epoch(.seconds))
            let fields = IngestFieldReader(configuration: seconds)
            var topic = "t"
            var payload = #"{"meta":{"device":"x"},"time":1732406400.25}"#
            let time = topic.withUTF8 { t in
                payload.withUTF8 { p in
                    try? fields.read(topic: UnsafeRawBufferPointer(t), payload: UnsafeRawBufferPointer(p)).get().eventTime
                }
            }
            #expect(time == 1_732_406_400_250)
        }
    }

    @Test("Topic segments", arguments: [
        ("sensors/dev-1/reading", 0, "sensors"), ("sensors/dev-1/reading", 1, "dev-1"), ("sensors/dev-1/reading", 2, "reading"),
        ("a", 0, "a"), ("a//b", 1, ""), ("/x", 1, "x"),
    ])
    func topicSegments(topic: String, index: Int, expected: String) {
        var topic = topic
        let segment = topic.withUTF8 { IngestFieldReader.segment(index, of: UnsafeRawBufferPointer($0)).map { String(decoding: $0, as: UTF8.self) } }
        #expect(segment == expected)
        var short = "a/b"
        #expect(short.withUTF8 { IngestFieldReader.segment(2, of: UnsafeRawBufferPointer($0)) } == nil)
    }

    @Test("Oversized payloads and messages without a key go to the dead-letter topic with the reason")
    func deadLetters() async throws {
        try await withTopics { topics in
            var configuration = MQTTIngestConfiguration(topicFilters: ["#"], key: .payloadField("device"))
            configuration.maxPayloadBytes = 64
            let handler = try MQTTIngestHandler(
                configuration: configuration, input: topics.input, deadLetters: topics.deadLetters, logger: testLogger)
            let big = #"{"device":"dev-1","blob":"\#(String(repeating: "x", count: 100))"}"#
            handler.receive("s/dev-1", big)
            handler.receive("s/dev-2", #"{"temp":1}"#)                  // field missing
            handler.receive("s/dev-3", #"{"device":"dev-3","#)          // invalid JSON
            handler.receive("s/dev-4", #"{"device":{"id":4}}"#)         // wrong kind
            handler.receive("s/dev-5", #"{"device":"dev-5"}"#)          // fine
            try handler.readPhaseEnded()

            #expect(try readAll(topics.input).map(\.keyString) == ["dev-5"])
            let letters = try readAll(topics.deadLetters).map { try JSONValue(parsing: $0.payload) }
            #expect(letters.map { $0["reason"]?.stringValue } == ["payload_too_large", "missing_key", "missing_key", "missing_key"])
            #expect(letters.map { $0["source"]?["topic"]?.stringValue } == ["s/dev-1", "s/dev-2", "s/dev-3", "s/dev-4"])
            #expect(letters.allSatisfy { $0["pipeline"]?.stringValue == "ingest" })
            #expect(letters[0]["message"]?.stringValue?.contains("exceeds maxPayloadBytes 64") == true)
            #expect(letters[1]["message"]?.stringValue?.contains("'device' is missing") == true)
            #expect(letters[2]["message"]?.stringValue?.contains("not valid JSON") == true)
            #expect(letters[3]["message"]?.stringValue?.contains("is a JSON object") == true)
            #expect(Base64.decode(letters[0]["payload_base64"]?.stringValue ?? "") == Array(big.utf8))
            let stats = handler.stats
            #expect(stats.deadLettered == 4 && stats.appended == 1 && stats.received == 5)

            // A topic-segment key: a topic without that level is keyless too.
            let bySegment = try MQTTIngestHandler(
                configuration: MQTTIngestConfiguration(topicFilters: ["#"], key: .topicSegment(2)), input: topics.input,
                deadLetters: topics.deadLetters, logger: testLogger)
            bySegment.receive("short/topic", "{}")
            bySegment.receive("empty//", "{}")
            try bySegment.readPhaseEnded()
            let more = try readAll(topics.deadLetters).suffix(2).map { try JSONValue(parsing: $0.payload) }
            #expect(more.map { $0["reason"]?.stringValue } == ["missing_key", "missing_key"])
            #expect(more[0]["message"]?.stringValue?.contains("has no level 2") == true)
            #expect(more[1]["message"]?.stringValue?.contains("is empty") == true)
        }
    }

    @Test("A batch is durable when readPhaseEnded returns; QoS 0 batches are not flushed")
    func durableBeforeAck() async throws {
        try await withTopics(partitions: 2) { topics in
            let flushes = Mutex(0)
            let handler = try MQTTIngestHandler(
                configuration: sensorConfiguration(), input: topics.input, deadLetters: topics.deadLetters,
                clock: .system, logger: testLogger,
                flush: { topic in
                    flushes.withLock { $0 += 1 }
                    try topic.flush()
                })
            for index in 0..<10 {
                handler.receive("sensors/dev-\(index)/reading", readingPayload(device: "dev-\(index)", ts: Int64(index), seq: index))
            }
            try handler.readPhaseEnded()
            // Readers see only durable records: every appended record is visible now.
            let durable = (0..<2).map { topics.input.endOffset(partition: $0) }.reduce(0, +)
            #expect(durable == 10)
            #expect(flushes.withLock { $0 } == 1)

            handler.receive("sensors/dev-x/reading", readingPayload(device: "dev-x", ts: 1, seq: 99), qos: .atMostOnce)
            try handler.readPhaseEnded()
            #expect(flushes.withLock { $0 } == 1, "nothing to acknowledge: no blocking flush")
            #expect(handler.stats.flushes == 1 && handler.stats.readPhases == 2 && handler.stats.appended == 11)
        }
    }

    @Test("A failing flush throws, and the batch's messages are appended again when redelivered")
    func failingFlushThrows() async throws {
        try await withTopics(partitions: 1) { topics in
            let failNext = Mutex(true)
            let handler = try MQTTIngestHandler(
                configuration: sensorConfiguration(), input: topics.input, deadLetters: topics.deadLetters,
                clock: .system, logger: testLogger,
                flush: { topic in
                    if failNext.withLock({ $0 }) { throw LogError(.io, "injected fsync failure") }
                    try topic.flush()
                })
            let events = Observed<[MQTTIngestEvent]>([])
            handler.observe { event in events.update { $0.append(event) } }
            handler.receive("sensors/a/reading", readingPayload(device: "a", ts: 1, seq: 1))
            handler.receive("sensors/a/reading", readingPayload(device: "a", ts: 2, seq: 2))
            #expect {
                try handler.readPhaseEnded()
            } throws: { error in
                (error as? ConnectorError)?.code == .log && "\(error)".contains("injected fsync failure")
            }
            #expect(handler.stats.failedPhases == 1)
            if case .batchFailed(let messages, _)? = events.value.last { #expect(messages == 2) } else { Issue.record("no batchFailed event") }

            // The broker redelivers the batch: not durable before, so not duplicates now.
            failNext.withLock { $0 = false }
            handler.receive("sensors/a/reading", readingPayload(device: "a", ts: 1, seq: 1))
            handler.receive("sensors/a/reading", readingPayload(device: "a", ts: 2, seq: 2))
            try handler.readPhaseEnded()
            #expect(handler.stats.duplicates == 0)
            #expect(handler.stats.appended == 4)
        }
    }

    @Test("An append that fails withholds the acknowledgement of the whole batch")
    func appendFailureThrows() async throws {
        try await withTopics(partitions: 1) { topics in
            let handler = try MQTTIngestHandler(
                configuration: sensorConfiguration(), input: topics.input, deadLetters: topics.deadLetters, logger: testLogger)
            handler.receive("sensors/a/reading", readingPayload(device: "a", ts: 1, seq: 1))
            try topics.input.close()
            handler.receive("sensors/a/reading", readingPayload(device: "a", ts: 2, seq: 2))
            handler.receive("sensors/a/reading", readingPayload(device: "a", ts: 3, seq: 3))
            #expect {
                try handler.readPhaseEnded()
            } throws: { error in
                (error as? ConnectorError)?.code == .log
            }
            // The batch is appended as a whole at the end of the read phase: none of it is in.
            let stats = handler.stats
            #expect(stats.appended == 0 && stats.rejected == 3 && stats.failedPhases == 1)
        }
    }
}
