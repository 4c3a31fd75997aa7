import ArgumentParser
import Foundation
import Logging
import PSPFJSON
import PSPFMQTT

#if canImport(Glibc)
import Glibc
#endif

/// `pspf bench e2e`: the whole daemon, end to end, on this machine. Starts its own mosquitto on
/// a free loopback port, runs `pspf run` as a child (1,000 devices, tumbling 10 s windows,
/// count/avg/min/max, durable log with group commit, 1 s checkpoints, results to an MQTT sink
/// on the same broker) and drives it with an in-process publisher. Reports, one JSON line each:
///
/// * `e2e.publisher_only`, `e2e.ceiling` and `e2e.throughput` at QoS 0 and 1: the publisher
///   alone, a C-speed counting subscriber (`mosquitto_sub -C N`) on the same load, and the
///   daemon — readings per second from the first publish until the result of every window has
///   arrived at a subscriber of the sink topic (so every reading was ingested, made durable,
///   processed and its window forwarded), with the ratio to the ceiling and CPU per 1M readings;
/// * `e2e.latency`: at a steady rate (20k msg/s), from the publish of the reading that closes a
///   window to the arrival of that window's result, p50/p99/max, one monotonic clock;
/// * `e2e.rss`: the daemon's VmRSS with 1k, 10k and 100k devices, each with an open window.
struct BenchE2ECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Benchmark the daemon end to end: MQTT → log → windows → MQTT sink (build with -c release).")

    @Flag(help: "A short run (~1–2 min): 200k readings per throughput run, 10 s of latency.") var quick = false
    @Option(help: "Readings per throughput run (default 1,000,000; 200,000 with --quick).") var messages: Int?
    @Option(help: "Devices of the throughput and latency runs.") var devices = 1_000
    @Option(help: "Comma-separated runs: throughput, latency, rss.") var runs = "throughput,latency,rss"
    @Option(help: "Comma-separated QoS levels of the throughput runs.") var qos = "0,1"
    @Option(help: "Steady publish rate of the latency run, readings/s.") var latencyRate = 20_000
    @Option(help: "Seconds of the latency run (default 30; 10 with --quick).") var latencySeconds: Int?
    @Option(help: "QoS of the latency and RSS runs.") var latencyQos = 1
    @Option(help: "Comma-separated device counts of the RSS runs.") var rssDevices = "1000,10000,100000"
    @Option(help: "Readings per device in the RSS runs (all in one window, which stays open).") var rssReadings = 3
    @Option(help: "The input log's group commit (log.fsync of the source).") var fsync = "1ms"
    @Option(help: "Checkpoint interval.") var checkpoint = "1s"
    @Option(help: "Input log partitions.") var partitions = 4
    @Option(help: "The publisher's in-flight window.") var publisherWindow = 512
    @Option(help: "The broker's max_inflight_messages.") var brokerInflight = 1_000
    @Option(help: "The pspf executable to run as the daemon (default: this one).") var executable: String?
    @Option(help: "Parent directory for the daemon's data (default: the temporary directory).") var dir: String?
    @Option(help: "Also append every result line to this file.") var output: String?
    @Flag(help: "Keep the data directories and daemon logs.") var keep = false
    @Option(help: "The daemon's log level (its log is DIR/pspf-bench-e2e-PID/RUN/pspf.stderr; see --keep).")
    var daemonLogLevel = "warning"

    private var logger: Logger {
        var logger = Logger(label: "pspf.bench.e2e") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        return logger
    }

    func run() async throws {
        let binary = try executable ?? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let base = (dir ?? FileManager.default.temporaryDirectory.path) + "/pspf-bench-e2e-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: base) } }
        let selected = Set(runs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let broker = try BenchBroker.start(inflight: brokerInflight)
        defer { broker.stop() }
        let context = Context(binary: binary, base: base, broker: broker)

        if selected.contains("throughput") {
            for level in try qosLevels() { try await throughput(context, qos: level) }
        }
        if selected.contains("latency") { try await latency(context) }
        if selected.contains("rss") {
            for count in rssDevices.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                try await rss(context, devices: count)
            }
        }
    }

    struct Context {
        var binary: String
        var base: String
        var broker: BenchBroker
    }

    private func qosLevels() throws -> [MQTTQoS] {
        try qos.split(separator: ",").map { text in
            guard let value = Int32(text.trimmingCharacters(in: .whitespaces)), let level = MQTTQoS(rawValue: value),
                level != .exactlyOnce
            else { throw ValidationError("--qos takes 0 and/or 1") }
            return level
        }
    }

    private var throughputMessages: Int { messages ?? (quick ? 200_000 : 1_000_000) }

    private func emit(_ result: BenchResult) throws {
        result.printLine()
        guard let output else { return }
        let line = result.line
        if !FileManager.default.fileExists(atPath: output) { _ = FileManager.default.createFile(atPath: output, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    private var common: [(String, String)] {
        [
            ("fsync", fsync), ("checkpoint", checkpoint), ("partitions", "\(partitions)"),
            ("window", "tumbling 10s"), ("aggregates", "count,avg,min,max"), ("dedup", "source default (event_time at QoS 1, off at QoS 0)"),
            ("sink", "mqtt qos 1"), ("load_average", loadAverage()),
        ]
    }

    /// Starts the daemon on `stream`'s topics and waits until its ingest subscribed.
    private func startDaemon(_ context: Context, _ stream: E2EStream, qos: Int, name: String) throws -> E2EDaemon {
        let directory = context.base + "/" + name
        let clientID = "bench-e2e-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        let configuration = E2EDaemon.configuration(
            dataDirectory: directory + "/data", port: context.broker.port, clientID: clientID, stream: stream, qos: qos,
            fsync: fsync, checkpoint: checkpoint, partitions: partitions, logLevel: daemonLogLevel)
        let daemon = try E2EDaemon(executable: context.binary, directory: directory, configuration: configuration)
        do {
            try context.broker.waitForSubscription(clientID: clientID, timeout: 30)
        } catch {
            daemon.stop()
            throw BenchError("the daemon did not subscribe: \(error)\n\(daemon.stderr.suffix(2000))")
        }
        return daemon
    }

    /// A subscriber of the sink's topics.
    private func resultSubscriber(_ context: Context, _ collector: E2EResultCollector) async throws -> MQTTClient {
        var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: context.broker.port)
        configuration.clientID = "bench-e2e-results-\(UInt32.random(in: 0...UInt32.max))"
        let client = try MQTTClient(configuration: configuration, handler: collector, logger: logger)
        try await client.connect()
        _ = try await client.subscribe([MQTTSubscription(collector.stream.prefix + "-results/#", qos: .atLeastOnce)])
        return client
    }

    private func publishAll(_ publisher: WindowedPublisher, _ stream: E2EStream, _ payloads: [[UInt8]], _ qos: MQTTQoS)
        async throws
    {
        for index in 0..<payloads.count {
            try await publisher.publish(topic: stream.topics[stream.device(index)], payload: payloads[index], qos: qos)
        }
        await publisher.drain()
        let failures = publisher.failures
        if let first = failures.first { throw BenchError("\(failures.count) publishes failed, first: \(first)") }
    }

    // MARK: throughput

    private func throughput(_ context: Context, qos level: MQTTQoS) async throws {
        // One extra step at the end closes every device's last window.
        let steps = (throughputMessages / devices + 9) / 10 * 10 + 1
        let stream = E2EStream(prefix: "e2e-q\(level.rawValue)", devices: devices, steps: steps)
        let payloads = stream.allPayloads()
        let readings = payloads.count
        var parameters: [(String, String)] = [
            ("qos", "\(level.rawValue)"), ("readings", "\(readings)"), ("devices", "\(devices)"),
            ("publisher_window", "\(publisherWindow)"), ("broker_inflight", "\(brokerInflight)"),
        ]

        // The publisher alone (nobody subscribed), then the C-speed ceiling on the same load.
        let alone = try await context.broker.publisher(window: publisherWindow, logger: logger)
        let aloneStart = ContinuousClock.now
        try await publishAll(alone, stream, payloads, level)
        let publisherRate = Double(readings) / (ContinuousClock.now - aloneStart).seconds
        await alone.client.disconnect()
        try emit(BenchResult(name: "e2e.publisher_only", value: publisherRate, unit: "msgs/s", parameters: parameters))

        let publisher = try await context.broker.publisher(window: publisherWindow, logger: logger)
        let ceiling = try await context.broker.countingSubscriberRate(
            filter: stream.topicFilter, messages: readings, qos: level
        ) { try await publishAll(publisher, stream, payloads, level) }
        await publisher.client.disconnect()
        try emit(
            BenchResult(
                name: "e2e.ceiling", value: ceiling, unit: "msgs/s",
                parameters: parameters + [("subscriber", "mosquitto_sub -C N (counting, no output)")]))

        // The daemon.
        let daemon = try startDaemon(context, stream, qos: Int(level.rawValue), name: "throughput-q\(level.rawValue)")
        defer { daemon.stop() }
        let collector = E2EResultCollector(stream: stream, trackLatency: false)
        let subscriber = try await resultSubscriber(context, collector)
        let expected = stream.closedWindows
        let sender = try await context.broker.publisher(window: publisherWindow, logger: logger)
        let cpuBefore = daemon.cpuSeconds
        let start = ContinuousClock.now
        try await publishAll(sender, stream, payloads, level)
        let published = ContinuousClock.now
        let complete = await collector.wait(for: expected, timeout: .seconds(300))
        let end = ContinuousClock.now
        let cpu = daemon.cpuSeconds - cpuBefore
        let memory = daemon.memoryKiB
        await sender.client.disconnect()
        await subscriber.disconnect()
        guard complete else {
            throw BenchError(
                "only \(collector.received) of \(expected) results arrived within 300 s\n\(daemon.stderr.suffix(2000))")
        }
        let rate = Double(readings) / (end - start).seconds
        parameters += [
            ("ceiling", String(format: "%.0f", ceiling)), ("ratio_to_ceiling", String(format: "%.3f", rate / ceiling)),
            ("publisher_only", String(format: "%.0f", publisherRate)),
            ("publish_seconds", String(format: "%.2f", (published - start).seconds)),
            ("results", "\(expected)"), ("cpu_seconds_per_1m_readings", String(format: "%.2f", cpu * 1e6 / Double(readings))),
            ("rss_mib_at_end", String(format: "%.1f", Double(memory.rss) / 1024)),
            ("peak_rss_mib", String(format: "%.1f", Double(memory.peak) / 1024)),
            ("durable_before_ack", level == .atMostOnce ? "n/a (QoS 0)" : "yes"),
            ("clock", "first publish → last window result at a sink subscriber"),
        ]
        try emit(BenchResult(name: "e2e.throughput", value: rate, unit: "readings/s", parameters: parameters + common))
    }

    // MARK: latency

    private func latency(_ context: Context) async throws {
        let seconds = latencySeconds ?? (quick ? 10 : 30)
        let steps = max(20, seconds * latencyRate / devices)
        let stream = E2EStream(prefix: "e2e-latency", devices: devices, steps: steps, staggered: true)
        let level = MQTTQoS(rawValue: Int32(latencyQos)) ?? .atLeastOnce
        let daemon = try startDaemon(context, stream, qos: latencyQos, name: "latency")
        defer { daemon.stop() }
        let collector = E2EResultCollector(stream: stream, trackLatency: true)
        let subscriber = try await resultSubscriber(context, collector)
        let publisher = try await context.broker.publisher(window: publisherWindow, logger: logger)

        // Paced: reading i is due at start + i / rate; whatever is due is published at once, and
        // the pacer wakes at most once per `tick`. Sleeping until every single due time (50 µs
        // apart at 20k/s) cost the load generator ~25k timer wake-ups/s and most of a core on the
        // 2-core reference machine, CPU taken from the broker and the daemon. Latency is measured
        // from each reading's actual hand-over, so the tick does not shorten it.
        let tick = Duration.milliseconds(1)
        var lastWake = ContinuousClock.now
        var writer = JSONWriter(capacity: 192)
        let total = stream.messages
        let rate = Double(latencyRate)
        let start = ContinuousClock.now
        let warmUp = total / 10  // the first tenth of the run is not measured
        var measuredFrom = start
        var cpuBefore = daemon.cpuSeconds
        var index = 0
        var late = Duration.zero
        while index < total {
            let due = start + .seconds(Double(index) / rate)
            let now = ContinuousClock.now
            if now < due {
                try await Task.sleep(until: Swift.max(due, lastWake + tick), clock: .continuous)
                lastWake = .now
            } else {
                late = Swift.max(late, now - due)
            }
            let until = Swift.min(total, Int((ContinuousClock.now - start).seconds * rate) + 1)
            while index < until {
                if index == warmUp {
                    measuredFrom = .now
                    cpuBefore = daemon.cpuSeconds
                }
                let payload = stream.payload(index, writer: &writer)
                if index >= warmUp, let end = stream.closesWindow(index) {
                    collector.sending(device: stream.device(index), windowEnd: end, at: .now)
                }
                try await publisher.publish(topic: stream.topics[stream.device(index)], payload: payload, qos: level)
                index += 1
            }
        }
        await publisher.drain()
        let publishedAt = ContinuousClock.now
        let cpu = daemon.cpuSeconds - cpuBefore
        let memory = daemon.memoryKiB
        let expected = stream.closedWindows
        _ = await collector.wait(for: expected, timeout: .seconds(30))
        await publisher.client.disconnect()
        await subscriber.disconnect()
        let latencies = collector.latencies
        guard latencies.count > 100 else {
            throw BenchError("only \(latencies.count) latencies measured (\(collector.received) results)\n\(daemon.stderr.suffix(2000))")
        }
        let measuredReadings = total - warmUp
        let achieved = Double(measuredReadings) / (publishedAt - measuredFrom).seconds
        var parameters: [(String, String)] = [
            ("qos", "\(latencyQos)"), ("rate", "\(latencyRate)"), ("achieved_rate", String(format: "%.0f", achieved)),
            ("seconds", "\(seconds)"), ("devices", "\(devices)"), ("windows_measured", "\(latencies.count)"),
            ("results", "\(collector.received)"), ("results_expected", "\(expected)"),
            ("p50_ms", String(format: "%.2f", latencies.quantileMilliseconds(0.5))),
            ("p90_ms", String(format: "%.2f", latencies.quantileMilliseconds(0.9))),
            ("p99_ms", String(format: "%.2f", latencies.quantileMilliseconds(0.99))),
            ("max_ms", String(format: "%.2f", latencies.quantileMilliseconds(1))),
            ("publisher_max_behind_ms", String(format: "%.2f", late.seconds * 1000)),
            ("cpu_seconds_per_1m_readings", String(format: "%.2f", cpu * 1e6 / Double(measuredReadings))),
            ("cpu_share_of_one_core", String(format: "%.3f", cpu / (publishedAt - measuredFrom).seconds)),
            ("rss_mib", String(format: "%.1f", Double(memory.rss) / 1024)),
            ("clock", "publish of the reading closing a window → its result at a sink subscriber"),
        ]
        parameters += common
        try emit(
            BenchResult(
                name: "e2e.latency", value: latencies.quantileMilliseconds(0.99), unit: "ms (p99)", parameters: parameters))
    }

    // MARK: RSS

    private func rss(_ context: Context, devices count: Int) async throws {
        let stream = E2EStream(prefix: "e2e-rss\(count)", devices: count, steps: rssReadings)
        let level = MQTTQoS(rawValue: Int32(latencyQos)) ?? .atLeastOnce
        let daemon = try startDaemon(context, stream, qos: latencyQos, name: "rss-\(count)")
        defer { daemon.stop() }
        let idle = daemon.memoryKiB
        let publisher = try await context.broker.publisher(window: publisherWindow, logger: logger)
        try await publishAll(publisher, stream, stream.allPayloads(), level)
        await publisher.client.disconnect()
        // Steady state: processed, a checkpoint or two taken; then sample for 2 s.
        try await Task.sleep(for: .seconds(3))
        var samples: [Int] = []
        for _ in 0..<5 {
            samples.append(daemon.memoryKiB.rss)
            try await Task.sleep(for: .milliseconds(500))
        }
        let memory = daemon.memoryKiB
        try emit(
            BenchResult(
                name: "e2e.rss", value: Double(samples.max()!) / 1024, unit: "MiB",
                parameters: [
                    ("devices", "\(count)"), ("readings", "\(stream.messages)"), ("open_windows", "\(count)"),
                    ("qos", "\(latencyQos)"), ("rss_mib_idle_before", String(format: "%.1f", Double(idle.rss) / 1024)),
                    ("peak_rss_mib", String(format: "%.1f", Double(memory.peak) / 1024)),
                    ("rss_anon_mib", String(format: "%.1f", Double(memory.anonymous) / 1024)),
                    ("rss_file_mib", String(format: "%.1f", Double(memory.file) / 1024)),
                    ("rss_anon_mib_idle_before", String(format: "%.1f", Double(idle.anonymous) / 1024)),
                ] + common))
    }
}

/// The 1-minute load average (the machine is shared; figures depend on it).
func loadAverage() -> String {
    let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
    return text.split(separator: " ").first.map(String.init) ?? "?"
}
