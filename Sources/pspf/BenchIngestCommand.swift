import ArgumentParser
import Foundation
import Logging
import PSPFConnectors
import PSPFJSON
import PSPFLog
import PSPFMQTT
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `pspf bench ingest`: MQTT ingest throughput on this machine. Starts its own mosquitto on a
/// free loopback port, publishes with an in-process MQTTClient, and measures (a) the ceiling, a
/// C-speed counting subscriber (`mosquitto_sub -C N`), and (b) the durable ingest into the log,
/// at QoS 0 and QoS 1 (QoS 1: durable before PUBACK, group commit). Build with `-c release`.
struct BenchIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Benchmark MQTT ingest (mosquitto_sub ceiling vs durable pspf ingest) at QoS 0 and 1.")

    @Option(help: "Messages per run.") var messages = 500_000
    @Option(help: "Payload bytes per message (JSON padded to this size).") var payloadBytes = 100
    @Option(help: "Devices (topics sensors-like bench/<device>/reading).") var devices = 1_000
    @Option(help: "Comma-separated runs: handler (no network), publish, ceiling, ingest.") var runs = "handler,publish,ceiling,ingest"
    @Option(help: "Comma-separated QoS levels.") var qos = "0,1"
    @Option(help: "Input topic partitions.") var partitions = 4
    @Option(help: "Group commit interval in ms.") var fsyncIntervalMs = 1
    @Option(help: "The broker's max_inflight_messages (unacknowledged QoS 1 messages per client).") var brokerInflight = 1_000
    @Option(help: "The publisher's in-flight window (libmosquitto walks its out-queue per PUBACK, so larger windows cost CPU).") var publisherWindow = 512
    @Option(help: "Largest batch between two flushes (the client's maxMessagesPerReadPhase).") var batch = 1_024
    @Option(help: "De-duplication: key-ts or none.") var dedup = "key-ts"
    @Option(help: "MQTT version of the ingest client: 5 or 3.1.1.") var mqttVersion = "5"
    @Option(help: "Repetitions of each measurement (the best is reported, with the median).") var repetitions = 3
    @Option(help: "Parent directory for the benchmark log.") var dir = NSTemporaryDirectory()

    func run() async throws {
        var logger = Logger(label: "pspf.bench.ingest")
        logger.logLevel = .warning
        let levels = try qos.split(separator: ",").map { text -> MQTTQoS in
            guard let value = Int32(text.trimmingCharacters(in: .whitespaces)), let level = MQTTQoS(rawValue: value), level != .exactlyOnce
            else { throw ValidationError("--qos takes 0 and/or 1") }
            return level
        }
        let selected = Set(runs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let workload = IngestWorkload(messages: messages, payloadBytes: payloadBytes, devices: devices)

        if selected.contains("handler") {
            for level in levels { try handlerOnly(workload, level, logger) }
        }
        guard !selected.isDisjoint(with: ["publish", "ceiling", "ingest"]) else { return }
        let broker = try BenchBroker.start(inflight: brokerInflight)
        defer { broker.stop() }
        for level in levels {
            var ceiling: [Double]?
            if selected.contains("publish") {
                let runs = try await measure(broker) { try await publishOnly(broker, workload, level, logger) }
                report("ingest.publish_only", runs, level, workload, [("subscriber", "none")])
            }
            if selected.contains("ceiling") {
                let runs = try await measure(broker) { try await mosquittoSub(broker, workload, level, logger) }
                ceiling = runs.map(\.rate).sorted()
                report("ingest.ceiling", runs, level, workload, [("subscriber", "mosquitto_sub -C N (counting, no output)")])
            }
            if selected.contains("ingest") {
                var details: [(stats: MQTTIngestStats, topic: TopicStats)] = []
                let runs = try await measure(broker) {
                    let result = try await pspfIngest(broker, workload, level, logger)
                    details.append((result.stats, result.topic))
                    return result.rate
                }
                let best = details[runs.indices.max { runs[$0].rate < runs[$1].rate }!]
                var extra: [(String, String)] = [
                    ("subscriber", "pspf durable ingest"), ("fsync", "interval(\(fsyncIntervalMs)ms)"),
                    ("durable_before_ack", level == .atMostOnce ? "n/a (QoS 0)" : "yes"),
                    ("partitions", "\(partitions)"), ("dedup", dedup), ("mqtt", mqttVersion),
                    ("batches", "\(best.stats.readPhases)"),
                    ("avg_batch", String(format: "%.1f", Double(best.stats.received) / Double(max(1, best.stats.readPhases)))),
                    ("flushes", "\(best.stats.flushes)"), ("fsyncs", "\(best.topic.fsyncs)"), ("writes", "\(best.topic.writes)"),
                ]
                if let ceiling {
                    let rates = runs.map(\.rate).sorted()
                    extra.append(("ratio_to_ceiling", String(format: "%.3f", rates.last! / ceiling.last!)))
                    extra.append(("ratio_of_medians", String(format: "%.3f", rates[rates.count / 2] / ceiling[ceiling.count / 2])))
                }
                report("ingest.pspf", runs, level, workload, extra)
            }
        }
    }

    struct Run {
        var rate: Double
        var cpu: [(String, String)]
    }

    /// Runs a measurement `repetitions` times, with the CPU each process used.
    private func measure(_ broker: BenchBroker, _ body: () async throws -> Double) async throws -> [Run] {
        var runs: [Run] = []
        for _ in 0..<max(1, repetitions) {
            let start = CPUSample.now(broker)
            let rate = try await body()
            runs.append(Run(rate: rate, cpu: CPUSample.now(broker).perMessage(since: start, messages: messages)))
        }
        return runs
    }

    /// The best run, with the median and every rate when repeated.
    private func report(_ name: String, _ runs: [Run], _ qos: MQTTQoS, _ workload: IngestWorkload, _ extra: [(String, String)]) {
        let best = runs.max { $0.rate < $1.rate }!
        let sorted = runs.map(\.rate).sorted()
        var parameters: [(String, String)] = [
            ("qos", "\(qos.rawValue)"), ("messages", "\(workload.messages)"), ("payload_bytes", "\(workload.payloadBytes)"),
            ("broker_inflight", "\(brokerInflight)"), ("publisher_window", "\(publisherWindow)"),
        ]
        if runs.count > 1 {
            parameters.append(("median", String(format: "%.0f", sorted[sorted.count / 2])))
            parameters.append(("runs", sorted.map { String(format: "%.0f", $0) }.joined(separator: " ")))
        }
        BenchResult(name: name, value: best.rate, unit: "msgs/s", parameters: parameters + extra + best.cpu).printLine()
    }

    private func publisherClient(_ broker: BenchBroker, _ logger: Logger) async throws -> WindowedPublisher {
        try await broker.publisher(window: publisherWindow, logger: logger)
    }

    /// Publishes the whole workload; returns when every publish completed (QoS 1: acknowledged).
    private func publish(_ publisher: WindowedPublisher, _ workload: IngestWorkload, _ qos: MQTTQoS) async throws {
        for index in 0..<workload.messages {
            try await publisher.publish(topic: workload.topic(index), payload: workload.payloads[index], qos: qos)
        }
        await publisher.drain()
        let failures = publisher.failures
        if let first = failures.first { throw BenchError("\(failures.count) publishes failed, first: \(first)") }
    }

    /// The ingest handler without MQTT: the messages go straight into `receive`, in batches of
    /// `batch`, each ended by `readPhaseEnded` (a flush at QoS 1): the cost of the ingest itself.
    private func handlerOnly(_ workload: IngestWorkload, _ qos: MQTTQoS, _ logger: Logger) throws {
        let directory = (dir as NSString).appendingPathComponent("pspf-bench-handler-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try PartitionedLog(directory: directory, logger: logger)
        defer { try? log.close() }
        let input = try log.topic(
            "input", config: TopicConfig(partitions: partitions, segmentBytes: 256 << 20, fsync: .interval(milliseconds: fsyncIntervalMs)))
        let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1))
        var ingest = MQTTIngestConfiguration(topicFilters: ["bench/+/reading"], qos: qos, key: .topicSegment(1))
        ingest.eventTime = EventTimeField("ts")
        ingest.deduplication = dedup == "none" ? .disabled : Deduplication()
        let handler = try MQTTIngestHandler(configuration: ingest, input: input, deadLetters: deadLetters, logger: logger)
        let topics = workload.topics.map { Array($0.utf8) }
        let (cpuStart, _) = processCPUSeconds()
        let start = ContinuousClock.now
        for index in 0..<workload.messages {
            topics[index % workload.devices].withUnsafeBytes { topic in
                workload.payloads[index].withUnsafeBytes { payload in
                    handler.receive(topic: topic, payload: payload, qos: qos)
                }
            }
            if index % batch == batch - 1 || index == workload.messages - 1 { try handler.readPhaseEnded() }
        }
        try input.flush()
        let seconds = (ContinuousClock.now - start).seconds
        let (cpuEnd, _) = processCPUSeconds()
        let stats = handler.stats
        BenchResult(
            name: "ingest.handler", value: Double(workload.messages) / seconds, unit: "msgs/s",
            parameters: [
                ("qos", "\(qos.rawValue)"), ("messages", "\(workload.messages)"), ("payload_bytes", "\(workload.payloadBytes)"),
                ("batch", "\(batch)"), ("partitions", "\(partitions)"), ("dedup", dedup), ("appended", "\(stats.appended)"),
                ("flushes", "\(stats.flushes)"), ("fsyncs", "\(input.stats.fsyncs)"),
                ("cpu_us_per_msg_pspf_process", String(format: "%.2f", (cpuEnd - cpuStart) * 1e6 / Double(workload.messages))),
                ("mode", "no network: receive() + readPhaseEnded() per batch"),
            ]
        ).printLine()
    }

    /// The publisher alone (nobody subscribed): what the in-process publisher and broker manage.
    private func publishOnly(_ broker: BenchBroker, _ workload: IngestWorkload, _ qos: MQTTQoS, _ logger: Logger) async throws -> Double {
        let publisher = try await publisherClient(broker, logger)
        let start = ContinuousClock.now
        try await publish(publisher, workload, qos)
        let seconds = (ContinuousClock.now - start).seconds
        await publisher.client.disconnect()
        return Double(workload.messages) / seconds
    }

    /// `mosquitto_sub -C N` counting the messages (no output), from the first publish to its exit.
    private func mosquittoSub(_ broker: BenchBroker, _ workload: IngestWorkload, _ qos: MQTTQoS, _ logger: Logger) async throws -> Double {
        let publisher = try await publisherClient(broker, logger)
        do {
            let rate = try await broker.countingSubscriberRate(filter: "bench/+/reading", messages: workload.messages, qos: qos) {
                try await publish(publisher, workload, qos)
            }
            await publisher.client.disconnect()
            return rate
        } catch {
            await publisher.client.disconnect()
            throw error
        }
    }

    /// The durable ingest, in process: from the first publish until every message is appended
    /// and durable.
    private func pspfIngest(
        _ broker: BenchBroker, _ workload: IngestWorkload, _ qos: MQTTQoS, _ logger: Logger
    ) async throws -> (rate: Double, stats: MQTTIngestStats, topic: TopicStats) {
        let directory = (dir as NSString).appendingPathComponent("pspf-bench-ingest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #if canImport(Glibc)
        Glibc.sync()
        #endif
        let log = try PartitionedLog(directory: directory, logger: logger)
        defer { try? log.close() }
        let input = try log.topic(
            "input", config: TopicConfig(partitions: partitions, segmentBytes: 256 << 20, fsync: .interval(milliseconds: fsyncIntervalMs)))
        let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1))
        var ingest = MQTTIngestConfiguration(topicFilters: ["bench/+/reading"], qos: qos, key: .topicSegment(1))
        ingest.eventTime = EventTimeField("ts")
        ingest.deduplication = dedup == "none" ? .disabled : Deduplication()
        var client = MQTTClientConfiguration(host: "127.0.0.1", port: broker.port)
        client.clientID = "bench-ingest-\(UInt32.random(in: 0...UInt32.max))"
        client.cleanSession = false
        client.maxMessagesPerReadPhase = batch
        client.protocolVersion = mqttVersion == "5" ? .v5 : .v311
        let source = try MQTTIngestSource(client: client, ingest: ingest, input: input, deadLetters: deadLetters, logger: logger)
        let target = Int64(workload.messages)
        let done = DispatchSemaphore(value: 0)
        let finished = Mutex<ContinuousClock.Instant?>(nil)
        source.handler.observe { [weak handler = source.handler] event in
            guard case .batchCompleted = event, let handler, handler.stats.appended >= target else { return }
            let first = finished.withLock { instant -> Bool in
                if instant != nil { return false }
                instant = .now
                return true
            }
            if first { done.signal() }
        }
        let subscribed = DispatchSemaphore(value: 0)
        let running = Task { try await source.run { subscribed.signal() } }
        guard await Task.detached(operation: { subscribed.wait(timeout: .now() + 10) == .success }).value else {
            running.cancel()
            throw BenchError("the ingest did not subscribe")
        }
        let publisher = try await publisherClient(broker, logger)
        let start = ContinuousClock.now
        try await publish(publisher, workload, qos)
        let complete = await Task.detached { done.wait(timeout: .now() + 120) == .success }.value
        // QoS 0 is not flushed per batch: include making everything durable.
        try await input.flush()
        let end = max(finished.withLock { $0 } ?? .now, .now)
        await publisher.client.disconnect()
        running.cancel()
        _ = try? await running.value
        let stats = source.stats
        guard complete else {
            throw BenchError("the ingest appended \(stats.appended) of \(workload.messages) messages within 120 s (received \(stats.received))")
        }
        return (Double(workload.messages) / (end - start).seconds, stats, input.stats)
    }
}

/// Pre-generated messages: topic `bench/<device>/reading`, payload a JSON reading with a unique
/// (device, ts) padded to `payloadBytes`.
struct IngestWorkload: Sendable {
    let messages: Int
    let payloadBytes: Int
    let devices: Int
    let topics: [String]
    let payloads: [[UInt8]]

    init(messages: Int, payloadBytes: Int, devices: Int) {
        self.messages = messages
        self.payloadBytes = payloadBytes
        self.devices = devices
        topics = (0..<devices).map { "bench/dev-\(String(repeating: "0", count: max(0, 4 - String($0).count)))\($0)/reading" }
        var payloads: [[UInt8]] = []
        payloads.reserveCapacity(messages)
        var writer = JSONWriter(capacity: payloadBytes + 64)
        for index in 0..<messages {
            let device = index % devices
            writer.reset()
            writer.beginObject()
            writer.key("device"); writer.string("dev-\(device)")
            writer.key("ts"); writer.number(Int64(1_732_406_400_000) + Int64(index / devices) * 1000)
            writer.key("temp"); writer.number(Double(18 + index % 10) + 0.25)
            let padding = max(0, payloadBytes - writer.bytes.count - 10)
            writer.key("pad"); writer.string(String(repeating: "x", count: padding))
            writer.endObject()
            payloads.append(writer.bytes)
        }
        self.payloads = payloads
    }

    func topic(_ index: Int) -> String { topics[index % devices] }
}
