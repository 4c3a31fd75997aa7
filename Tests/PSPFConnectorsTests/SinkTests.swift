import Foundation
import PSPFJSON
import PSPFLog
import PSPFMQTT
import PSPFTesting
import Synchronization
import Testing

@testable import PSPFConnectors

/// A result object as the LocalRunner writes it.
func resultJSON(index: Int, key: String, pipeline: String = "temp-stats") -> String {
    let start = 1_732_406_400_000 + Int64(index) * 10_000
    return #"{"id":"\#(String(format: "%016x", index))","pipeline":"\#(pipeline)","key":"\#(key)","window_start":\#(start),"window_end":\#(start + 10_000),"count":\#(index % 7 + 1),"avg_temp":21.5}"#
}

func appendResults(_ topic: LogTopic, range: Range<Int>, keys: Int = 5) async throws -> [String] {
    var batch = LogBatch()
    var payloads: [String] = []
    for index in range {
        let payload = resultJSON(index: index, key: "dev-\(index % keys)")
        payloads.append(payload)
        batch.append(key: "dev-\(index % keys)", payload: payload)
    }
    try await topic.appendDurably(batch)
    return payloads
}

@Suite struct TopicTemplateTests {
    @Test("Placeholders are filled from result fields, sanitised and bounded", arguments: [
        ("agg/{key}", #"{"key":"dev-1"}"#, "agg/dev-1"),
        ("agg/{key}", #"{"key":"a/b+c#d"}"#, "agg/a_b_c_d"),
        ("agg/{key}", #"{"key":"a\/b\u0000c"}"#, "agg/a_b_c"),
        ("agg/{key}", #"{"key":""}"#, "agg/_"),
        ("agg/{key}", #"{"other":1}"#, "agg/_"),
        ("agg/{key}", #"{"key":null}"#, "agg/_"),
        ("agg/{key}", "not json", "agg/_"),
        ("{key}/x", #"{"key":"$SYS"}"#, "_SYS/x"),
        ("a/{key}", #"{"key":"$SYS"}"#, "a/$SYS"),
        ("{pipeline}/{key}/{id}", #"{"id":"00ff","pipeline":"temp","key":"dev-2"}"#, "temp/dev-2/00ff"),
        ("w/{window_start}/{count}", #"{"window_start":1732406400000,"count":3}"#, "w/1732406400000/3"),
        ("s/{meta.site}", #"{"meta":{"site":"b7"}}"#, "s/b7"),
        ("k/{key}", #"{"key":"é\u0001x"}"#, "k/é_x"),
    ])
    func render(template: String, payload: String, expected: String) throws {
        #expect(try TopicTemplate(template).render(payload: payload) == expected)
    }

    @Test("Values are cut to maxValueBytes on a character boundary")
    func bounded() throws {
        let template = try TopicTemplate("t/{key}", maxValueBytes: 5)
        #expect(template.render(payload: #"{"key":"abcdefgh"}"#) == "t/abcde")
        #expect(template.render(payload: #"{"key":"abcdé"}"#) == "t/abcd")   // é is 2 bytes: not split
        #expect(template.render(payload: #"{"key":"éééé"}"#) == "t/éé")
    }

    @Test("Invalid templates are refused", arguments: ["", "a/+/b", "a/#", "a/{key", "a/key}", "a/{}", "a/{{key}}"])
    func invalid(template: String) {
        #expect(throws: ConnectorError.self) { try TopicTemplate(template) }
    }
}

@Suite struct DeliveryTrackerTests {
    @Test("The delivered offset is the contiguous prefix of acknowledged records")
    func contiguousPrefix() {
        var tracker = DeliveryTracker(start: [0: 10, 1: 0])
        for offset in Int64(10)..<15 { tracker.sent(partition: 0, offset: offset) }
        #expect(tracker.inflightCount == 5 && tracker.delivered(partition: 0) == 10)
        var moved = tracker.completed(partition: 0, offset: 12, success: true)
        #expect(!moved)
        moved = tracker.completed(partition: 0, offset: 11, success: true)
        #expect(!moved)
        #expect(tracker.delivered(partition: 0) == 10)
        moved = tracker.completed(partition: 0, offset: 10, success: true)
        #expect(moved)
        #expect(tracker.delivered(partition: 0) == 13)
        moved = tracker.completed(partition: 0, offset: 12, success: true)
        #expect(!moved, "a second completion is ignored")
        moved = tracker.completed(partition: 0, offset: 13, success: true)
        #expect(moved)
        moved = tracker.completed(partition: 0, offset: 14, success: true)
        #expect(moved)
        #expect(tracker.delivered(partition: 0) == 15 && tracker.inflightCount == 0)
        tracker.caughtUp(partition: 0, position: 20)      // retention skipped 15..<20
        #expect(tracker.delivered(partition: 0) == 20)
        #expect(tracker.delivered(partition: 1) == 0)
    }

    @Test("A failure blocks the prefix; the rewind resumes at it")
    func failureAndRewind() {
        var tracker = DeliveryTracker(start: [0: 0])
        for offset in Int64(0)..<4 { tracker.sent(partition: 0, offset: offset) }
        tracker.completed(partition: 0, offset: 0, success: true)
        tracker.completed(partition: 0, offset: 1, success: false)
        tracker.completed(partition: 0, offset: 2, success: true)
        #expect(tracker.hasFailure && tracker.delivered(partition: 0) == 1)
        tracker.completed(partition: 0, offset: 3, success: true)
        let positions = tracker.rewind()
        #expect(positions == [0: 1])
        #expect(!tracker.hasFailure && tracker.inflightCount == 0)
        tracker.sent(partition: 0, offset: 1)
        tracker.unsent(partition: 0, offset: 1)
        #expect(tracker.inflightCount == 0 && tracker.delivered(partition: 0) == 1)
    }
}

/// A transport that records publishes and completes them only when the test says so.
final class HeldTransport: MQTTSinkTransport {
    struct Publish: Sendable {
        var topic: String
        var payload: [UInt8]
        var qos: MQTTQoS
        var complete: @Sendable (Result<Void, MQTTError>) -> Void
    }
    let publishes = Observed<[Publish]>([])

    func send(
        topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool,
        onComplete: @escaping @Sendable (Result<Void, MQTTError>) -> Void
    ) throws(MQTTError) {
        publishes.update { $0.append(Publish(topic: topic, payload: payload, qos: qos, complete: onComplete)) }
    }

    func acknowledge(_ index: Int) { publishes.value[index].complete(.success(())) }
}

@Suite(.timeLimit(.minutes(1))) struct MQTTSinkTests {
    @Test("The delivered offset advances only on acknowledgement, in order, and a new sink resumes from it")
    func advancesOnAcknowledgement() async throws {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: testLogger)
            defer { try? log.close() }
            let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .every))
            let payloads = try await appendResults(output, range: 0..<10)
            var configuration = MQTTSinkConfiguration(name: "cloud", topic: try TopicTemplate("agg/{key}"))
            configuration.maxInflight = 4
            configuration.commitInterval = .zero
            let transport = HeldTransport()
            let sink = try MQTTSink(configuration: configuration, output: output, transport: transport, logger: testLogger)
            let commits = Observed<Int64>(0)
            sink.observeCommits { offsets in commits.update { $0 = offsets[0] ?? 0 } }
            let run = Task { try await sink.run() }

            // The window: four publishes, then nothing until an acknowledgement.
            try await transport.publishes.wait("4 publishes") { $0.count == 4 }
            #expect(transport.publishes.value.map(\.topic) == ["agg/dev-0", "agg/dev-1", "agg/dev-2", "agg/dev-3"])
            #expect(transport.publishes.value.map { String(decoding: $0.payload, as: UTF8.self) } == Array(payloads.prefix(4)))
            #expect(output.groups.committedOffset(group: "sink.cloud", partition: 0) == nil)

            // Out of order: 2 and 1 acknowledged, 0 still open: nothing is delivered yet.
            transport.acknowledge(2)
            transport.acknowledge(1)
            try await transport.publishes.wait("two more publishes") { $0.count == 6 }
            #expect(sink.stats.deliveredOffsets[0] == 0)
            #expect(output.groups.committedOffset(group: "sink.cloud", partition: 0) ?? 0 == 0)
            transport.acknowledge(0)
            try await transport.publishes.wait("the window refilled") { $0.count == 7 }
            try await commits.wait("offset 3 committed") { $0 == 3 }
            #expect(output.groups.committedOffset(group: "sink.cloud", partition: 0) == 3)
            #expect(sink.stats.deliveredOffsets[0] == 3)
            #expect(transport.publishes.value.count == 7)
            run.cancel()
            // Stopping waits for what is in flight (3...6): acknowledge them.
            for index in 3..<7 { transport.acknowledge(index) }
            try await run.value
            #expect(output.groups.committedOffset(group: "sink.cloud", partition: 0) == 7)
            #expect(sink.stats.published == 7)

            // A new sink (a restart) resumes at offset 7.
            let again = HeldTransport()
            let resumed = try MQTTSink(configuration: configuration, output: output, transport: again, logger: testLogger)
            let rerun = Task { try await resumed.run() }
            try await again.publishes.wait("the rest") { $0.count == 3 }
            #expect(again.publishes.value.map { String(decoding: $0.payload, as: UTF8.self) } == Array(payloads[7...]))
            for index in 0..<3 { again.acknowledge(index) }
            rerun.cancel()
            try await rerun.value
            #expect(output.groups.committedOffset(group: "sink.cloud", partition: 0) == 10)
        }
    }

    @Test("A failed publish is sent again from the delivered offset")
    func retryAfterFailure() async throws {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: testLogger)
            defer { try? log.close() }
            let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .every))
            let payloads = try await appendResults(output, range: 0..<3)
            var configuration = MQTTSinkConfiguration(name: "s", topic: try TopicTemplate("agg/{key}"))
            configuration.retryDelay = .milliseconds(1)
            let transport = HeldTransport()
            let sink = try MQTTSink(configuration: configuration, output: output, transport: transport, logger: testLogger)
            let run = Task { try await sink.run() }
            try await transport.publishes.wait("3 publishes") { $0.count == 3 }
            transport.acknowledge(0)
            transport.publishes.value[1].complete(.failure(MQTTError(code: .noConnection, message: "down")))
            transport.acknowledge(2)
            try await transport.publishes.wait("1 and 2 again") { $0.count == 5 }
            #expect(transport.publishes.value.suffix(2).map { String(decoding: $0.payload, as: UTF8.self) } == Array(payloads[1...]))
            transport.acknowledge(3)
            transport.acknowledge(4)
            run.cancel()
            try await run.value
            let stats = sink.stats
            #expect(stats.failures == 1 && stats.retries == 1 && stats.published == 4)
            #expect(output.groups.committedOffset(group: "sink.s", partition: 0) == 3)
        }
    }
}
