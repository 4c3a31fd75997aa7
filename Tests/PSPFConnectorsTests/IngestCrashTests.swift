import Foundation
import PSPFJSON
import PSPFLog
import PSPFMQTT
import PSPFRuntime
import PSPFTesting
import Synchronization
import Testing

@testable import PSPFConnectors

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 of the ingest process at seeded points while a QoS 1 stream is published: after the
/// last restart caught up, the log holds every published message exactly once.
@Suite(.timeLimit(.minutes(2))) struct IngestCrashTests {
    static let messageCount = 6_000
    static let devices = 8
    static let seed: UInt64 = 20_261_124

    @Test("SIGKILL at seeded points: every published message is in the log exactly once")
    func killAndRestart() async throws {
        let executable = try #require(PSPFExecutable.locate(), PSPFExecutable.missingMessage)
        let broker = try await BrokerFixture.start(.init(persistence: .everyChange))
        defer { broker.cleanUp() }
        try await withTemporaryDirectory(prefix: "pspf-crash-") { directory in
            let clientID = uniqueName("crash-ingest")
            let arguments = [
                "ingest", "--broker", "127.0.0.1:\(broker.port)", "--topic", "sensors/+/reading", "--dir", directory,
                "--key-segment", "1", "--ts-field", "ts", "--client-id", clientID, "--qos", "1", "--partitions", "4",
                "--fsync-interval-ms", "1", "--progress", "--log-level", "warning",
            ]
            // Kill points: log sizes (durable records) after which the process is killed.
            var random = SplitMix64(seed: Self.seed)
            let killPoints = (0..<6).map { _ in
                Self.messageCount / 10 + Int(random.next() % UInt64(Self.messageCount * 8 / 10))
            }.sorted()

            var child = try ChildProcess.start(executable, arguments)
            try await child.progress.wait("the first ingest subscribed") { $0.subscribed }

            // The publisher: QoS 1, every payload unique (seq), as fast as the broker takes it.
            let payloads = (0..<Self.messageCount).map { seq -> (topic: String, payload: String) in
                let device = "dev-\(seq % Self.devices)"
                return ("sensors/\(device)/reading", readingPayload(device: device, ts: 1_732_406_400_000 + Int64(seq), seq: seq))
            }
            let publisher = try MQTTClient(configuration: publisherConfiguration(broker.port))
            try await publisher.connect()
            let publishing = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<16 {
                        group.addTask {
                            for seq in stride(from: worker, to: Self.messageCount, by: 16) {
                                try await publisher.publish(
                                    topic: payloads[seq].topic, payload: Array(payloads[seq].payload.utf8), qos: .atLeastOnce)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }

            var kills: [(point: Int, atRecords: Int)] = []
            for point in killPoints {
                let reached = try await child.progress.wait("\(point) records in the log") { $0.logRecords >= point || $0.exited }
                #expect(!reached.exited, "the ingest exited on its own: \(child.stderr)")
                child.kill(SIGKILL)
                try await child.progress.wait("the killed ingest to exit") { $0.exited }
                kills.append((point, reached.logRecords))
                child = try ChildProcess.start(executable, arguments)
                try await child.progress.wait("the restarted ingest subscribed") { $0.subscribed || $0.exited }
                #expect(!child.progress.value.exited, "the restarted ingest exited: \(child.stderr)")
            }
            #expect(kills.count == killPoints.count)

            try await publishing.value
            await publisher.disconnect()
            try await child.progress.wait("all \(Self.messageCount) messages in the log") {
                $0.logRecords >= Self.messageCount || $0.exited
            }
            child.kill(SIGTERM)
            let final = try await child.progress.wait("the ingest to stop") { $0.exited }
            #expect(final.exitStatus == 0, "graceful stop: \(child.stderr)")

            // The log: every message exactly once, bytes as published, keyed and timed.
            let log = try LogTopic.openReadOnly(directory: directory + "/input", logger: testLogger)
            let records = try readAll(log)
            var seen = [Int](repeating: 0, count: Self.messageCount)
            for record in records {
                let value = try JSONValue(parsing: record.payload)
                guard let seq = value["seq"]?.int64Value.map(Int.init), (0..<Self.messageCount).contains(seq) else {
                    Issue.record("unexpected record \(record.payloadString)")
                    continue
                }
                seen[seq] += 1
                #expect(record.payloadString == payloads[seq].payload)
                #expect(record.topicString == payloads[seq].topic)
                #expect(record.keyString == "dev-\(seq % Self.devices)")
                #expect(record.eventTime == 1_732_406_400_000 + Int64(seq))
            }
            #expect(records.count == Self.messageCount, "kills at \(kills)")
            let missing = seen.indices.filter { seen[$0] == 0 }
            let doubled = seen.indices.filter { seen[$0] > 1 }
            #expect(missing.isEmpty, "missing: \(missing.prefix(20))")
            #expect(doubled.isEmpty, "duplicated: \(doubled.prefix(20))")
            let deadLetters = try LogTopic.openReadOnly(directory: directory + "/dead-letters", logger: testLogger)
            #expect(try readAll(deadLetters).isEmpty)
        }
    }
}

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
        let root = ((filePath as NSString).deletingLastPathComponent as NSString)
            .deletingLastPathComponent.replacingOccurrences(of: "/Tests", with: "")
        candidates.append(root + "/.build/debug/pspf")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A child process whose stdout carries JSON progress lines (`pspf ingest --progress`).
final class ChildProcess: Sendable {
    struct Progress: Sendable, CustomStringConvertible {
        var subscribed = false
        var logRecords = 0
        var exited = false
        var exitStatus: Int32?
        var description: String { "subscribed: \(subscribed), log records: \(logRecords), exited: \(exited)" }
    }

    let progress = Observed(Progress())
    private let process: Mutex<Process?> = Mutex(nil)
    private let errors = Observed("")
    let pid: Int32

    var stderr: String { errors.value }

    private init(pid: Int32) { self.pid = pid }

    static func start(_ executable: String, _ arguments: [String]) throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errorOutput = Pipe()
        process.standardOutput = output
        process.standardError = errorOutput
        process.standardInput = FileHandle.nullDevice
        // The cooperative pool's threads block SIGTERM, which the graceful stop needs.
        try process.runWithDefaultSignalMask()
        let child = ChildProcess(pid: process.processIdentifier)
        child.process.withLock { $0 = process }
        child.follow(output.fileHandleForReading, errorOutput.fileHandleForReading, process)
        return child
    }

    func kill(_ signal: Int32) {
        _ = Glibc.kill(pid, signal)
    }

    private func follow(_ output: FileHandle, _ errorOutput: FileHandle, _ process: Process) {
        let progress = self.progress
        let errors = self.errors
        Thread {
            while true {
                let data = errorOutput.availableData
                if data.isEmpty { break }
                errors.update { $0 += String(decoding: data, as: UTF8.self) }
            }
        }.start()
        Thread {
            var pending = Data()
            while true {
                let data = output.availableData
                if data.isEmpty { break }
                pending.append(data)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[(newline + 1)...])
                    guard let value = try? JSONValue(parsing: Array(line)) else { continue }
                    switch value["event"]?.stringValue {
                    case "subscribed":
                        progress.update { $0.subscribed = true }
                    case "batch":
                        let records = Int(value["log_records"]?.int64Value ?? 0)
                        progress.update { $0.logRecords = max($0.logRecords, records) }
                    default:
                        break
                    }
                }
            }
            process.waitUntilExit()
            let status = process.terminationStatus
            progress.update {
                $0.exited = true
                $0.exitStatus = status
            }
        }.start()
    }
}
