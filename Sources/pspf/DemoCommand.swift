import ArgumentParser
import Foundation
import Logging
import PSPFConfig
import PSPFDaemon
import PSPFJSON
import PSPFLog
import PSPFRuntime

/// `pspf demo`: the real thing on loopback. A local mosquitto, simulated devices publishing
/// through it (`pspf simulate` as a child process), and the daemon running `config/demo.yaml`,
/// whose results appear on the console and in a JSON-lines file. Ctrl-C stops everything it
/// started (by PID) and prints what happened to every reading.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run mosquitto, simulated devices and the daemon on loopback, and show the results.",
        discussion: """
            Starts mosquitto on a free 127.0.0.1 port, `pspf simulate` (devices publishing JSON \
            readings with jitter, a few late and malformed ones), and the daemon with the demo \
            configuration: per-device 10 s windows, results printed here and written to \
            DATA/results/temp-stats.jsonl. Stop with Ctrl-C (or --duration): the simulator stops, \
            the daemon drains and checkpoints, mosquitto stops, and a summary follows.
            """)

    @Option(help: "The configuration to run.") var config = "config/demo.yaml"
    @Option(help: "Number of simulated devices.") var devices = 6
    @Option(help: "Readings per second, all devices together.") var rate = 12.0
    @Option(help: "Stop by itself after this many seconds (default: run until Ctrl-C).") var duration: Double?
    @Option(help: "Data directory (default: a new temporary directory).") var dir: String?
    @Option(help: "Random seed of the simulated traffic.") var seed: UInt64 = 42
    @Option(help: "Daemon log level on standard error.") var logLevel: Logger.Level = .warning

    func run() async throws {
        let dataDirectory =
            dir ?? NSTemporaryDirectory() + "pspf-demo-\(ProcessInfo.processInfo.processIdentifier)"
        let broker = try BenchBroker.start(inflight: 1000)
        defer { broker.stop() }

        var environment = ConfigEnvironment.process
        environment.variables["PSPF_DATA_DIR"] = dataDirectory
        environment.variables["PSPF_MQTT_PORT"] = String(broker.port)
        let configuration: PSPFConfiguration
        do {
            configuration = try ConfigLoader.load(file: config, environment: environment)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = LogfmtLogHandler(label: label, journald: false)
            handler.logLevel = level
            return handler
        }

        print("PSPF demo")
        print("  mosquitto      127.0.0.1:\(broker.port) (pid \(broker.process.processIdentifier))")
        print("  devices        \(devices), \(rate) readings/s in all, publishing to sensors/<device>/reading")
        print("  configuration  \(config)")
        print("  data           \(dataDirectory)")
        for pipeline in configuration.pipelines { print("  " + pipeline.summary) }
        print("Results appear as each device's 10 s window closes (2 s out-of-orderness). Ctrl-C stops.\n")

        let daemon = Daemon(configuration: configuration, logger: Logger(label: "pspf"), consoleWrite: { print($0) })
        let daemonTask = Task { try await daemon.run() }
        await daemon.waitUntilStarted()
        let simulator = try startSimulator(port: broker.port)
        if let duration {
            try? await Task.sleep(for: .seconds(duration))
            await daemon.shutdown()
        }
        let outcome = await daemonTask.result
        // Ctrl-C reached the whole process group; stop what is still running, by PID.
        if simulator.isRunning { kill(simulator.processIdentifier, SIGTERM) }
        simulator.waitUntilExit()
        broker.stop()
        if case .failure(let error) = outcome { throw failClearly(error, command: "demo") }
        printSummary(configuration: configuration)
    }

    /// `pspf simulate` as a child: the devices are a separate MQTT client, as in the field.
    private func startSimulator(port: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = [
            "simulate", "--broker", "127.0.0.1:\(port)", "--devices", String(devices), "--rate", String(rate),
            "--seed", String(seed), "--malformed-rate", "0.02", "--late-rate", "0.02",
        ]
        process.standardOutput = FileHandle.nullDevice
        try spawnWithEmptySignalMask(process)
        return process
    }

    /// What happened to the readings: ingested, windows emitted, dead letters by reason.
    private func printSummary(configuration: PSPFConfiguration) {
        let layout = DataLayout(root: configuration.dataDirectory)
        var logger = Logger(label: "pspf.demo")
        logger.logLevel = .error
        func records(_ topic: String) -> (count: Int64, topic: LogTopic?) {
            guard let opened = try? LogTopic.openReadOnly(directory: layout.logDirectory + "/" + topic, logger: logger)
            else { return (0, nil) }
            let count = (0..<opened.partitionCount).reduce(Int64(0)) {
                $0 + opened.endOffset(partition: $1) - opened.startOffset(partition: $1)
            }
            return (count, opened)
        }
        print("\nSummary")
        for source in configuration.sources {
            print("  readings in the input log '\(DataLayout.inputTopic(source: source.name))': \(records(DataLayout.inputTopic(source: source.name)).count)")
        }
        var reasons: [String: Int] = [:]
        let topics = (try? PartitionedLog.topicNames(in: layout.logDirectory)) ?? []
        for name in topics where name.hasPrefix(DataLayout.deadLetterPrefix) {
            guard let topic = records(name).topic else { continue }
            for partition in 0..<topic.partitionCount {
                try? topic.reader(partition: partition).read(from: topic.startOffset(partition: partition)) { record in
                    if let envelope = DeadLetterEnvelope(json: record.payload) { reasons[envelope.reason, default: 0] += 1 }
                }
            }
        }
        for pipeline in configuration.pipelines {
            print("  results of '\(pipeline.name)' in its output log: \(records(DataLayout.resultsTopic(pipeline: pipeline.name)).count)")
        }
        let total = reasons.values.reduce(0, +)
        let byReason = reasons.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("  dead letters: \(total)" + (total > 0 ? " (\(byReason))" : ""))
        print("  result files: \(configuration.dataDirectory)/results/")
        print("\nLook closer:")
        print("  pspf dlq list --dir \(layout.logDirectory) --all")
        print("  pspf log topics --dir \(layout.logDirectory)")
    }
}
