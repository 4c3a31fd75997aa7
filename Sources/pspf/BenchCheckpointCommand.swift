import ArgumentParser
import Foundation
import Logging
import PSPFCore
import PSPFJSON
import PSPFLog
import PSPFRuntime
import PSPFStorage

/// `pspf bench checkpoint`: what checkpoints cost. Three cases (docs/benchmarks.md):
///
/// * `throughput`: the reference pipeline over an input log until caught up, with 1 s
///   checkpoints and with checkpoints off (only the final one), alternating runs.
/// * `duration`: 100k active keys; each round appends one reading for a share of the keys,
///   waits until they are processed, then takes a checkpoint and records how long it took.
/// * `recovery`: a checkpointed state, then 1M buffered readings; the time from opening the
///   data directory to caught up (recovery, replay, final checkpoint, close).
struct BenchCheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Measure checkpoint overhead, duration and recovery time (build with -c release).")

    @Option(help: "Cases to run: throughput, duration, recovery (comma-separated).")
    var cases = "throughput,duration,recovery"
    @Option(help: "Parent directory for the benchmark data (default: the temporary directory).") var dir: String?
    @Option(help: "Input partitions.") var partitions = 4
    @Option(name: .customLong("state-chunks"), help: "State chunks per partition.") var stateChunks = 256
    @Option(
        name: .customLong("wal-checkpoint-pages"),
        help: "WAL pages after which the state database copies its WAL into the file (the store's default if unset).")
    var walCheckpointPages: Int?

    @Option(name: .customLong("throughput-devices")) var throughputDevices = 10_000
    @Option(name: .customLong("throughput-records")) var throughputRecords = 8_000_000
    @Option(name: .customLong("throughput-runs"), help: "Runs per mode (alternating).") var throughputRuns = 3

    @Option(help: "Active keys in the duration case.") var keys = 100_000
    @Option(help: "Checkpoints measured per dirty share.") var rounds = 40
    @Option(name: .customLong("dirty-percent"), help: "Shares of keys changed per checkpoint, in %.")
    var dirtyPercents = "100,10"

    @Option(name: .customLong("replay-records")) var replayRecords = 1_000_000
    @Option(name: .customLong("replay-devices")) var replayDevices = 10_000
    @Option(name: .customLong("recovery-runs")) var recoveryRuns = 3

    @Flag(help: "Keep the data directory.") var keep = false

    private var logger: Logger {
        var logger = Logger(label: "pspf.bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        return logger
    }

    func run() async throws {
        let base = (dir ?? FileManager.default.temporaryDirectory.path) + "/pspf-bench-checkpoint-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: base) } }
        let selected = Set(cases.split(separator: ",").map(String.init))
        if selected.contains("throughput") { try await throughput(base + "/throughput") }
        if selected.contains("duration") { try await duration(base + "/duration") }
        if selected.contains("recovery") { try await recovery(base + "/recovery") }
    }

    // MARK: Throughput

    private func throughput(_ directory: String) async throws {
        let inputLog = try PartitionedLog(directory: directory + "/input", logger: logger)
        let input = try inputLog.topic("readings", config: TopicConfig(partitions: partitions, fsync: .none))
        let seconds = Int64(max(1, throughputRecords / throughputDevices))
        var generator = ReadingGenerator(devices: throughputDevices, seed: 1)
        let total = try await generator.append(to: input, seconds: 0..<seconds)
        try await input.flush()

        var rates: [String: [Double]] = [:]
        var cpuPerRecord: [String: [Double]] = [:]
        var checkpointCounts: [Int] = []
        var checkpointTotals: [Double] = []
        for run in 0..<throughputRuns {
            for mode in ["off", "1s"] {
                let runDirectory = directory + "/run-\(run)-\(mode)"
                let log = try PartitionedLog(directory: runDirectory, logger: logger)
                let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .none))
                let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .none))
                let store = try SQLiteCheckpointStore(path: runDirectory + "/state.db", logger: logger)
                let plan = SensorReading.temperatureStats(idleTimeout: nil)
                let runner = LocalRunner(
                    plan: plan, input: input, output: output, deadLetters: deadLetters, store: store,
                    options: RunnerOptions(
                        group: "bench-\(run)-\(mode)", checkpointInterval: mode == "1s" ? .seconds(1) : nil,
                        stateChunks: stateChunks),
                    logger: logger)
                let cpuBefore = processCPUSeconds().own
                let began = ContinuousClock.now
                let summary = try await runner.run()
                let elapsed = (ContinuousClock.now - began).seconds
                let cpu = processCPUSeconds().own - cpuBefore
                precondition(summary.recordsRead == Int64(total), "read \(summary.recordsRead) of \(total)")
                rates[mode, default: []].append(Double(total) / elapsed)
                cpuPerRecord[mode, default: []].append(cpu / Double(total) * 1e9)
                if mode == "1s" {
                    checkpointCounts.append(summary.checkpoints)
                    checkpointTotals += runner.recentCheckpoints.filter { !$0.isFinal }.map { $0.totalDuration.ms }
                }
                try store.close()
                try log.close()
                try? FileManager.default.removeItem(atPath: runDirectory)
                // Drop the consumer group so retention semantics of the shared input stay as they were.
                try? input.groups.delete(group: "bench-\(run)-\(mode)")
            }
        }
        try inputLog.close()
        let off = median(rates["off"] ?? [])
        let on = median(rates["1s"] ?? [])
        let common: [(String, String)] = [
            ("records", String(total)), ("devices", String(throughputDevices)), ("partitions", String(partitions)),
            ("runs", String(throughputRuns)), ("pipeline", "json decode, keyBy, tumbling 10s, count/avg/min/max"),
        ]
        BenchResult(
            name: "checkpoint.throughput.off", value: off, unit: "records/s",
            parameters: common + [("checkpoints", "final only"), ("all", list(rates["off"] ?? []))]
        ).printLine()
        BenchResult(
            name: "checkpoint.throughput.1s", value: on, unit: "records/s",
            parameters: common + [
                ("checkpoints", "every 1s"), ("all", list(rates["1s"] ?? [])),
                ("checkpoints_per_run", checkpointCounts.map(String.init).joined(separator: "/")),
                ("checkpoint_p50_ms", String(format: "%.1f", percentile(checkpointTotals, 0.5))),
            ]
        ).printLine()
        let cpuOff = median(cpuPerRecord["off"] ?? [])
        let cpuOn = median(cpuPerRecord["1s"] ?? [])
        BenchResult(
            name: "checkpoint.throughput.overhead", value: (off - on) / off * 100, unit: "%",
            parameters: [
                ("target", "<= 5"), ("cpu_ns_per_record_off", format(cpuOff)), ("cpu_ns_per_record_1s", format(cpuOn)),
                ("cpu_overhead_percent", format((cpuOn - cpuOff) / cpuOff * 100)),
                ("cpu_all_off", list(cpuPerRecord["off"] ?? [])), ("cpu_all_1s", list(cpuPerRecord["1s"] ?? [])),
            ]
        ).printLine()
    }

    // MARK: Duration with many keys

    private func duration(_ directory: String) async throws {
        for percent in dirtyPercents.split(separator: ",").compactMap({ Int($0) }) {
            let caseDirectory = directory + "-\(percent)"
            let log = try PartitionedLog(directory: caseDirectory + "/log", logger: logger)
            let input = try log.topic("readings", config: TopicConfig(partitions: partitions, fsync: .none))
            let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .none))
            let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .none))
            var storeConfiguration = SQLiteCheckpointStore.Configuration()
            if let walCheckpointPages { storeConfiguration.deferredWALCheckpointPages = walCheckpointPages }
            let store = try SQLiteCheckpointStore(
                path: caseDirectory + "/state.db", configuration: storeConfiguration, logger: logger)
            let plan = SensorReading.temperatureStats(idleTimeout: nil)
            let runner = LocalRunner(
                plan: plan, input: input, output: output, deadLetters: deadLetters, store: store,
                options: RunnerOptions(
                    group: plan.name, mode: .continuous, checkpointInterval: nil, stateChunks: stateChunks),
                logger: logger)
            let running = Task { try await runner.run() }
            var generator = ReadingGenerator(devices: keys, seed: 2)
            var random = SplitMix64(seed: 3)

            // Round 0 creates every key's state (the first checkpoint inserts all of it).
            _ = try await generator.append(to: input, seconds: 0..<1)
            try await waitUntilProcessed(runner, input)
            _ = await runner.checkpointNow()

            var records: [CheckpointRecord] = []
            for round in 1...rounds {
                let share = Double(percent) / 100
                _ = try await generator.append(to: input, seconds: Int64(round)..<Int64(round + 1)) { _ in
                    share >= 1 || random.nextUnit() < share
                }
                try await waitUntilProcessed(runner, input)
                if let record = await runner.checkpointNow() { records.append(record) }
            }
            running.cancel()
            _ = try await running.value
            let totals = records.map { $0.totalDuration.ms }
            let fileBytes =
                (try? FileManager.default.attributesOfItem(atPath: caseDirectory + "/state.db")[.size] as? Int) ?? 0
            BenchResult(
                name: "checkpoint.duration.p99", value: percentile(totals, 0.99), unit: "ms",
                parameters: [
                    ("keys", String(keys)), ("dirty_percent", String(percent)), ("checkpoints", String(records.count)),
                    ("p50_ms", format(percentile(totals, 0.5))), ("max_ms", format(totals.max() ?? 0)),
                    ("alignment_p50_ms", format(percentile(records.map { $0.alignmentDuration.ms }, 0.5))),
                    ("snapshot_p50_ms", format(percentile(records.map { $0.snapshotDuration.ms }, 0.5))),
                    ("sync_p50_ms", format(percentile(records.map { $0.syncDuration.ms }, 0.5))),
                    ("commit_p50_ms", format(percentile(records.map { $0.commitDuration.ms }, 0.5))),
                    ("commit_p99_ms", format(percentile(records.map { $0.commitDuration.ms }, 0.99))),
                    // Inside the store: statements (apply) and `COMMIT` (WAL write + fsync).
                    ("apply_p50_ms", format(percentile(records.map { $0.info.applyDuration.ms }, 0.5))),
                    ("sql_commit_p50_ms", format(percentile(records.map { ($0.info.commitDuration ?? .zero).ms }, 0.5))),
                    ("sql_commit_p99_ms", format(percentile(records.map { ($0.info.commitDuration ?? .zero).ms }, 0.99))),
                    ("rows_p50", format(percentile(records.map { Double($0.stateRows) }, 0.5))),
                    ("bytes_p50", format(percentile(records.map { Double($0.info.bytesWritten) }, 0.5))),
                    ("state_chunks", String(stateChunks)), ("partitions", String(partitions)),
                    ("db_bytes", String(fileBytes)), ("target_ms", "50"),
                ]
            ).printLine()
            try store.close()
            try log.close()
            if !keep { try? FileManager.default.removeItem(atPath: caseDirectory) }
        }
    }

    private func waitUntilProcessed<O>(_ runner: LocalRunner<O>, _ input: LogTopic) async throws {
        while true {
            let positions = runner.inputPositions
            if (0..<input.partitionCount).allSatisfy({ (positions[$0] ?? -1) >= input.endOffset(partition: $0) }) {
                return
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    // MARK: Recovery time

    private func recovery(_ directory: String) async throws {
        var times: [Double] = []
        for run in 0..<recoveryRuns {
            let runDirectory = directory + "-\(run)"
            // A checkpointed state: 10 s of readings of every device, processed.
            var generator = ReadingGenerator(devices: replayDevices, seed: 4)
            do {
                let setup = try open(runDirectory)
                _ = try await generator.append(to: setup.input, seconds: 0..<10)
                _ = try await setup.runner.run()
                try setup.close()
            }
            // 1M readings buffered in the input log while the process was down.
            do {
                let log = try PartitionedLog(directory: runDirectory + "/log", logger: logger)
                let input = try log.topic("readings", config: TopicConfig(partitions: partitions, fsync: .none))
                let seconds = Int64(max(1, replayRecords / replayDevices))
                _ = try await generator.append(to: input, seconds: 10..<(10 + seconds))
                try log.close()
            }
            // Start → caught up: open, recover, replay, final checkpoint, close.
            let began = ContinuousClock.now
            let setup = try open(runDirectory)
            let summary = try await setup.runner.run()
            try setup.close()
            let elapsed = (ContinuousClock.now - began).seconds
            precondition(summary.recordsRead >= Int64(replayRecords), "replayed \(summary.recordsRead)")
            times.append(elapsed)
            if !keep { try? FileManager.default.removeItem(atPath: runDirectory) }
        }
        BenchResult(
            name: "checkpoint.recovery", value: median(times), unit: "s",
            parameters: [
                ("records", String(replayRecords)), ("devices", String(replayDevices)),
                ("partitions", String(partitions)), ("runs", list(times)), ("target_s", "1"),
                ("what", "open log+state db, recover, replay until caught up, final checkpoint, close"),
            ]
        ).printLine()
    }

    private struct Setup {
        let log: PartitionedLog
        let input: LogTopic
        let store: SQLiteCheckpointStore
        let runner: LocalRunner<WindowResult<String, AggregateRow>>
        func close() throws {
            try store.close()
            try log.close()
        }
    }

    private func open(_ directory: String) throws -> Setup {
        let log = try PartitionedLog(directory: directory + "/log", logger: logger)
        let input = try log.topic("readings", config: TopicConfig(partitions: partitions, fsync: .none))
        let output = try log.topic("results", config: TopicConfig(partitions: 1, fsync: .none))
        let deadLetters = try log.topic("dead-letters", config: TopicConfig(partitions: 1, fsync: .none))
        let store = try SQLiteCheckpointStore(path: directory + "/state.db", logger: logger)
        let plan = SensorReading.temperatureStats(idleTimeout: nil)
        let runner = LocalRunner(
            plan: plan, input: input, output: output, deadLetters: deadLetters, store: store,
            options: RunnerOptions(group: plan.name, stateChunks: stateChunks), logger: logger)
        return Setup(log: log, input: input, store: store, runner: runner)
    }

    // MARK: Helpers

    private func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    private func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count - 1)).rounded(.up))
        return sorted[min(sorted.count - 1, rank)]
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }
    private func list(_ values: [Double]) -> String {
        values.map { String(format: $0 >= 1000 ? "%.0f" : "%.3f", $0) }.joined(separator: "/")
    }
}

/// Fast generator of reference readings: one per device per second of event time (±500 ms of
/// jitter), `{"device":"dev-000042","ts":…,"temp":…,"hum":…}`, keyed by device.
struct ReadingGenerator {
    let devices: Int
    private let names: [[UInt8]]
    private let topics: [[UInt8]]
    private var random: SplitMix64
    private var writer = JSONWriter(capacity: 128)
    static let start: Int64 = 1_732_406_400_000

    init(devices: Int, seed: UInt64) {
        self.devices = devices
        names = (0..<devices).map { index in
            let digits = String(index)
            return Array(("dev-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8)
        }
        topics = names.map { Array("sensors/".utf8) + $0 + Array("/reading".utf8) }
        random = SplitMix64(seed: seed)
    }

    /// Appends one reading per selected device per second in `seconds`; returns the count.
    mutating func append(
        to topic: LogTopic, seconds: Range<Int64>, selecting include: (Int) -> Bool = { _ in true }
    ) async throws -> Int {
        var batch = LogBatch()
        var count = 0
        for second in seconds {
            for device in 0..<devices where include(device) {
                let ts = Self.start + second * 1000 + Int64(random.next() % 500)
                writer.reset()
                writer.beginObject()
                writer.key("device")
                names[device].withUnsafeBytes { writer.string(String(decoding: $0, as: UTF8.self)) }
                writer.key("ts")
                writer.number(ts)
                writer.key("temp")
                writer.number(Double(1500 + Int(random.next() % 2000)) / 100)
                writer.key("hum")
                writer.number(Double(400 + Int(random.next() % 300)) / 10)
                writer.endObject()
                names[device].withUnsafeBytes { key in
                    topics[device].withUnsafeBytes { source in
                        writer.bytes.withUnsafeBytes { payload in
                            batch.append(key: key, topic: source, payload: payload)
                        }
                    }
                }
                count += 1
                if count % 50_000 == 0 {
                    try await topic.appendDurably(batch)
                    batch.removeAll()
                }
            }
        }
        try await topic.appendDurably(batch)
        return count
    }
}

extension Duration {
    /// In milliseconds.
    fileprivate var ms: Double { seconds * 1000 }
}

