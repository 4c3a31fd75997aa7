import ArgumentParser
import Foundation
import Logging
import PSPFCore
import PSPFJSON
import PSPFLog
import PSPFRuntime

/// `pspf demo`: simulated devices → durable input log → per-device 10 s windows → output log →
/// console, all in one process, so a new user sees the engine work before MQTT is set up.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the engine over simulated devices and print windowed results.",
        discussion: """
            Simulated devices publish JSON readings (with jitter, a few out-of-order, late and \
            malformed ones) into a durable input log; a pipeline keys them by device, computes \
            count/avg/min/max of the temperature per 10 s tumbling window in event time, and \
            writes results to an output log, which is printed as it grows. Late and malformed \
            readings go to the dead-letter log with their reason.
            """)

    @Option(help: "Number of simulated devices.") var devices = 8
    @Option(help: "Readings per device (one per second of event time).") var readings = 60
    @Option(help: "How many times faster than real time the devices publish.") var speed = 20.0
    @Option(help: "Data directory (default: a new temporary directory).") var dir: String?
    @Option(help: "Random seed for the simulated traffic.") var seed: UInt64 = 42

    func run() async throws {
        let directory = dir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("pspf-demo-\(ProcessInfo.processInfo.processIdentifier)").path
        var logger = Logger(label: "pspf.demo")
        logger.logLevel = .warning
        let log = try PartitionedLog(directory: directory, logger: logger)
        let readingsTopic = try log.topic("readings", config: TopicConfig(partitions: 4, fsync: .interval(milliseconds: 5)))
        let results = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .interval(milliseconds: 5)))
        let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .interval(milliseconds: 5)))

        let plan = SensorReading.temperatureStats(idleTimeout: .seconds(2))
        let runner = LocalRunner(
            plan: plan, input: readingsTopic, output: results, deadLetters: deadLetters,
            options: RunnerOptions(group: plan.name, mode: .continuous, tickMilliseconds: 100), logger: logger)

        print("PSPF demo: \(devices) devices × \(readings) readings, data in \(directory)")
        print("pipeline '\(plan.name)': key by device, event time (out-of-orderness 2 s), tumbling 10 s, count/avg/min/max(temp)\n")
        print(Self.header)

        let simulation = DeviceSimulator.Configuration(
            devices: devices, readingsPerDevice: readings, lateRate: 0.01, malformedRate: 0.01, seed: seed)
        let printer = ConsoleResultPrinter(topic: results)
        let runTask = Task { try await runner.run() }
        let printTask = Task { try await printer.run() }

        let published = try await Self.publish(simulation, into: readingsTopic, speed: speed)
        // Devices are now silent: their last windows close by the idle timeout (2 s of processing time).
        try await Task.sleep(for: .seconds(3))
        runTask.cancel()
        let summary = try? await runTask.value
        try await Task.sleep(for: .milliseconds(300))
        printTask.cancel()
        _ = try? await printTask.value

        print("\npublished \(published.total) messages (\(published.late) delayed by 60 s, \(published.malformed) malformed)")
        if let summary {
            print(
                "processed \(summary.pipeline.processed) · windows emitted \(summary.resultsWritten) · late \(summary.pipeline.late) · dead letters \(summary.deadLettersWritten)"
            )
        }
        Self.printDeadLetters(deadLetters)
        print("\ninspect the logs: pspf log topics --dir \(directory)")
        print("                  pspf log tail --dir \(directory) --topic results --partition 0 -n 3")
        try log.close()
    }

    static let header = "device     window (UTC)            count   avg °C   min °C   max °C"

    private struct Published { var total = 0, late = 0, malformed = 0 }

    /// Appends the simulated messages to the input log, paced at `speed`× real time.
    private static func publish(
        _ configuration: DeviceSimulator.Configuration, into topic: LogTopic, speed: Double
    ) async throws -> Published {
        var simulator = DeviceSimulator(configuration: configuration)
        var published = Published()
        var batch = LogBatch()
        var batchTime = configuration.startMilliseconds
        while let message = simulator.next() {
            if message.deliveryTime - batchTime >= 1000 {
                try await topic.appendDurably(batch)
                batch.removeAll()
                try await Task.sleep(for: .milliseconds(Int64(Double(message.deliveryTime - batchTime) / speed)))
                batchTime = message.deliveryTime
            }
            batch.append(key: message.device, topic: message.topic, payload: String(decoding: message.payload, as: UTF8.self))
            published.total += 1
            if message.kind == .late { published.late += 1 }
            if message.kind == .malformed { published.malformed += 1 }
        }
        try await topic.appendDurably(batch)
        return published
    }

    private static func printDeadLetters(_ topic: LogTopic) {
        let reader = topic.reader(partition: 0)
        var counts: [String: Int] = [:]
        var examples: [String] = []
        _ = try? reader.read(from: 0) { record in
            guard let envelope = try? JSONValue(parsing: record.payload),
                let reason = envelope["reason"]?.stringValue
            else { return }
            counts[reason, default: 0] += 1
            if examples.count < 3, let message = envelope["message"]?.stringValue {
                examples.append("  \(reason): \(message)")
            }
        }
        guard !counts.isEmpty else { return }
        print("dead letters by reason: " + counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        examples.forEach { print($0) }
    }
}

/// Follows the output log and prints each result as a table row (a console sink in miniature).
struct ConsoleResultPrinter: Sendable {
    let topic: LogTopic

    func run() async throws {
        let reader = topic.reader(partition: 0)
        var next: Int64 = 0
        while !Task.isCancelled {
            let read = try reader.read(from: next) { record in
                guard let result = try? JSONValue(parsing: record.payload) else { return }
                print(Self.row(result))
            }
            next = read.nextOffset
            if read.records == 0 { try await topic.waitForRecords(partition: 0, from: next) }
        }
    }

    static func row(_ result: JSONValue) -> String {
        func number(_ name: String) -> String {
            guard let value = result[name]?.doubleValue else { return "     -" }
            return pad(String(format: "%.2f", value), 8)
        }
        func pad(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }
        let start = result["window_start"]?.int64Value ?? 0
        let end = result["window_end"]?.int64Value ?? 0
        let window = "\(clockTime(start))–\(clockTime(end))"
        let key = (result["key"]?.stringValue ?? "?").padding(toLength: 10, withPad: " ", startingAt: 0)
        return "\(key) \(window.padding(toLength: 22, withPad: " ", startingAt: 0)) \(pad(String(result["count"]?.int64Value ?? 0), 6))"
            + " \(number("avg_temp")) \(number("min_temp")) \(number("max_temp"))"
    }

    private static func clockTime(_ milliseconds: Int64) -> String {
        let seconds = (milliseconds / 1000) % 86_400
        return String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
    }
}
