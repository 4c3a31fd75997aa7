import Foundation
import Logging
import PSPFMQTT

#if canImport(Glibc)
import Glibc
#endif

/// A mosquitto broker for `pspf bench ingest`: its own configuration in a temporary directory,
/// a free 127.0.0.1 port, stopped by the PID it was started with. (The test kit's broker
/// fixture lives in a test module the executable does not link.)
final class BenchBroker: @unchecked Sendable {
    let directory: String
    let port: Int
    let process: Process

    var logFile: String { directory + "/mosquitto.log" }

    /// Starts mosquitto and waits (at most 10 s) until it accepts connections.
    static func start(inflight: Int, extraConfiguration: [String] = []) throws -> BenchBroker {
        let executable = "/usr/sbin/mosquitto"
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("mosquitto not found at \(executable): run make deps (apt install mosquitto)")
        }
        let directory = NSTemporaryDirectory() + "pspf-bench-broker-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freePort()
        var lines = [
            "listener \(port) 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "log_dest file \(directory)/mosquitto.log",
            "log_type error", "log_type warning", "log_type notice", "log_type subscribe",
            "max_queued_messages 10000000",
            "max_queued_bytes 0",
            "max_inflight_messages \(inflight)",
            "set_tcp_nodelay true",
        ]
        // As root mosquitto would switch to the `mosquitto` user and fail to write the temp dir.
        if let name = getpwuid(geteuid())?.pointee.pw_name { lines.append("user \(String(cString: name))") }
        lines += extraConfiguration
        try (lines.joined(separator: "\n") + "\n").write(toFile: directory + "/mosquitto.conf", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", directory + "/mosquitto.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try spawnWithEmptySignalMask(process)
        let broker = BenchBroker(directory: directory, port: port, process: process)
        let deadline = Date().addingTimeInterval(10)
        while !canConnect(port: port) {
            if !process.isRunning || Date() > deadline {
                broker.stop()
                throw BenchError("mosquitto did not start on 127.0.0.1:\(port); see \(directory)/mosquitto.log")
            }
            usleep(10_000)
        }
        return broker
    }

    private init(directory: String, port: Int, process: Process) {
        self.directory = directory
        self.port = port
        self.process = process
    }

    /// Waits (bounded) until the broker logged a subscription of `clientID`.
    func waitForSubscription(clientID: String, timeout: TimeInterval = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let log = try? String(contentsOfFile: logFile, encoding: .utf8),
                log.split(separator: "\n").contains(where: { $0.contains(": \(clientID) ") })
            {
                return
            }
            usleep(5_000)
        }
        throw BenchError("\(clientID) did not subscribe within \(timeout) s")
    }

    /// CPU seconds the broker has used so far (user + system, from /proc/PID/stat).
    var cpuSeconds: Double { cpuSecondsOfProcess(process.processIdentifier) }

    /// An in-process publisher (its own `MQTTClient`) keeping `window` publishes in flight.
    func publisher(window: Int, logger: Logger) async throws -> WindowedPublisher {
        var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port)
        configuration.clientID = "bench-publisher-\(UInt32.random(in: 0...UInt32.max))"
        configuration.maxInflightPublishes = window
        let client = try MQTTClient(configuration: configuration, logger: logger)
        try await client.connect()
        return WindowedPublisher(client: client)
    }

    /// The ceiling: `mosquitto_sub -C messages` subscribed to `filter`, counting and printing
    /// nothing, timed from the start of `publish` until it exited (at most 120 s) — messages/s.
    func countingSubscriberRate(
        filter: String, messages: Int, qos: MQTTQoS, publish: () async throws -> Void
    ) async throws -> Double {
        let clientID = "bench-ceiling-\(UInt32.random(in: 0...UInt32.max))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_sub")
        process.arguments = [
            "-h", "127.0.0.1", "-p", "\(port)", "-i", clientID, "-t", filter, "-q", "\(qos.rawValue)",
            "-C", "\(messages)", "-F", "", "-N", "-V", "5",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try spawnWithEmptySignalMask(process)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        try waitForSubscription(clientID: clientID)
        let start = ContinuousClock.now
        try await publish()
        let finished = await Task.detached { exited.wait(timeout: .now() + 120) == .success }.value
        let seconds = (ContinuousClock.now - start).seconds
        guard finished else { throw BenchError("mosquitto_sub did not receive \(messages) messages within 120 s") }
        return Double(messages) / seconds
    }

    /// SIGTERM to the broker's PID, wait, remove the directory.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// CPU seconds (user + system) a process has used so far, from /proc/PID/stat; 0 if unreadable.
func cpuSecondsOfProcess(_ pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state(0) ppid ... utime is field 14 of the line, i.e. index 11 here.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU seconds (user + system) of this process and of its reaped children.
func processCPUSeconds() -> (own: Double, children: Double) {
    func seconds(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(who.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
    return (seconds(RUSAGE_SELF), seconds(RUSAGE_CHILDREN))
}

/// CPU used during a measurement, in microseconds per message.
struct CPUSample {
    var own: Double
    var children: Double
    var broker: Double

    static func now(_ broker: BenchBroker) -> CPUSample {
        let (own, children) = processCPUSeconds()
        return CPUSample(own: own, children: children, broker: broker.cpuSeconds)
    }

    func perMessage(since start: CPUSample, messages: Int) -> [(String, String)] {
        func us(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1e6 / Double(messages)) }
        var result = [("cpu_us_per_msg_pspf_process", us(own - start.own)), ("cpu_us_per_msg_broker", us(broker - start.broker))]
        if children > start.children { result.append(("cpu_us_per_msg_mosquitto_sub", us(children - start.children))) }
        return result
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Starts `process` from a fresh thread with an empty signal mask: children inherit the
/// spawning thread's mask, and the cooperative pool's threads block SIGTERM.
func spawnWithEmptySignalMask(_ process: Process) throws {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var failure: (any Error)?
    let thread = Thread {
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
        do { try process.run() } catch { failure = error }
        done.signal()
    }
    thread.start()
    done.wait()
    if let failure { throw failure }
}

private func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket failed") }
    defer { close(fd) }
    var address = loopback(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BenchError("bind failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

private func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopback(port: port)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

private func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}
