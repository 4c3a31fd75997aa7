import Foundation
import PSPFTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `pspf` executable next to the test bundle (`swift build --build-tests` builds it, as
/// `make test` does), or under `.build/debug` of this package.
enum PSPFExecutable {
    static let missingMessage: Comment =
        "the pspf executable was not found next to the test bundle: build it with `swift build --build-tests` (make test does) before `swift test --skip-build`"

    static func locate(filePath: String = #filePath) -> String? {
        var candidates: [String] = []
        if let bundle = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((bundle as NSString).deletingLastPathComponent + "/pspf")
        }
        var root = filePath as NSString
        while !root.lastPathComponent.isEmpty && root.lastPathComponent != "Tests" {
            root = root.deletingLastPathComponent as NSString
        }
        candidates.append(root.deletingLastPathComponent + "/.build/debug/pspf")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// `pspf run FILE` as a child process this test owns: its standard error (the logfmt log) is
/// captured and awaitable, it is signalled and reaped by its PID.
final class DaemonProcess: Sendable {
    struct State: Sendable, CustomStringConvertible {
        var stderr = ""
        var exitStatus: Int32?
        var description: String { "exit status: \(exitStatus.map(String.init) ?? "running"); stderr:\n\(stderr)" }
    }

    let state = Observed(State())
    let pid: Int32

    private init(pid: Int32) { self.pid = pid }

    static func start(_ executable: String, _ arguments: [String]) throws -> DaemonProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errorOutput = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorOutput
        process.standardInput = FileHandle.nullDevice
        // The cooperative pool's threads block SIGTERM, which the graceful stop needs.
        try process.runWithDefaultSignalMask()
        let child = DaemonProcess(pid: process.processIdentifier)
        let state = child.state
        let reader = errorOutput.fileHandleForReading
        Thread {
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                state.update { $0.stderr += String(decoding: data, as: UTF8.self) }
            }
            process.waitUntilExit()
            let status = process.terminationStatus
            state.update { $0.exitStatus = status }
        }.start()
        return child
    }

    func signal(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

    var stderr: String { state.value.stderr }

    /// Waits for a log line containing `fragment`, failing early if the process exits.
    func wait(for fragment: String, count: Int = 1, timeout: Duration = .seconds(30)) async throws {
        let state = try await self.state.wait("'\(fragment)' in the daemon's log", timeout: timeout) { state in
            state.exitStatus != nil || state.stderr.components(separatedBy: fragment).count - 1 >= count
        }
        if let status = state.exitStatus {
            Issue.record("pspf run exited (\(status)) before logging '\(fragment)': \(state.stderr)")
            throw TimedOut(description: "pspf run exited")
        }
    }

    /// Waits for the exit; returns the status.
    func waitForExit(timeout: Duration) async throws -> Int32 {
        try await state.wait("pspf run to exit", timeout: timeout) { $0.exitStatus != nil }.exitStatus!
    }

    /// Kills the process if it still runs (test clean-up).
    func killIfRunning() {
        if state.value.exitStatus == nil { signal(SIGKILL) }
    }
}
