import Foundation
import Logging
import PSPFLog
import PSPFStorage
import PSPFTesting
import Testing

@testable import PSPFDaemon

#if canImport(Glibc)
import Glibc
#endif

/// `pspf run` as operators run it: a child process stopped with SIGTERM, then started again.
@Suite(.serialized, .timeLimit(.minutes(2))) struct DaemonSignalTests {
    @Test("SIGTERM: exit 0 within the drain timeout with a final checkpoint; after a restart every window is in the output once")
    func sigtermThenRestartLosesAndRepeatsNothing() async throws {
        let executable = try #require(PSPFExecutable.locate(), PSPFExecutable.missingMessage)
        try await withBroker { broker in
            try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                let prefix = uniquePrefix("sensors")
                // Run 1: windows 0…4, and a reading in window 10 that closes them and stays open
                // (in the window state of the final checkpoint). Run 2: windows 10…14 (window 10
                // counts the reading of run 1), and a reading in window 20 that closes them.
                let first = Load(topicPrefix: prefix, windows: 0..<5, closingWindow: 10)
                let second = Load(topicPrefix: prefix, windows: 10..<15, closingWindow: 20)
                var expected = first.expected
                for var result in second.expected {
                    if result.windowStart == Load.base + 10 * Load.size { result.extra = [0] }
                    expected.append(result)
                }
                // QoS 1 is at-least-once: a message appended just before the stop may come again
                // after the restart (its PUBACK can be lost when the client closes the socket while
                // the broker is still sending: the peer's RST discards it). `dedup` drops the repeat,
                // as config/factory-gateway.yaml does.
                let config = DaemonConfig(
                    dataDirectory: directory, brokerPort: broker.port, topicPrefix: prefix,
                    sourceExtra: ["dedup: {by: event_time, horizon: 1h}"],
                    sinks: [#"archive: {type: file, path: "\#(directory)/out/{pipeline}.jsonl", fsync: every}"#],
                    pipelineSinks: ["archive"], drainTimeout: "5s")
                let file = directory + "/pspf.yaml"
                try config.yaml.write(toFile: file, atomically: true, encoding: .utf8)
                _ = try config.load(file: file)  // the test's own check: the file is valid
                let drainTimeout: Duration = .seconds(5)
                // The drain bound plus the group's cancellation grace and a slow machine's start.
                let exitTimeout = drainTimeout + .seconds(10)
                let resultsDirectory = directory + "/log/" + DataLayout.resultsTopic(pipeline: "temps")

                // Run 1, stopped right after the load was acknowledged (mid-processing, maybe).
                let run1 = try DaemonProcess.start(executable, ["run", file, "--log-level", "info"])
                defer { run1.killIfRunning() }
                try await run1.wait(for: "msg=subscribed")
                try await first.publish(port: broker.port)
                run1.signal(SIGTERM)
                let status1 = try await run1.waitForExit(timeout: exitTimeout)
                #expect(status1 == 0, "\(run1.state.value)")
                #expect(run1.stderr.contains("pipeline stopped; the final checkpoint covers everything processed"))
                #expect(run1.stderr.contains("msg=\"pspf stopped\""), "\(run1.stderr)")

                // The final checkpoint exists and covers the output log as it was left.
                let resultsAfterRun1 = try readTopic(resultsDirectory).count
                let recovered = try Self.latestState(directory + "/state/temps.db")
                #expect(recovered.checkpoint != nil)
                #expect(recovered.endOffset(topic: DataLayout.resultsTopic(pipeline: "temps"), partition: 0) == Int64(resultsAfterRun1))

                // Run 2: recovers, processes what run 1 left, and the second load.
                let run2 = try DaemonProcess.start(executable, ["run", file, "--log-level", "info"])
                defer { run2.killIfRunning() }
                try await run2.wait(for: "msg=subscribed")
                try await second.publish(port: broker.port)
                try await eventually("all \(expected.count) windows in the output log") {
                    try readTopic(resultsDirectory).count >= expected.count ? true : nil
                }
                run2.signal(SIGTERM)
                let status2 = try await run2.waitForExit(timeout: exitTimeout)
                #expect(status2 == 0, "\(run2.state.value)")

                // The input log: every published reading once (repeats dropped by dedup).
                let input = try readTopic(directory + "/log/" + DataLayout.inputTopic(source: "sensors"))
                let published = (first.messages + second.messages).flatMap { $0 }.map(\.payload)
                let repeated = Dictionary(grouping: input, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
                #expect(repeated.isEmpty, "readings appended twice: \(repeated)")
                #expect(Set(input) == Set(published))

                // Every expected window exactly once, nothing else.
                let log = try readTopic(resultsDirectory)
                let ids = log.map(resultID)
                #expect(log.count == expected.count)
                #expect(Set(ids).count == ids.count, "no duplicates")
                #expect(Set(log) == Set(expected.map(\.json)))
                let missing = expected.filter { !log.contains($0.json) }.map { "\($0.key)@\($0.windowStart)" }
                #expect(missing.isEmpty, "missing: \(missing)")
                // The file sink (exactly-once across the restart) wrote the same lines.
                #expect(try DaemonEndToEndTests.resultFileLines(directory + "/out") == log)
            }
        }
    }

    static func latestState(_ path: String) throws -> RecoveredState {
        var logger = Logger(label: "pspf.test")
        logger.logLevel = .critical
        let store = try SQLiteCheckpointStore(path: path, logger: logger)
        defer { try? store.close() }
        return try store.loadLatest()
    }
}
