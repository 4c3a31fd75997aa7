import Foundation
import PSPFJSON
import PSPFLog
import PSPFRuntime
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `pspf` executable next to the test bundle (`swift build --build-tests` builds it), or
/// `.build/debug/pspf` under the package root.
enum DaemonBinary {
    static let missingMessage =
        "the pspf executable was not found: build it with `swift build --build-tests` (make test does) first"

    static func locate(filePath: String = #filePath) -> String? {
        var candidates: [String] = []
        if let bundle = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((bundle as NSString).deletingLastPathComponent + "/pspf")
        }
        var root = URL(fileURLWithPath: filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }  // file → PSPFDaemonTests → Tests → root
        candidates.append(root.appendingPathComponent(".build/debug/pspf").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// One `pspf run` child: standard error goes to a file (read for progress and failure
/// messages), the exit is observed by Foundation's termination handler, signals go to its PID.
final class DaemonChild: @unchecked Sendable {  // `process` is only read after the start
    struct Exit: Sendable, CustomStringConvertible {
        var status: Int32
        var signalled: Bool
        var killedBySIGKILL: Bool { signalled && status == SIGKILL }
        var succeeded: Bool { !signalled && status == 0 }
        var description: String { signalled ? "signal \(status)" : "exit \(status)" }
    }

    let stderrPath: String
    private let exit = Mutex<Exit?>(nil)
    private let process = Process()

    var pid: Int32 { process.processIdentifier }

    private init(stderrPath: String) {
        self.stderrPath = stderrPath
    }

    /// Starts `executable arguments…` with `PSPF_CRASH_AT` set to `crashAt` (or unset), spawned
    /// from a thread with an empty signal mask (the cooperative pool's threads block SIGTERM,
    /// and the child would inherit that).
    static func start(
        _ executable: String, _ arguments: [String], crashAt: String?, stderrPath: String
    ) throws -> DaemonChild {
        let child = DaemonChild(stderrPath: stderrPath)
        let process = child.process
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment[FaultPoints.environmentVariable] = crashAt
        process.environment = environment
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [child] process in
            let status = Exit(
                status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal)
            child.exit.withLock { $0 = status }
        }
        defer { try? errors.close() }
        try process.runWithDefaultSignalMask()
        return child
    }

    var exited: Exit? { exit.withLock { $0 } }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func send(_ signal: Int32) {
        if exited == nil { _ = Glibc.kill(pid, signal) }
    }

    /// Polls until the child exited, or `timeout` passed (nil).
    func waitForExit(timeout: Duration) async throws -> Exit? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exited { return exited }
            try await Task.sleep(for: .milliseconds(20))
        }
        return exited
    }

    /// Polls standard error until a line contains `text` (true), the child exits, or `timeout` passes.
    func waitForStderr(containing text: String, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stderr.contains(text) { return true }
            if exited != nil { return stderr.contains(text) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// "pspf: fault point checkpoint.commit reached (pass 3): SIGKILL" → "checkpoint.commit".
    var faultPointReached: String? {
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains("fault point") }) else { return nil }
        return line.split(separator: " ").dropFirst(3).first.map(String.init)
    }
}

/// The generated stream: `devices` devices × `readings` readings, one every `stepMilliseconds`
/// of event time per device, temperatures on a 0.25 grid (sums are exact in a Double, so an
/// average does not depend on the order of addition), plus one closing reading per device far
/// ahead in event time that pushes every device's watermark past all its windows.
struct CrashStream: Sendable {
    struct Message: Sendable {
        var device: Int
        var topic: String
        var payload: [UInt8]
        var eventTime: Int64
    }

    /// One expected window result.
    struct Window: Hashable, Sendable, CustomStringConvertible {
        var key: String
        var start: Int64
        var end: Int64
        var count: Int64
        var avg: Double
        var min: Double
        var max: Double
        var description: String { "\(key)@\(start) count=\(count) avg=\(avg) min=\(min) max=\(max)" }
    }

    static let base: Int64 = 1_732_406_400_000  // 2024-11-24T00:00:00Z, a window boundary
    let devices: Int
    let readings: Int
    let stepMilliseconds: Int64
    let windowMilliseconds: Int64
    /// In publish order: step by step, every device once per step.
    let messages: [Message]
    /// The closing readings (one per device), published after `messages`.
    let closing: [Message]

    init(devices: Int, readings: Int, stepMilliseconds: Int64, windowMilliseconds: Int64, seed: UInt64) {
        self.devices = devices
        self.readings = readings
        self.stepMilliseconds = stepMilliseconds
        self.windowMilliseconds = windowMilliseconds
        var random = SplitMix64(seed: seed)
        var messages: [Message] = []
        messages.reserveCapacity(devices * readings)
        for step in 0..<readings {
            for device in 0..<devices {
                let temp = 15 + Double(random.next() % 61) * 0.25  // 15.00 … 30.00
                messages.append(
                    Self.message(device: device, eventTime: Self.base + Int64(step) * stepMilliseconds, temp: temp, seq: step))
            }
        }
        self.messages = messages
        let far = Self.base + Int64(readings) * stepMilliseconds + 3_600_000
        closing = (0..<devices).map { Self.message(device: $0, eventTime: far, temp: 0, seq: -1) }
    }

    static func deviceName(_ device: Int) -> String { "dev-\(device < 10 ? "0" : "")\(device)" }

    private static func message(device: Int, eventTime: Int64, temp: Double, seq: Int) -> Message {
        let name = deviceName(device)
        let payload = #"{"device":"\#(name)","ts":\#(eventTime),"seq":\#(seq),"temp":\#(temp)}"#
        return Message(device: device, topic: "sensors/\(name)/reading", payload: Array(payload.utf8), eventTime: eventTime)
    }

    /// Every window of `messages` (the closing readings' windows never close).
    var expectedWindows: [String: Window] {
        struct Accumulator {
            var count: Int64 = 0
            var sum = 0.0
            var min = Double.infinity
            var max = -Double.infinity
        }
        var windows: [String: Accumulator] = [:]
        for message in messages {
            let value = try! JSONValue(parsing: message.payload)
            let temp = value["temp"]!.doubleValue!
            let start = message.eventTime - (message.eventTime - Self.base) % windowMilliseconds
            let id = Self.windowID(key: Self.deviceName(message.device), start: start)
            windows[id, default: Accumulator()].count += 1
            windows[id]!.sum += temp
            windows[id]!.min = Swift.min(windows[id]!.min, temp)
            windows[id]!.max = Swift.max(windows[id]!.max, temp)
        }
        return windows.reduce(into: [:]) { result, entry in
            let parts = entry.key.split(separator: "@")
            let start = Int64(parts[1])!
            let a = entry.value
            result[entry.key] = Window(
                key: String(parts[0]), start: start, end: start + windowMilliseconds, count: a.count,
                avg: a.sum / Double(a.count), min: a.min, max: a.max)
        }
    }

    static func windowID(key: String, start: Int64) -> String { "\(key)@\(start)" }
}

/// What the output log holds, compared with the expected windows.
struct ResultComparison: CustomStringConvertible {
    var missing: [String] = []
    var duplicated: [String] = []
    var wrong: [String] = []
    var unexpected: [String] = []
    var results = 0

    var isExact: Bool { missing.isEmpty && duplicated.isEmpty && wrong.isEmpty && unexpected.isEmpty }

    var description: String {
        "\(results) results: \(missing.count) missing \(missing.prefix(5)), \(duplicated.count) duplicated "
            + "\(duplicated.prefix(5)), \(wrong.count) wrong \(wrong.prefix(5)), \(unexpected.count) unexpected "
            + "\(unexpected.prefix(5))"
    }

    /// Reads every record of `results` (a result JSON object per record) and compares.
    static func compare(results topic: LogTopic, expected: [String: CrashStream.Window]) throws -> ResultComparison {
        var comparison = ResultComparison()
        var seen: [String: Int] = [:]
        for partition in 0..<topic.partitionCount {
            let reader = topic.reader(partition: partition)
            reader.seek(to: topic.startOffset(partition: partition))
            var payloads: [[UInt8]] = []
            while try reader.read(maxRecords: 10_000, { payloads.append(Array($0.payload)) }).records > 0 {}
            for payload in payloads {
                comparison.results += 1
                let value = try JSONValue(parsing: payload)
                guard let key = value["key"]?.stringValue, let start = value["window_start"]?.int64Value else {
                    comparison.unexpected.append(String(decoding: payload, as: UTF8.self))
                    continue
                }
                let id = CrashStream.windowID(key: key, start: start)
                seen[id, default: 0] += 1
                guard let window = expected[id] else {
                    comparison.unexpected.append(id)
                    continue
                }
                let actual = CrashStream.Window(
                    key: key, start: start, end: value["window_end"]?.int64Value ?? -1,
                    count: value["count"]?.int64Value ?? -1, avg: value["avg_temp"]?.doubleValue ?? .nan,
                    min: value["min_temp"]?.doubleValue ?? .nan, max: value["max_temp"]?.doubleValue ?? .nan)
                if actual != window, seen[id] == 1 { comparison.wrong.append("\(actual) expected \(window)") }
            }
        }
        comparison.missing = expected.keys.filter { seen[$0] == nil }.sorted()
        comparison.duplicated = seen.filter { $0.value > 1 }.map { "\($0.key)×\($0.value)" }.sorted()
        return comparison
    }
}
