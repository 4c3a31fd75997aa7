import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A real `mosquitto` broker for integration tests: started from a generated configuration in
/// a temporary directory, listening on a free loopback port (127.0.0.1 only), stopped by the
/// PID it was started with. Traffic never leaves loopback.
///
/// ```swift
/// let broker = try await BrokerFixture.start(.init(persistence: .everyChange))
/// defer { broker.cleanUp() }
/// var configuration = MQTTClientConfiguration(host: broker.host, port: broker.port)
/// ...
/// try await broker.kill()       // SIGKILL
/// try await broker.restart()    // same port, same persistence directory
/// ```
public final class BrokerFixture: @unchecked Sendable {
    public struct Options: Sendable {
        public enum Persistence: Sendable {
            /// No persistence: a restart forgets sessions and queued messages.
            case off
            /// `persistence true` with mosquitto's default autosave: saved on SIGTERM, not on SIGKILL.
            case onShutdown
            /// `autosave_on_changes true` + `autosave_interval 1`: the database is written after
            /// every change, so state survives SIGKILL (except a change in the very main-loop
            /// iteration the kill lands in).
            case everyChange
        }

        /// A TLS listener (instead of the plain one).
        public struct TLS: Sendable {
            public var caFile: String
            public var certificateFile: String
            public var keyFile: String
            public var requireClientCertificate: Bool
            public var minimumVersion: String

            public init(
                caFile: String, certificateFile: String, keyFile: String, requireClientCertificate: Bool = false,
                minimumVersion: String = "tlsv1.2"
            ) {
                self.caFile = caFile
                self.certificateFile = certificateFile
                self.keyFile = keyFile
                self.requireClientCertificate = requireClientCertificate
                self.minimumVersion = minimumVersion
            }

            /// Serves `certificates.server*`, trusting `certificates.ca*` for client certificates.
            public init(_ certificates: BrokerCertificates, requireClientCertificate: Bool = false) {
                self.init(
                    caFile: certificates.caFile, certificateFile: certificates.serverCertificateFile,
                    keyFile: certificates.serverKeyFile, requireClientCertificate: requireClientCertificate)
            }
        }

        public var persistence: Persistence
        /// Users for a password file generated with `mosquitto_passwd -b`; empty: no password file.
        public var users: [String: String]
        /// `allow_anonymous`; defaults to `true` unless `users` is set.
        public var allowAnonymous: Bool?
        public var tls: TLS?
        /// mosquitto's default (1000) silently drops QoS 1/2 messages for slow or offline
        /// persistent sessions; tests need every message kept.
        public var maxQueuedMessages: Int
        /// Unacknowledged QoS 1/2 messages the broker sends a client at once (mosquitto default 20).
        public var maxInflightMessages: Int
        /// Additional configuration lines, appended verbatim.
        public var extraConfiguration: [String]

        public init(
            persistence: Persistence = .off, users: [String: String] = [:], allowAnonymous: Bool? = nil,
            tls: TLS? = nil, maxQueuedMessages: Int = 1_000_000, maxInflightMessages: Int = 100,
            extraConfiguration: [String] = []
        ) {
            self.persistence = persistence
            self.users = users
            self.allowAnonymous = allowAnonymous
            self.tls = tls
            self.maxQueuedMessages = maxQueuedMessages
            self.maxInflightMessages = maxInflightMessages
            self.extraConfiguration = extraConfiguration
        }
    }

    public static let executable = "/usr/sbin/mosquitto"
    public static let passwordTool = "/usr/bin/mosquitto_passwd"
    public static let notInstalledMessage = "mosquitto not found: run make test, which installs it via apt"

    public let host = "127.0.0.1"
    public let options: Options
    /// The temporary directory holding the configuration, log, password file and database.
    public let directory: String
    public var configurationFile: String { directory + "/mosquitto.conf" }
    public var logFile: String { directory + "/mosquitto.log" }

    private let lock = NSLock()
    private var _port: Int
    private var running: RunningBroker?
    private var cleanedUp = false

    public var port: Int { lock.withLock { _port } }
    /// The PID of the running broker, if any.
    public var pid: Int32? { lock.withLock { running?.process.processIdentifier } }
    /// Whether the broker process is running.
    public var isRunning: Bool { lock.withLock { running?.exit.hasExited == false } }

    private init(options: Options, directory: String, port: Int) {
        self.options = options
        self.directory = directory
        self._port = port
    }

    /// Starts a broker and waits until it accepts TCP connections.
    public static func start(_ options: Options = Options()) async throws -> BrokerFixture {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BrokerFixtureError(Self.notInstalledMessage)
        }
        let directory = try makeTemporaryDirectory(prefix: "pspf-broker-")
        let broker = BrokerFixture(options: options, directory: directory, port: 0)
        do {
            try await broker.writePasswordFile()
            var lastError: (any Error)?
            for _ in 0..<5 {
                let port = try freeLoopbackPort()
                broker.lock.withLock { broker._port = port }
                do {
                    try await broker.launch()
                    return broker
                } catch let error as BrokerFixtureError where error.addressInUse {
                    lastError = error   // someone took the port between probe and bind: pick another
                }
            }
            throw lastError ?? BrokerFixtureError("could not start mosquitto")
        } catch {
            broker.cleanUp()
            throw error
        }
    }

    /// Stops the broker with SIGTERM (it saves its database when persistence is on) and waits.
    public func stop() async throws {
        try await terminate(signal: SIGTERM)
    }

    /// Kills the broker with SIGKILL (no chance to save anything) and waits.
    public func kill() async throws {
        try await terminate(signal: SIGKILL)
    }

    /// Starts the broker again on the same port with the same configuration and directory.
    public func restart() async throws {
        if isRunning { try await stop() }
        try await launch()
    }

    /// Kills the broker if it still runs and removes the temporary directory. Also run by `deinit`.
    public func cleanUp() {
        let broker = lock.withLock { () -> RunningBroker? in
            defer { running = nil }
            return running
        }
        if let broker, !broker.exit.hasExited {
            Glibc.kill(broker.process.processIdentifier, SIGKILL)
        }
        let alreadyCleaned = lock.withLock { () -> Bool in
            defer { cleanedUp = true }
            return cleanedUp
        }
        if !alreadyCleaned { try? FileManager.default.removeItem(atPath: directory) }
    }

    deinit { cleanUp() }

    /// The broker's log so far (for failure messages).
    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    // MARK: internals

    private func terminate(signal: Int32) async throws {
        guard let broker = lock.withLock({ running }) else { return }
        if !broker.exit.hasExited {
            Glibc.kill(broker.process.processIdentifier, signal)
        }
        let exited = await broker.exit.wait(timeout: .seconds(15))
        if !exited {
            Glibc.kill(broker.process.processIdentifier, SIGKILL)
            _ = await broker.exit.wait(timeout: .seconds(15))
        }
        lock.withLock { running = nil }
        if !exited { throw BrokerFixtureError("mosquitto (pid \(broker.process.processIdentifier)) ignored signal \(signal)") }
    }

    private func launch() async throws {
        let port = self.port
        try configurationText(port: port).write(toFile: configurationFile, atomically: true, encoding: .utf8)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: ensureFile(directory + "/mosquitto.stderr")))
        output.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-c", configurationFile]
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let exit = ProcessExit()
        process.terminationHandler = { process in exit.exited(status: process.terminationStatus) }
        try await spawnWithDefaultSignalMask(process)
        let broker = RunningBroker(process: process, exit: exit)
        lock.withLock { running = broker }

        // Wait until it accepts connections (bounded), or fail with its log if it exits.
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            if exit.hasExited {
                lock.withLock { running = nil }
                let log = self.log + ((try? String(contentsOfFile: directory + "/mosquitto.stderr", encoding: .utf8)) ?? "")
                var error = BrokerFixtureError("mosquitto exited during start-up (port \(port)):\n\(log)")
                error.addressInUse = log.contains("Address already in use")
                throw error
            }
            if Self.canConnect(port: port) { return }
            if ContinuousClock.now >= deadline {
                try? await kill()
                throw BrokerFixtureError("mosquitto did not accept connections on \(host):\(port) within 15 s:\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func configurationText(port: Int) -> String {
        var lines = [
            "# generated by PSPFTesting.BrokerFixture",
            "per_listener_settings false",
            "listener \(port) \(host)",
            "log_dest file \(logFile)",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp true",
            "max_queued_messages \(options.maxQueuedMessages)",
            "max_queued_bytes 0",
            "max_inflight_messages \(options.maxInflightMessages)",
            "set_tcp_nodelay true",
            "allow_anonymous \(options.allowAnonymous ?? options.users.isEmpty)",
        ]
        // When started as root, mosquitto drops to the `mosquitto` user, which could not read
        // the temporary directory; stay the user that started it.
        if let name = getpwuid(geteuid())?.pointee.pw_name { lines.append("user \(String(cString: name))") }
        if !options.users.isEmpty { lines.append("password_file \(directory)/passwords") }
        switch options.persistence {
        case .off:
            lines.append("persistence false")
        case .onShutdown:
            lines += ["persistence true", "persistence_location \(directory)/", "persistence_file mosquitto.db"]
        case .everyChange:
            lines += [
                "persistence true", "persistence_location \(directory)/", "persistence_file mosquitto.db",
                "autosave_on_changes true", "autosave_interval 1",
            ]
        }
        if let tls = options.tls {
            lines += [
                "cafile \(tls.caFile)", "certfile \(tls.certificateFile)", "keyfile \(tls.keyFile)",
                "require_certificate \(tls.requireClientCertificate)", "tls_version \(tls.minimumVersion)",
            ]
        }
        lines += options.extraConfiguration
        return lines.joined(separator: "\n") + "\n"
    }

    private func writePasswordFile() async throws {
        guard !options.users.isEmpty else { return }
        guard FileManager.default.isExecutableFile(atPath: Self.passwordTool) else {
            throw BrokerFixtureError(Self.notInstalledMessage)
        }
        let path = directory + "/passwords"
        for (index, (user, password)) in options.users.sorted(by: { $0.key < $1.key }).enumerated() {
            let arguments = (index == 0 ? ["-c"] : []) + ["-b", path, user, password]
            try await runTool(Self.passwordTool, arguments)
        }
        chmod(path, 0o600)
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0
    }
}

/// A failure of the broker fixture, with a message that says what to do.
public struct BrokerFixtureError: Error, CustomStringConvertible, Sendable {
    public var description: String
    var addressInUse = false
    init(_ description: String) { self.description = description }
}

/// The exit of a child process, awaitable.
final class ProcessExit: Sendable {
    private struct State {
        var status: Int32?
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var timedOut: Set<Int> = []
    }
    private let state = Mutex(State())

    var hasExited: Bool { state.withLock { $0.status != nil } }

    func exited(status: Int32) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.status = status
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Waits for the exit; returns `false` on timeout (the timeout only bounds a test failure).
    func wait(timeout: Duration) async -> Bool {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.timedOut.insert(id)
                return nil
            }
            waiter?.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let outcome = state.withLock { state -> Bool? in
                if state.status != nil { return true }
                if state.timedOut.remove(id) != nil { return false }
                state.waiters[id] = continuation
                return nil
            }
            if let outcome { continuation.resume(returning: outcome) }
        }
    }
}

private struct RunningBroker {
    let process: Process
    let exit: ProcessExit
}

/// Starts `process` from a fresh thread whose signal mask is empty.
///
/// A child inherits the signal mask of the thread that spawns it, and Swift's cooperative pool
/// runs on libdispatch worker threads, which block SIGTERM, SIGINT, SIGHUP and friends.
/// mosquitto 2.0.11 then never sees SIGTERM: its epoll loop blocks those signals around
/// `epoll_wait` and restores the inherited (blocking) mask in between.
func spawnWithDefaultSignalMask(_ process: Process) async throws {
    final class Box: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
    }
    let box = Box(process)
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let thread = Thread {
            var empty = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, nil)
            continuation.resume(with: Result { try box.process.run() })
        }
        thread.start()
    }
}

extension Process {
    /// `run()` from a fresh thread with the default (empty) signal mask, blocking until it
    /// started (see ``spawnWithDefaultSignalMask(_:)`` for why): for test helpers that start a
    /// child synchronously, so a SIGTERM they send later reaches it.
    public func runWithDefaultSignalMask() throws {
        let failure = Mutex<(any Error)?>(nil)
        let spawned = DispatchSemaphore(value: 0)
        let thread = Thread {
            var empty = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, nil)
            do { try self.run() } catch { failure.withLock { $0 = error } }
            spawned.signal()
        }
        thread.start()
        spawned.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

/// Runs a tool to completion; throws with its output if it fails.
func runTool(_ path: String, _ arguments: [String], in directory: String? = nil) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    let exit = ProcessExit()
    process.terminationHandler = { process in exit.exited(status: process.terminationStatus) }
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    _ = await exit.wait(timeout: .seconds(60))
    guard process.terminationStatus == 0 else {
        throw BrokerFixtureError(
            "\(path) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(String(decoding: output, as: UTF8.self))")
    }
}

private func ensureFile(_ path: String) -> String {
    if !FileManager.default.fileExists(atPath: path) {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
    }
    return path
}

/// A loopback port that was free a moment ago (bind to port 0, read it back, close).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BrokerFixtureError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BrokerFixtureError("bind: \(String(cString: strerror(errno)))") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw BrokerFixtureError("getsockname: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}
