import Foundation

/// The `pspf` executable built next to the tests (`swift build --build-tests` builds it), run
/// as a child process: the crash tests kill the real binary.
struct PSPFBinary: Sendable {
    let path: String

    /// Next to the test bundle first (the build directory of this configuration), then
    /// `.build/debug/pspf` under the package root found from this file's path.
    static func locate(filePath: String = #filePath) -> PSPFBinary? {
        var candidates: [String] = []
        if let bundle = CommandLine.arguments.first {
            let directory = (bundle as NSString).deletingLastPathComponent
            candidates.append((directory as NSString).appendingPathComponent("pspf"))
        }
        var root = URL(fileURLWithPath: filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }  // Support → PSPFRuntimeTests → Tests → root
        candidates.append(root.appendingPathComponent(".build/debug/pspf").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }.map(PSPFBinary.init(path:))
    }

    struct Outcome: Sendable, CustomStringConvertible {
        var status: Int32
        /// Killed by a signal (`status` is then the signal number).
        var signalled: Bool
        var stdout: String
        var stderr: String

        var killedBySIGKILL: Bool { signalled && status == SIGKILL }
        var succeeded: Bool { !signalled && status == 0 }
        var description: String {
            "\(signalled ? "signal" : "exit") \(status)\nstdout: \(stdout)\nstderr: \(stderr.suffix(2000))"
        }
    }

    /// Runs `pspf arguments…` to completion without blocking a cooperative thread (the exit is
    /// delivered by Foundation's termination handler).
    func run(_ arguments: [String], environment extra: [String: String] = [:], scratch: String) async throws -> Outcome
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PSPF_CRASH_AT"] = nil
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let id = UUID().uuidString
        let outPath = (scratch as NSString).appendingPathComponent("stdout-\(id)")
        let errPath = (scratch as NSString).appendingPathComponent("stderr-\(id)")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let (status, reason) = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<(Int32, Process.TerminationReason), any Error>) in
            process.terminationHandler = { process in
                continuation.resume(returning: (process.terminationStatus, process.terminationReason))
            }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try out.close()
        try err.close()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return Outcome(status: status, signalled: reason == .uncaughtSignal, stdout: stdout, stderr: stderr)
    }

    /// A running `pspf` whose stderr is watched line by line.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let lines = AsyncStream<String>.makeStream()
        private var buffer = Data()
        private let lock = NSLock()

        fileprivate init() {}

        fileprivate func received(_ data: Data) {
            lock.lock()
            defer { lock.unlock() }
            if data.isEmpty {
                if !buffer.isEmpty { lines.continuation.yield(String(decoding: buffer, as: UTF8.self)) }
                lines.continuation.finish()
                return
            }
            buffer.append(data)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                lines.continuation.yield(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
        }

        /// Suspends until a stderr line contains `text`; false if stderr closed first.
        func waitForLine(containing text: String) async -> Bool {
            for await line in lines.stream where line.contains(text) { return true }
            return false
        }

        func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

        /// Waits for the exit: (status, killed by a signal).
        func wait() async -> (status: Int32, signalled: Bool) {
            await withCheckedContinuation { continuation in
                process.terminationHandler = { process in
                    continuation.resume(
                        returning: (process.terminationStatus, process.terminationReason == .uncaughtSignal))
                }
                if !process.isRunning {
                    process.terminationHandler = nil
                    continuation.resume(
                        returning: (process.terminationStatus, process.terminationReason == .uncaughtSignal))
                }
            }
        }
    }

    /// Starts `pspf arguments…` and returns at once.
    func start(_ arguments: [String]) throws -> Running {
        let running = Running()
        running.process.executableURL = URL(fileURLWithPath: path)
        running.process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PSPF_CRASH_AT"] = nil
        running.process.environment = environment
        let pipe = Pipe()
        running.process.standardError = pipe
        running.process.standardOutput = FileHandle.nullDevice
        running.process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [running] handle in
            let data = handle.availableData
            running.received(data)
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        try running.process.run()
        return running
    }
}
