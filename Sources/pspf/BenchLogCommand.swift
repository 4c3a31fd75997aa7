import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PSPFLog

/// `pspf bench log`: append throughput under each fsync policy and sequential read throughput
/// of the native log. Prints one JSON object per result (see `BenchResult`). Build with
/// `-c release`.
struct BenchLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Benchmark the native partitioned log (append per fsync policy, sequential read)."
    )

    @Option(help: "Records per append run.")
    var records: Int = 5_000_000

    @Option(help: "Payload bytes per record.")
    var payloadBytes: Int = 100

    @Option(help: "Records per append batch.")
    var batch: Int = 1_000

    @Option(help: "Partitions of the benchmark topic.")
    var partitions: Int = 1

    @Option(help: "Concurrent async appenders in the 'interval-async' run.")
    var concurrency: Int = 8

    @Option(help: "Comma-separated runs: every, interval, interval-async, none, read.")
    var runs: String = "every,interval,interval-async,none,read"

    @Option(help: "Parent directory for the benchmark's temporary topics.")
    var dir: String = NSTemporaryDirectory()

    @Flag(help: "Keep the topics after the run.")
    var keep = false

    mutating func run() async throws {
        let root = (dir as NSString).appendingPathComponent("pspf-bench-log-\(ProcessInfo.processInfo.processIdentifier)")
        var logger = Logger(label: "pspf.bench.log")
        logger.logLevel = .warning
        defer { if !keep { try? FileManager.default.removeItem(atPath: root) } }
        let selected = Set(runs.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) })
        let workload = Workload(records: records, payloadBytes: payloadBytes, batch: batch, devices: 1_000)
        var readTopic: String?

        if selected.contains("every") {
            let path = root + "/every"
            let (seconds, stats) = try runSyncAppend(path: path, fsync: .every, flushEachBatch: true, workload, logger)
            report("log.append", workload, seconds: seconds, stats: stats, extra: [("policy", "every"), ("mode", "append+flush per batch")])
            readTopic = path
        }
        if selected.contains("interval") {
            let path = root + "/interval"
            let (seconds, stats) = try runSyncAppend(path: path, fsync: .interval(milliseconds: 1), flushEachBatch: false, workload, logger)
            report("log.append", workload, seconds: seconds, stats: stats, extra: [("policy", "interval(1ms)"), ("mode", "pipelined, flush at end")])
            readTopic = path
        }
        if selected.contains("interval-async") {
            let path = root + "/interval-async"
            let (seconds, stats) = try await runAsyncAppend(path: path, fsync: .interval(milliseconds: 1), workload, logger)
            report("log.append", workload, seconds: seconds, stats: stats, extra: [
                ("policy", "interval(1ms)"), ("mode", "\(concurrency) tasks awaiting appendDurably"),
            ])
        }
        if selected.contains("none") {
            let path = root + "/none"
            let (seconds, stats) = try runSyncAppend(path: path, fsync: .none, flushEachBatch: false, workload, logger)
            report("log.append", workload, seconds: seconds, stats: stats, extra: [("policy", "none"), ("mode", "pipelined, flush at end")])
            readTopic = readTopic ?? path
        }
        if selected.contains("read") {
            let path: String
            if let readTopic {
                path = readTopic
            } else {
                path = root + "/read"
                _ = try runSyncAppend(path: path, fsync: .none, flushEachBatch: false, workload, logger)
            }
            try runRead(path: path, workload, logger)
        }
    }

    /// Flushes dirty pages of earlier runs so that their writeback does not slow this one.
    private func settle() {
        #if canImport(Glibc)
        Glibc.sync()
        #endif
    }

    private func config(_ fsync: FsyncPolicy) -> TopicConfig {
        TopicConfig(partitions: partitions, segmentBytes: 256 << 20, fsync: fsync)
    }

    /// One producer thread: `append(batch)` per batch, then `flush()` per batch or once at the end.
    private func runSyncAppend(
        path: String, fsync: FsyncPolicy, flushEachBatch: Bool, _ workload: Workload, _ logger: Logger
    ) throws -> (Double, TopicStats) {
        settle()
        let topic = try LogTopic.open(directory: path, config: config(fsync), logger: logger)
        var batch = LogBatch(capacity: workload.batch * (workload.payloadBytes + 80))
        let clock = ContinuousClock()
        let start = clock.now
        var appended = 0
        while appended < workload.records {
            let count = min(workload.batch, workload.records - appended)
            workload.fill(&batch, from: appended, count: count)
            try topic.append(batch)
            if flushEachBatch { try topic.flush() }
            appended += count
        }
        try topic.flush()
        let elapsed = clock.now - start
        let stats = topic.stats
        try topic.close()
        return (elapsed.seconds, stats)
    }

    /// `concurrency` tasks, each awaiting `appendDurably` of its batches.
    private func runAsyncAppend(path: String, fsync: FsyncPolicy, _ workload: Workload, _ logger: Logger) async throws -> (Double, TopicStats) {
        settle()
        let topic = try LogTopic.open(directory: path, config: config(fsync), logger: logger)
        let tasks = max(1, concurrency)
        let perTask = workload.records / tasks
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var batch = LogBatch(capacity: workload.batch * (workload.payloadBytes + 80))
                    var appended = 0
                    while appended < perTask {
                        let count = min(workload.batch, perTask - appended)
                        workload.fill(&batch, from: task * perTask + appended, count: count)
                        try await topic.appendDurably(batch)
                        appended += count
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        let stats = topic.stats
        try topic.close()
        return (elapsed.seconds, stats)
    }

    private func runRead(path: String, _ workload: Workload, _ logger: Logger) throws {
        let topic = try LogTopic.openReadOnly(directory: path, logger: logger)
        // Warm the page cache once, then measure.
        var total = 0
        var payloadBytes = 0
        var best = Double.infinity
        for round in 0..<3 {
            let clock = ContinuousClock()
            let start = clock.now
            total = 0
            payloadBytes = 0
            for p in 0..<topic.partitionCount {
                let reader = topic.reader(partition: p)
                while true {
                    let result = try reader.read(maxRecords: 100_000) { record in
                        payloadBytes &+= record.payload.count
                    }
                    if result.records == 0 { break }
                    total += result.records
                }
            }
            let seconds = (clock.now - start).seconds
            if round > 0 { best = min(best, seconds) }
        }
        let frameBytes = 44 + workload.keyBytes + workload.topicBytes + workload.payloadBytes
        BenchResult(name: "log.read", value: Double(total) / best, unit: "records/s", parameters: [
            ("mode", "sequential, page cache warm, CRC verified"), ("records", "\(total)"), ("partitions", "\(topic.partitionCount)"),
            ("record_bytes", "\(workload.payloadBytes)"), ("frame_bytes", "\(frameBytes)"),
            ("mb_per_s", String(format: "%.1f", Double(total * frameBytes) / best / 1e6)),
            ("seconds", String(format: "%.3f", best)), ("payload_bytes_read", "\(payloadBytes)"),
        ]).printLine()
    }

    private func report(_ name: String, _ workload: Workload, seconds: Double, stats: TopicStats, extra: [(String, String)]) {
        let frameBytes = 44 + workload.keyBytes + workload.topicBytes + workload.payloadBytes
        BenchResult(name: name, value: Double(stats.appendedRecords) / seconds, unit: "records/s", parameters: extra + [
            ("batch", "\(workload.batch)"), ("records", "\(stats.appendedRecords)"), ("partitions", "\(partitions)"),
            ("record_bytes", "\(workload.payloadBytes)"), ("frame_bytes", "\(frameBytes)"),
            ("mb_per_s", String(format: "%.1f", Double(stats.appendedBytes) / seconds / 1e6)),
            ("fsyncs", "\(stats.fsyncs)"), ("writes", "\(stats.writes)"), ("seconds", String(format: "%.3f", seconds)),
        ]).printLine()
    }
}

/// Synthetic sensor readings: key `dev-NNNN`, topic `sensors/dev-NNNN/reading`, a JSON payload
/// padded to `payloadBytes`.
struct Workload: Sendable {
    var records: Int
    var payloadBytes: Int
    var batch: Int
    var devices: Int

    var keyBytes: Int { 8 }
    var topicBytes: Int { 24 }

    func fill(_ batch: inout LogBatch, from first: Int, count: Int) {
        batch.removeAll()
        var key: [UInt8] = Array("dev-0000".utf8)
        var topic: [UInt8] = Array("sensors/dev-0000/reading".utf8)
        // Valid JSON padded to exactly payloadBytes: {"device":"dev-0000","temp":21.5,"pad":"   "}
        let prefix = Array(#"{"device":"dev-0000","temp":21.5,"pad":""#.utf8)
        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: payloadBytes)
        let json = payloadBytes >= prefix.count + 2
        if json {
            for (i, byte) in prefix.enumerated() { payload[i] = byte }
            for i in prefix.count..<(payloadBytes - 2) { payload[i] = UInt8(ascii: " ") }
            payload[payloadBytes - 2] = UInt8(ascii: "\"")
            payload[payloadBytes - 1] = UInt8(ascii: "}")
        }
        for i in first..<(first + count) {
            var device = i % devices
            for position in stride(from: 7, through: 4, by: -1) {
                let digit = UInt8(ascii: "0") + UInt8(device % 10)
                key[position] = digit
                topic[position + 8] = digit
                if json { payload[position + 11] = digit }
                device /= 10
            }
            key.withUnsafeBytes { k in
                topic.withUnsafeBytes { t in
                    payload.withUnsafeBytes { p in
                        batch.append(key: k, topic: t, payload: p, eventTime: Int64(i))
                    }
                }
            }
        }
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
