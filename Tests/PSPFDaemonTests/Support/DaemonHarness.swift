import Foundation
import Logging
import PSPFAdmin
import PSPFConfig
import PSPFLog
import PSPFTesting
import Synchronization
import Testing

@testable import PSPFDaemon

/// Every log line of a test, captured through the daemon's own ``LogfmtLogHandler`` (the
/// format `pspf run` writes), awaitable.
final class LogCapture: Sendable {
    let lines = Observed<[String]>([])

    /// A logger whose every handler writes logfmt lines into ``lines``.
    func logger(level: Logger.Level = .info) -> Logger {
        let lines = self.lines
        return Logger(label: "pspf") { label in
            var handler = LogfmtLogHandler(label: label, journald: false) { line in lines.update { $0.append(line) } }
            handler.logLevel = level
            return handler
        }
    }

    var text: String { lines.value.joined(separator: "\n") }

    /// Waits until a line contains `fragment` (at least `count` lines do).
    func wait(for fragment: String, count: Int = 1, timeout: Duration = .seconds(30)) async throws {
        try await lines.wait("\(count)× log line containing '\(fragment)'", timeout: timeout) { lines in
            lines.lazy.filter { $0.contains(fragment) }.count >= count
        }
    }
}

/// A ``Daemon`` running in-process (no signal handling) until ``stop()``.
final class RunningDaemon: Sendable {
    enum Outcome: Sendable {
        case succeeded
        case failed(String)
    }

    let daemon: Daemon
    let logs: LogCapture
    private let outcome = Observed<Outcome?>(nil)
    private let task: Task<Void, Never>

    private init(daemon: Daemon, logs: LogCapture) {
        self.daemon = daemon
        self.logs = logs
        let outcome = self.outcome
        task = Task {
            do {
                try await daemon.run()
                outcome.update { $0 = .succeeded }
            } catch {
                outcome.update { $0 = .failed("\(error)") }
            }
        }
    }

    /// Starts the daemon and waits until its ingest has subscribed (so the broker routes what
    /// a test publishes next to it). Subscriptions are counted among the captured lines.
    static func start(
        _ configuration: PSPFConfiguration, logs: LogCapture, level: Logger.Level = .info, subscriptions: Int = 1
    ) async throws -> RunningDaemon {
        let subscribedBefore = logs.lines.value.filter { $0.contains("msg=subscribed") }.count
        let daemon = Daemon(
            configuration: configuration, logger: logs.logger(level: level), consoleWrite: { _ in },
            handleSignals: false)
        let running = RunningDaemon(daemon: daemon, logs: logs)
        await daemon.waitUntilStarted()
        if case .failed(let error)? = running.outcome.value {
            throw TimedOut(description: "the daemon did not start: \(error)")
        }
        try await logs.wait(for: "msg=subscribed", count: subscribedBefore + subscriptions)
        return running
    }

    /// Graceful shutdown (what SIGTERM does); throws if the daemon failed.
    func stop() async throws {
        await daemon.shutdown()
        await task.value
        if case .failed(let error)? = outcome.value {
            Issue.record("the daemon failed: \(error)")
        }
    }

    func status() async -> DaemonStatus { await daemon.currentStatus() }

    func sink(_ name: String) async -> SinkStatus? { await status().sinks.first { $0.name == name } }

    /// Polls the status (every 20 ms) until `predicate` holds.
    @discardableResult
    func waitForStatus(
        _ what: String, timeout: Duration = .seconds(30), until predicate: (DaemonStatus) -> Bool
    ) async throws -> DaemonStatus {
        try await eventually(what, timeout: timeout) {
            let status = await self.status()
            return predicate(status) ? status : nil
        }
    }
}

/// Polls `probe` every 20 ms until it returns a value; throws ``TimedOut`` after `timeout`.
/// For conditions nothing notifies about (files on disk, status counters).
func eventually<T>(
    _ what: String, timeout: Duration = .seconds(30), _ probe: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let value = try await probe() { return value }
        guard clock.now < deadline else { throw TimedOut(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Every record of every partition of a topic directory, opened read-only (also while a
/// daemon appends to it), as payload strings in log order.
func readTopic(_ directory: String) throws -> [String] {
    var logger = Logger(label: "pspf.test")
    logger.logLevel = .critical
    guard FileManager.default.fileExists(atPath: directory + "/topic.meta") else { return [] }
    let topic = try LogTopic.openReadOnly(directory: directory, logger: logger)
    var payloads: [String] = []
    for partition in 0..<topic.partitionCount {
        let reader = topic.reader(partition: partition)
        reader.seek(to: topic.startOffset(partition: partition))
        while true {
            let result = try reader.read(maxRecords: 10_000) { payloads.append(String(decoding: $0.payload, as: UTF8.self)) }
            if result.records == 0 { break }
        }
    }
    return payloads
}

/// The raw payload bytes of every record of a topic directory, in log order.
func readTopicBytes(_ directory: String) throws -> [[UInt8]] {
    var logger = Logger(label: "pspf.test")
    logger.logLevel = .critical
    guard FileManager.default.fileExists(atPath: directory + "/topic.meta") else { return [] }
    let topic = try LogTopic.openReadOnly(directory: directory, logger: logger)
    var payloads: [[UInt8]] = []
    for partition in 0..<topic.partitionCount {
        let reader = topic.reader(partition: partition)
        reader.seek(to: topic.startOffset(partition: partition))
        while true {
            let result = try reader.read(maxRecords: 10_000) { payloads.append(Array($0.payload)) }
            if result.records == 0 { break }
        }
    }
    return payloads
}
