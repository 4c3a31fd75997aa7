import ArgumentParser
import Foundation
import PSPFLog
import PSPFRuntime

/// `pspf simulate-log`: appends a generated sensor stream (DeviceSimulator) to an input log
/// topic, so a test or benchmark has input for `pspf process`.
struct ProcessSimulateLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate-log",
        abstract: "Append a simulated sensor stream to an input log topic (for pspf process).",
        discussion: """
            Devices dev-0000… publish one JSON reading per --interval-ms of event time (with \
            jitter, a share out of order, late and malformed), appended in delivery order with \
            the device as the key. The same seed gives the same stream. To append more later, \
            pass --start-ms after the last run's event times.
            """)

    @OptionGroup var directory: ProcessDirectoryOptions
    @Option(help: "Number of devices.") var devices = 100
    @Option(help: "Readings per device.") var readings = 60
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(name: .customLong("interval-ms"), help: "Event-time spacing of one device's readings.")
    var intervalMs: Int64 = 1000
    @Option(name: .customLong("start-ms"), help: "Event time of the first reading (epoch ms).")
    var startMs: Int64 = 1_732_406_400_000
    @Option(name: .customLong("out-of-order-rate")) var outOfOrderRate = 0.05
    @Option(name: .customLong("late-rate")) var lateRate = 0.002
    @Option(name: .customLong("malformed-rate")) var malformedRate = 0.002

    func run() async throws {
        let logger = directory.logger
        let log = try PartitionedLog(directory: directory.logDirectory, logger: logger)
        let topic = try log.topic(
            directory.input,
            config: TopicConfig(
                partitions: directory.partitionCount(of: directory.input, fallback: directory.partitions),
                fsync: .interval(milliseconds: 5)))
        var simulator = DeviceSimulator(
            configuration: .init(
                devices: devices, readingsPerDevice: readings, intervalMilliseconds: intervalMs,
                startMilliseconds: startMs,
                outOfOrderRate: outOfOrderRate, lateRate: lateRate, malformedRate: malformedRate, seed: seed))
        var batch = LogBatch()
        var appended = 0
        var lastEventTime = startMs
        while let message = simulator.next() {
            var device = message.device
            var source = message.topic
            device.withUTF8 { key in
                source.withUTF8 { topic in
                    message.payload.withUnsafeBytes { payload in
                        batch.append(
                            key: UnsafeRawBufferPointer(key), topic: UnsafeRawBufferPointer(topic), payload: payload)
                    }
                }
            }
            lastEventTime = max(lastEventTime, message.eventTime)
            appended += 1
            if appended % 10_000 == 0 {
                try await topic.appendDurably(batch)
                batch.removeAll()
            }
        }
        try await topic.appendDurably(batch)
        try log.close()
        printJSON { writer in
            writer.beginObject()
            writer.key("topic"); writer.string(directory.input)
            writer.key("appended"); writer.number(appended)
            writer.key("last_event_ms"); writer.number(lastEventTime)
            writer.endObject()
        }
    }
}
