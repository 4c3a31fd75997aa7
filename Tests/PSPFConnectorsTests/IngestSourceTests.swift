import Foundation
import PSPFLog
import PSPFMQTT
import PSPFTesting
import Testing

@testable import PSPFConnectors

/// The ingest source against a real mosquitto on loopback.
@Suite(.timeLimit(.minutes(1))) struct IngestSourceTests {
    @Test("Round trip: published readings land in the log by key, with topic, payload and event time", arguments: [
        MQTTQoS.atMostOnce, .atLeastOnce,
    ])
    func roundTrip(qos: MQTTQoS) async throws {
        let broker = try await BrokerFixture.start()
        defer { broker.cleanUp() }
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: testLogger)
            defer { try? log.close() }
            let input = try log.topic("input", config: TopicConfig(partitions: 4, fsync: .interval(milliseconds: 1)))
            let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1))
            var configuration = MQTTIngestConfiguration(topicFilters: ["sensors/+/reading"], qos: qos, key: .topicSegment(1))
            configuration.eventTime = EventTimeField("ts")
            let source = try MQTTIngestSource(
                client: ingestClient(broker.port, clientID: uniqueName("ingest")), ingest: configuration, input: input,
                deadLetters: deadLetters, logger: testLogger)
            let progress = Observed(MQTTIngestStats())
            source.handler.observe { [weak handler = source.handler] _ in
                if let stats = handler?.stats { progress.update { $0 = stats } }
            }
            let subscribed = Observed(false)
            let run = Task { try await source.run { subscribed.update { $0 = true } } }
            try await subscribed.wait("subscribed") { $0 }

            let count = 300
            var sent: [String: (device: String, ts: Int64)] = [:]
            let publisher = try MQTTClient(configuration: publisherConfiguration(broker.port))
            try await publisher.connect()
            for seq in 0..<count {
                let device = "dev-\(seq % 9)"
                let ts = 1_732_406_400_000 + Int64(seq)
                let payload = readingPayload(device: device, ts: ts, seq: seq)
                sent[payload] = (device, ts)
                try await publisher.publish(topic: "sensors/\(device)/reading", payload: Array(payload.utf8), qos: qos)
            }
            // A keyless one (topic with no level 1 is not matched, so use an empty level).
            try await publisher.publish(topic: "sensors//reading", payload: Array("{}".utf8), qos: qos)
            try await progress.wait("all messages") { $0.appended == Int64(count) && $0.deadLettered == 1 }
            await publisher.disconnect()
            run.cancel()
            try await run.value

            let records = try readAll(input)
            #expect(records.count == count)
            for record in records {
                guard let expected = sent[record.payloadString] else {
                    Issue.record("unexpected payload \(record.payloadString)")
                    continue
                }
                #expect(record.keyString == expected.device)
                #expect(record.topicString == "sensors/\(expected.device)/reading")
                #expect(record.eventTime == expected.ts)
                #expect(record.partition == input.partition(forKey: Array(expected.device.utf8)))
            }
            #expect(try readAll(deadLetters).count == 1)
            let stats = source.stats
            #expect(stats.received == Int64(count) + 1)
            #expect(stats.flushes == (qos == .atMostOnce ? 0 : stats.readPhases))
        }
    }

    @Test("QoS 1 ingest without a persistent session is refused")
    func needsPersistentSession() async throws {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: testLogger)
            defer { try? log.close() }
            let input = try log.topic("input", config: TopicConfig(partitions: 1))
            var client = MQTTClientConfiguration(host: "127.0.0.1", port: 1883)
            client.clientID = "x"
            #expect {
                _ = try MQTTIngestSource(
                    client: client, ingest: MQTTIngestConfiguration(topicFilters: ["a/#"], key: .topicSegment(1)),
                    input: input, deadLetters: input, logger: testLogger)
            } throws: { error in
                (error as? ConnectorError)?.code == .invalidConfiguration
                    && "\(error)".contains("persistent session")
            }
        }
    }
}
