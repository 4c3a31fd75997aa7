import Foundation
import PSPFJSON
import PSPFMQTT
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The readings of `pspf bench e2e`: `devices` devices on topics `<prefix>/dev-NNNN/reading`,
/// one reading per device per second of event time, step by step (every device once per step).
/// Message `i` is device `i % devices` at step `i / devices`. Windows are 10 s tumbling, aligned
/// to the epoch, so the reading at a multiple of 10 s (after the device's first) closes its
/// previous window. With `staggered`, device `d` runs `d % 10` seconds ahead, so a tenth of the
/// devices close a window at every step instead of all of them every tenth step.
struct E2EStream: Sendable {
    static let base: Int64 = 1_732_406_400_000  // a multiple of 10 s
    static let windowMilliseconds: Int64 = 10_000

    let prefix: String
    let devices: Int
    let steps: Int
    let staggered: Bool
    let payloadBytes: Int
    let topics: [String]

    init(prefix: String, devices: Int, steps: Int, staggered: Bool = false, payloadBytes: Int = 100) {
        self.prefix = prefix
        self.devices = devices
        self.steps = steps
        self.staggered = staggered
        self.payloadBytes = payloadBytes
        topics = (0..<devices).map { "\(prefix)/\(Self.key($0))/reading" }
    }

    var messages: Int { devices * steps }
    var topicFilter: String { prefix + "/+/reading" }

    /// The key (topic segment 1) of device `d`: `dev-0042`.
    static func key(_ device: Int) -> String {
        let digits = String(device)
        return "dev-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The device number of a key, or nil.
    static func device(ofKey key: String) -> Int? {
        guard key.hasPrefix("dev-") else { return nil }
        return Int(key.dropFirst(4))
    }

    func device(_ index: Int) -> Int { index % devices }

    func eventTime(_ index: Int) -> Int64 {
        let step = index / devices
        return Self.base + Int64(step + (staggered ? device(index) % 10 : 0)) * 1000
    }

    /// The end of the window message `index` closes (its event time), or nil.
    func closesWindow(_ index: Int) -> Int64? {
        let time = eventTime(index)
        return index >= devices && time % Self.windowMilliseconds == 0 ? time : nil
    }

    /// How many results the whole stream produces (windows closed by a later reading).
    var closedWindows: Int { (0..<messages).reduce(0) { $0 + (closesWindow($1) == nil ? 0 : 1) } }

    /// A JSON reading padded to `payloadBytes`.
    func payload(_ index: Int, writer: inout JSONWriter) -> [UInt8] {
        let device = device(index)
        writer.reset()
        writer.beginObject()
        writer.key("device"); writer.string(Self.key(device))
        writer.key("ts"); writer.number(eventTime(index))
        writer.key("temp"); writer.number(Double(18 + (index / devices + device) % 10) + 0.25)
        let padding = max(0, payloadBytes - writer.bytes.count - 10)
        writer.key("pad"); writer.string(String(repeating: "x", count: padding))
        writer.endObject()
        return writer.bytes
    }

    func allPayloads() -> [[UInt8]] {
        var writer = JSONWriter(capacity: payloadBytes + 64)
        return (0..<messages).map { payload($0, writer: &writer) }
    }
}

/// The daemon under test: `pspf run FILE` as a child process (so that its memory and CPU can be
/// read from /proc/PID), standard error to a file, stopped by its PID.
final class E2EDaemon: @unchecked Sendable {
    let process = Process()
    let directory: String
    var pid: Int32 { process.processIdentifier }
    var stderrPath: String { directory + "/pspf.stderr" }

    init(executable: String, directory: String, configuration: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/pspf.yaml"
        try configuration.write(toFile: file, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["run", file]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["PSPF_CRASH_AT"] = nil
        process.environment = environment
        try spawnWithEmptySignalMask(process)
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// `VmRSS`, `VmHWM` (peak), `RssAnon` (heap, stacks) and `RssFile` (mapped binary and
    /// libraries) from /proc/PID/status, in KiB.
    var memoryKiB: (rss: Int, peak: Int, anonymous: Int, file: Int) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0, 0, 0) }
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return (field("VmRSS"), field("VmHWM"), field("RssAnon"), field("RssFile"))
    }

    var cpuSeconds: Double { cpuSecondsOfProcess(pid) }

    /// SIGTERM (graceful: final checkpoint), wait up to `timeout`, then SIGKILL.
    func stop(timeout: TimeInterval = 30) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The benchmark configuration: one source (QoS `qos`, persistent session, de-duplication by
    /// event time, durable log with group commit), tumbling 10 s windows with
    /// count/avg/min/max, checkpoints every `checkpoint`, results to an MQTT sink on the same broker.
    static func configuration(
        dataDirectory: String, port: Int, clientID: String, stream: E2EStream, qos: Int, fsync: String,
        checkpoint: String, partitions: Int, logLevel: String = "warning"
    ) -> String {
        """
        version: 1
        data_dir: \(dataDirectory)
        brokers:
          local:
            host: 127.0.0.1
            port: \(port)
            protocol: 5
            client_id: \(clientID)
            clean_session: false
        sources:
          readings:
            broker: local
            topics: [\(stream.topicFilter)]
            qos: \(qos)
            key: {topic_segment: 1}
            event_time: {field: ts, format: epoch_ms}
            log: {partitions: \(partitions), fsync: \(fsync)}
        pipelines:
          stats:
            source: readings
            key: {topic_segment: 1}
            timestamp: {field: ts, format: epoch_ms}
            window: {type: tumbling, size: 10s}
            aggregates:
              - function: count
              - {function: avg, field: temp}
              - {function: min, field: temp}
              - {function: max, field: temp}
            sinks: [results]
        sinks:
          results:
            type: mqtt
            broker: local
            topic: \(stream.prefix)-results/{key}
            qos: 1
        checkpoint: {interval: \(checkpoint)}
        admin: {enabled: false}
        logging: {level: \(logLevel)}

        """
    }
}

/// Subscribes to the results and counts them; with a latency table, records for each result
/// the time from the publish of the reading that closed its window to its arrival here (both
/// ends on this process's monotonic clock).
final class E2EResultCollector: MQTTMessageHandler {
    private struct State {
        var received = 0
        var sentAt: [ContinuousClock.Instant?] = []
        var latencies: [Duration] = []
        var unmatched = 0
        var waiter: (target: Int, continuation: CheckedContinuation<Bool, Never>)?
    }

    let stream: E2EStream
    private let windowsPerDevice: Int
    private let state: Mutex<State>

    init(stream: E2EStream, trackLatency: Bool) {
        self.stream = stream
        windowsPerDevice = stream.steps / 10 + 3
        var state = State()
        if trackLatency { state.sentAt = Array(repeating: nil, count: stream.devices * windowsPerDevice) }
        self.state = Mutex(state)
    }

    private func slot(device: Int, windowEnd: Int64) -> Int? {
        let window = Int((windowEnd - E2EStream.base) / E2EStream.windowMilliseconds)
        guard device >= 0, device < stream.devices, window >= 0, window < windowsPerDevice else { return nil }
        return device * windowsPerDevice + window
    }

    /// The publisher is about to hand over the reading that closes `device`'s window ending at `windowEnd`.
    func sending(device: Int, windowEnd: Int64, at instant: ContinuousClock.Instant) {
        guard let slot = slot(device: device, windowEnd: windowEnd) else { return }
        state.withLock { if !$0.sentAt.isEmpty { $0.sentAt[slot] = instant } }
    }

    func received(_ message: MQTTMessageView) {
        let now = ContinuousClock.now
        var latency: Duration?
        if let value = try? JSONValue(parsing: message.payload), let key = value["key"]?.stringValue,
            let device = E2EStream.device(ofKey: key), let end = value["window_end"]?.int64Value
        {
            latency = slot(device: device, windowEnd: end).flatMap { slot in
                state.withLock { $0.sentAt.isEmpty ? nil : $0.sentAt[slot].map { now - $0 } }
            }
        }
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.received += 1
            if let latency { state.latencies.append(latency) } else if !state.sentAt.isEmpty { state.unmatched += 1 }
            guard let waiter = state.waiter, state.received >= waiter.target else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: true)
    }

    var received: Int { state.withLock { $0.received } }
    var latencies: [Duration] { state.withLock { $0.latencies } }
    var unmatched: Int { state.withLock { $0.unmatched } }

    /// Waits until `target` results arrived (true) or `timeout` passed (false).
    func wait(for target: Int, timeout: Duration) async -> Bool {
        let timer = Task {
            try await Task.sleep(for: timeout)
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
            waiter?.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.received >= target { return true }
                state.waiter = (target, continuation)
                return false
            }
            if done { continuation.resume(returning: true) }
        }
    }
}

extension Array where Element == Duration {
    /// The `q` quantile (nearest rank) in milliseconds.
    func quantileMilliseconds(_ q: Double) -> Double {
        guard !isEmpty else { return .nan }
        let sorted = self.sorted()
        let rank = Swift.min(count - 1, Swift.max(0, Int((q * Double(count)).rounded(.up)) - 1))
        let value = sorted[rank].components
        return Double(value.seconds) * 1000 + Double(value.attoseconds) / 1e15
    }
}
