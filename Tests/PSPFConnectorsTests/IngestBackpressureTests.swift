import Foundation
import PSPFJSON
import PSPFLog
import PSPFMQTT
import PSPFTesting
import Synchronization
import Testing

@testable import PSPFConnectors

/// Backpressure at ingest: pause reading as the input topic fills its disk quota, refuse (and so
/// not acknowledge) what does not fit, resume when retention frees space.
@Suite(.timeLimit(.minutes(1))) struct IngestBackpressureTests {
    static let quota: Int64 = 32 << 10

    static func inputConfig() -> TopicConfig {
        // Retention keeps at most 8 KiB of what the pipeline has consumed; the quota blocks.
        TopicConfig(
            partitions: 1, segmentBytes: 4096, fsync: .interval(milliseconds: 1), retention: Retention(maxBytes: 8 << 10),
            diskQuotaBytes: quota, quotaPolicy: .block)
    }

    static func ingestConfiguration() -> MQTTIngestConfiguration {
        var configuration = MQTTIngestConfiguration(topicFilters: ["sensors/+/reading"], key: .topicSegment(1))
        configuration.eventTime = EventTimeField("ts")
        configuration.backpressure = IngestBackpressure(
            pauseAtFraction: 0.5, resumeBelowFraction: 0.3, checkInterval: .milliseconds(20))
        return configuration
    }

    @Test("The gate pauses at the high-water mark or on a rejected append and resumes below the low-water mark")
    func gate() {
        var gate = IngestQuotaGate(IngestBackpressure(pauseAtFraction: 0.8, resumeBelowFraction: 0.5))
        #expect(gate.evaluate(used: 70, quota: 100) == .none)
        #expect(gate.evaluate(used: 80, quota: 100) == .pause)
        #expect(gate.evaluate(used: 90, quota: 100) == .none)
        #expect(gate.evaluate(used: 60, quota: 100) == .none)
        #expect(gate.evaluate(used: 40, quota: 100, rejected: true) == .none, "a rejection keeps it paused")
        #expect(gate.evaluate(used: 51, quota: 100) == .none)
        #expect(gate.evaluate(used: 50, quota: 100) == .resume)
        #expect(gate.evaluate(used: 10, quota: 100, rejected: true) == .pause)
        #expect(gate.evaluate(used: 10, quota: nil) == .resume)
        #expect(gate.evaluate(used: 10_000, quota: nil) == .none)
    }

    @Test("Handler: pause at the high-water mark, refuse the batch at the quota, resume after retention")
    func handlerLevel() async throws {
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: testLogger)
            defer { try? log.close() }
            let input = try log.topic("input", config: Self.inputConfig())
            let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1))
            try input.groups.register(group: "pipeline")
            let handler = try MQTTIngestHandler(
                configuration: Self.ingestConfiguration(), input: input, deadLetters: deadLetters, logger: testLogger)
            let switches = Mutex<[Bool]>([])
            handler.onPauseChange { paused in switches.withLock { $0.append(paused) } }
            #expect(switches.withLock { $0 } == [false])

            var pausedAt: Int?
            var refusedAt: Int?
            for seq in 0..<2_000 {
                handler.receive("sensors/dev-1/reading", readingPayload(device: "dev-1", ts: Int64(seq), seq: seq))
                do {
                    try handler.readPhaseEnded()
                } catch let error as ConnectorError {
                    #expect(error.code == .backpressure)
                    refusedAt = seq
                    break
                }
                if pausedAt == nil, handler.stats.isPaused {
                    pausedAt = seq
                    let used = input.quota.usedBytes + input.quota.pendingBytes
                    #expect(Double(used) >= 0.5 * Double(Self.quota))
                }
            }
            let pause = try #require(pausedAt)
            let refused = try #require(refusedAt)
            #expect(pause < refused, "reading paused well before the quota was hit")
            #expect(switches.withLock { $0 } == [false, true])
            var stats = handler.stats
            #expect(stats.rejected == 1 && stats.failedPhases == 1 && stats.pauses == 1 && stats.isPaused)
            #expect(stats.appended == Int64(refused))

            // Nothing frees space until the pipeline has consumed: still paused.
            await handler.checkBackpressure()
            #expect(handler.stats.isPaused)
            try input.groups.commit(group: "pipeline", partition: 0, nextOffset: input.endOffset(partition: 0))
            await handler.checkBackpressure()
            stats = handler.stats
            #expect(!stats.isPaused)
            #expect(switches.withLock { $0 } == [false, true, false])

            // The refused message comes again and fits now.
            handler.receive("sensors/dev-1/reading", readingPayload(device: "dev-1", ts: Int64(refused), seq: refused))
            try handler.readPhaseEnded()
            #expect(handler.stats.appended == Int64(refused) + 1)
            #expect(handler.stats.duplicates == 0)
        }
    }

    @Test("Real broker: paused at the quota, refused messages are not acknowledged and come again after space frees")
    func redeliveryAfterSpaceFrees() async throws {
        let broker = try await BrokerFixture.start()
        defer { broker.cleanUp() }
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory, logger: testLogger)
            defer { try? log.close() }
            let input = try log.topic("input", config: Self.inputConfig())
            let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1))
            try input.groups.register(group: "pipeline")
            // No early pause: reading stops only when an append is refused, so refusal is certain.
            var configuration = Self.ingestConfiguration()
            configuration.backpressure.pauseAtFraction = 1
            let source = try MQTTIngestSource(
                client: ingestClient(broker.port, clientID: uniqueName("ingest")), ingest: configuration,
                input: input, deadLetters: deadLetters, logger: testLogger)
            let ticks = Observed(0)
            let progress = Observed(MQTTIngestStats())
            source.handler.observe { [weak handler = source.handler] _ in
                ticks.update { $0 += 1 }
                if let stats = handler?.stats { progress.update { $0 = stats } }
            }
            let subscribed = Observed(false)
            let run = Task { try await source.run { subscribed.update { $0 = true } } }
            defer { run.cancel() }
            try await subscribed.wait("subscribed") { $0 }

            // About 2.5 times the quota in QoS 1 messages.
            let count = 600
            let publisher = try MQTTClient(configuration: publisherConfiguration(broker.port))
            try await publisher.connect()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for seq in stride(from: worker, to: count, by: 8) {
                            try await publisher.publish(
                                topic: "sensors/dev-\(seq % 4)/reading",
                                payload: Array(readingPayload(device: "dev-\(seq % 4)", ts: Int64(seq), seq: seq).utf8))
                        }
                    }
                }
                try await group.waitForAll()
            }

            // Nobody consumes yet: the quota fills, reading pauses and messages are refused.
            try await progress.wait("a refused message") { $0.rejected >= 1 && $0.isPaused }
            #expect(input.endOffset(partition: 0) < count)

            // A consumer that reads what arrives and commits it, letting retention free space.
            var seen: [Int: Int] = [:]
            var next: Int64 = 0
            let reader = input.reader(partition: 0)
            var lastTick = 0
            while seen.count < count {
                lastTick = try await ticks.wait("ingest progress (\(seen.count) of \(count) consumed)") { [lastTick] in $0 > lastTick }
                let result = try reader.read(from: next) { record in
                    let payload = try JSONValue(parsing: record.payload)
                    let seq = Int(payload["seq"]?.int64Value ?? -1)
                    seen[seq, default: 0] += 1
                }
                next = result.nextOffset
                try input.groups.commit(group: "pipeline", partition: 0, nextOffset: next)
            }
            #expect(seen.count == count)
            #expect(seen.values.allSatisfy { $0 == 1 }, "no message twice in the log")
            #expect(Set(seen.keys) == Set(0..<count))
            let stats = source.stats
            #expect(stats.pauses >= 1)
            #expect(stats.rejected >= 1, "some messages were refused and redelivered")
            #expect(stats.failedPhases >= 1)
            #expect(stats.appended == Int64(count))
            await publisher.disconnect()
            run.cancel()
            try await run.value
        }
    }
}

/// A persistent-session client configuration for an ingest against the fixture broker.
func ingestClient(_ port: Int, clientID: String) -> MQTTClientConfiguration {
    var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port)
    configuration.clientID = clientID
    configuration.cleanSession = false
    configuration.reconnect = MQTTReconnectPolicy(
        initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200), jitter: 0.5,
        connectTimeout: .seconds(10), stableConnectionThreshold: .seconds(1))
    return configuration
}

func publisherConfiguration(_ port: Int) -> MQTTClientConfiguration {
    var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port)
    configuration.reconnect = MQTTReconnectPolicy(
        initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200), jitter: 0.5,
        connectTimeout: .seconds(10), stableConnectionThreshold: .seconds(1))
    return configuration
}
