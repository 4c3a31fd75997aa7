import Foundation
import PSPFJSON
import PSPFLog
import PSPFMQTT
import PSPFTesting
import Testing

@testable import PSPFConnectors

/// Collects the `id` of every result a subscriber receives, in arrival order.
final class ResultCollector: MQTTMessageHandler {
    let ids = Observed<[String]>([])
    let topics = Observed<[String]>([])

    func received(_ message: MQTTMessageView) {
        let id = (try? JSONValue(parsing: message.payload))?["id"]?.stringValue ?? "?"
        let topic = message.topicString
        ids.update { $0.append(id) }
        topics.update { $0.append(topic) }
    }
}

/// Passes the first `limit` publishes to the client at once and holds the rest until released
/// (a slow link the test controls), so that a stop lands mid-stream deterministically.
final class GatedTransport: MQTTSinkTransport {
    struct Held: Sendable {
        var topic: String
        var payload: [UInt8]
        var qos: MQTTQoS
        var complete: @Sendable (Result<Void, MQTTError>) -> Void
    }
    private struct State {
        var limit: Int
        var passed = 0
        var held: [Held] = []
    }
    let client: MQTTClient
    private let state: Observed<State>

    init(client: MQTTClient, limit: Int) {
        self.client = client
        self.state = Observed(State(limit: limit))
    }

    func send(
        topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool,
        onComplete: @escaping @Sendable (Result<Void, MQTTError>) -> Void
    ) throws(MQTTError) {
        var forward = false
        state.update { state in
            if state.passed < state.limit {
                state.passed += 1
                forward = true
            } else {
                state.held.append(Held(topic: topic, payload: payload, qos: qos, complete: onComplete))
            }
        }
        if forward { try client.send(topic: topic, payload: payload, qos: qos, retain: retain, onComplete: onComplete) }
    }

    /// Lets everything through from now on, including what is held.
    func open() throws {
        var held: [Held] = []
        state.update { state in
            state.limit = .max
            held = state.held
            state.held = []
        }
        for publish in held {
            try client.send(topic: publish.topic, payload: publish.payload, qos: publish.qos, retain: false, onComplete: publish.complete)
        }
    }

    /// Fails what is held (the link is gone).
    func failHeld() {
        var held: [Held] = []
        state.update { state in
            held = state.held
            state.held = []
        }
        for publish in held { publish.complete(.failure(MQTTError(code: .closed, message: "link closed"))) }
    }
}

/// The ids in order of first arrival.
func firstArrivals(_ ids: [String]) -> [String] {
    var seen = Set<String>()
    return ids.filter { seen.insert($0).inserted }
}

@Suite(.timeLimit(.minutes(1))) struct SinkBrokerTests {
    @Test("Real broker: every result arrives in order across a broker restart and a sink restart; the offset is committed")
    func deliveryAcrossRestarts() async throws {
        let broker = try await BrokerFixture.start(.init(persistence: .onShutdown))
        defer { broker.cleanUp() }
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: testLogger)
            defer { try? log.close() }
            let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .interval(milliseconds: 1)))
            let count = 300
            let payloads = try await appendResults(output, range: 0..<count)
            let ids = payloads.map { (try! JSONValue(parsing: Array($0.utf8)))["id"]!.stringValue! }

            let collector = ResultCollector()
            let subscriber = try MQTTClient(
                configuration: ingestClient(broker.port, clientID: uniqueName("collector")), handler: collector)
            try await subscriber.connect()
            try await subscriber.subscribe([MQTTSubscription("agg/#", qos: .atLeastOnce)])

            var configuration = MQTTSinkConfiguration(name: "cloud", topic: try TopicTemplate("agg/{pipeline}/{key}"))
            configuration.maxInflight = 32
            let commits = Observed<Int64>(0)
            func startSink(limit: Int) async throws -> (GatedTransport, MQTTSink, Task<Void, any Error>) {
                let client = try MQTTClient(configuration: ingestClient(broker.port, clientID: "sink-publisher"))
                try await client.connect()
                let gate = GatedTransport(client: client, limit: limit)
                let sink = try MQTTSink(configuration: configuration, output: output, transport: gate, logger: testLogger)
                sink.observeCommits { offsets in commits.update { $0 = offsets[0] ?? 0 } }
                return (gate, sink, Task { try await sink.run() })
            }

            // 1. A third is delivered; the broker stops (saving its state); the sink keeps
            //    publishing into the outage (libmosquitto queues QoS 1); the broker returns.
            var (gate, sink, run) = try await startSink(limit: count / 3)
            try await collector.ids.wait("a third of the results") { Set($0).count == count / 3 }
            try await commits.wait("a third committed") { $0 == Int64(count / 3) }
            try await broker.stop()
            try gate.open()
            try await broker.restart()
            try await collector.ids.wait("every result") { Set($0).count == count }
            try await commits.wait("offset \(count) committed") { $0 == Int64(count) }
            #expect(firstArrivals(collector.ids.value) == ids)
            #expect(Set(collector.topics.value) == Set((0..<5).map { "agg/temp-stats/dev-\($0)" }))
            #expect(output.groups.committedOffset(group: "sink.cloud", partition: 0) == Int64(count))

            run.cancel()
            try await run.value
            await gate.client.disconnect()

            // 2. A new sink resumes at the committed offset; it stops half-way through the next
            //    results (what is held never reaches the broker) and a third one takes over.
            let more = try await appendResults(output, range: count..<(2 * count))
            let moreIDs = more.map { (try! JSONValue(parsing: Array($0.utf8)))["id"]!.stringValue! }
            (gate, sink, run) = try await startSink(limit: count / 2)
            try await collector.ids.wait("half of the new results") { Set($0).count == count + count / 2 }
            try await commits.wait("half committed") { $0 == Int64(count + count / 2) }
            run.cancel()
            gate.failHeld()
            try await run.value
            await gate.client.disconnect()
            #expect(output.groups.committedOffset(group: "sink.cloud", partition: 0) == Int64(count + count / 2))
            #expect(sink.stats.deliveredOffsets[0] == Int64(count + count / 2))

            (gate, sink, run) = try await startSink(limit: .max)
            try await collector.ids.wait("every result") { Set($0).count == 2 * count }
            try await commits.wait("offset \(2 * count) committed") { $0 == Int64(2 * count) }
            #expect(firstArrivals(collector.ids.value) == ids + moreIDs)
            run.cancel()
            try await run.value
            await gate.client.disconnect()
            await subscriber.disconnect()
        }
    }
}
