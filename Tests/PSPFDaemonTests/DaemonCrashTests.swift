import Foundation
import Logging
import PSPFJSON
import PSPFLog
import PSPFMQTT
import PSPFRuntime
import PSPFTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Exactly-once through MQTT (issue #4): the real `pspf run` binary subscribes at QoS 1 with a
/// persistent session (stable client id, clean_session false) to a real mosquitto, de-duplicates
/// by event time, keeps tumbling windows with 100 ms checkpoints, and is killed with SIGKILL at
/// seeded points — inside a checkpoint commit, during an output append, at the other fault
/// points and at seeded times — and restarted each time, while a QoS 1 stream is published. The
/// last run is stopped with SIGTERM; its output log must then hold every window of the stream
/// exactly once with the right count/avg/min/max: 0 missing, 0 duplicated, 0 wrong.
///
/// It can fail. Checked by hand on 2026-11-24:
/// - It found a bug: a sink forwarder resumed at its own delivered position even when recovery
///   had truncated the output log below it, so the results regenerated at those offsets were
///   skipped. Without the fix (`SinkForwarder.run(resumeAtMost:)`) the file sink missed 9–10 of
///   the 1,000 windows in each of 3 runs.
/// - `PSPF_CRASH_TEST_BREAK=dedup` writes `dedup: {by: none}`: QoS 1 redeliveries after the
///   kills reach the input log twice — 52 duplicated readings, 52 windows with a wrong count.
/// - Deleting the state database between runs is no way to break it: the daemon refuses to start
///   (exit 2, "output log … holds 40 records, but the state database has no checkpoint").
@Suite(.serialized, .timeLimit(.minutes(3))) struct DaemonCrashTests {
    static let seed: UInt64 = 20_261_124
    static let pipeline = "stats"
    static let source = "sensors"

    /// What ends one run of the daemon.
    enum Kill: CustomStringConvertible {
        /// `PSPF_CRASH_AT=point:pass`; if the point is not reached within the backstop, the test
        /// sends SIGKILL itself.
        case fault(String, pass: Int)
        /// SIGKILL from the test this long after the start.
        case timed(milliseconds: Int)

        var description: String {
            switch self {
            case .fault(let point, let pass): "\(point):\(pass)"
            case .timed(let milliseconds): "after \(milliseconds) ms"
            }
        }
    }

    /// Thirteen kills after the first (timed) one, drawn from a seeded generator and shuffled:
    /// two inside a checkpoint commit, two during an output append, one at each other fault
    /// point, four at seeded times. `recovery.truncate` follows an output-append kill so that
    /// recovery has a tail to cut. The first checkpoint of a run always commits (later ones only
    /// when something changed), so `checkpoint.commit:1` is reached even without traffic.
    static func schedule(seed: UInt64) -> [Kill] {
        var random = SplitMix64(seed: seed)
        func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        var kills: [Kill] = [
            .fault("checkpoint.commit", pass: 1), .fault("checkpoint.commit", pass: draw(2...6)),
            .fault("output.append", pass: draw(1...6)), .fault("barrier", pass: draw(1...8)),
            .fault("input.batch", pass: draw(5...60)), .fault("output.sync", pass: draw(1...4)),
            .fault("checkpoint.committed", pass: draw(1...4)),
            .timed(milliseconds: draw(300...1500)), .timed(milliseconds: draw(300...1500)),
            .timed(milliseconds: draw(300...1500)), .timed(milliseconds: draw(300...1500)),
        ]
        for i in stride(from: kills.count - 1, to: 0, by: -1) { kills.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        let append = Int(random.next() % UInt64(kills.count))
        kills.insert(contentsOf: [.fault("output.append", pass: draw(1...6)), .fault("recovery.truncate", pass: 1)], at: append)
        return kills
    }

    @Test("SIGKILL at seeded points under a QoS 1 stream: every window exactly once, with the right values")
    func killAndRestartTheDaemon() async throws {
        let executable = try #require(DaemonBinary.locate(), Comment(rawValue: DaemonBinary.missingMessage))
        let broker = try await BrokerFixture.start(.init(maxQueuedMessages: 1_000_000, maxInflightMessages: 100))
        defer { broker.cleanUp() }
        let breakMode = ProcessInfo.processInfo.environment["PSPF_CRASH_TEST_BREAK"]
        try await withTemporaryDirectory(prefix: "pspf-daemon-crash-") { directory in
            let stream = CrashStream(devices: 40, readings: 250, stepMilliseconds: 100, windowMilliseconds: 1000, seed: Self.seed)
            let configFile = directory + "/pspf.yaml"
            let clientID = "pspf-crash-\(UInt32.random(in: 0...UInt32.max))"
            try Self.configuration(
                directory: directory, port: broker.port, clientID: clientID, dedup: breakMode != "dedup"
            ).write(toFile: configFile, atomically: true, encoding: .utf8)
            let arguments = ["run", configFile, "--log-level", "info"]
            var runs = 0
            func start(_ crashAt: String?) throws -> DaemonChild {
                runs += 1
                return try DaemonChild.start(
                    executable, arguments, crashAt: crashAt, stderrPath: directory + "/run-\(runs).stderr")
            }

            // The first run creates the persistent session; only then does publishing start (the
            // broker queues for a session only once it exists).
            var child = try start(nil)
            #expect(
                try await child.waitForStderr(containing: "subscribed", timeout: .seconds(30)),
                "the daemon did not subscribe: \(child.stderr.suffix(3000))")
            let schedule = Self.schedule(seed: Self.seed)
            let publisher = Publisher(port: broker.port, stream: stream)
            // Paced over 16 s, but never more than two runs' share ahead of the kills, so that
            // every run has readings to process even when the machine is slow.
            let share = stream.readings / (schedule.count + 1) + 1
            publisher.allow(steps: 2 * share)
            let publishing = Task { try await publisher.publishPaced(over: .seconds(16)) }
            defer { publishing.cancel() }

            var outcomes: [String] = []  // what ended each run
            var random = SplitMix64(seed: Self.seed ^ 0x5EED)
            try await Task.sleep(for: .milliseconds(400 + Int(random.next() % 800)))
            child.send(SIGKILL)
            _ = try await child.waitForExit(timeout: .seconds(10))
            outcomes.append("timed")

            for kill in schedule {
                publisher.allow(steps: (outcomes.count + 2) * share)
                switch kill {
                case .fault(let point, let pass):
                    child = try start("\(point):\(pass)")
                    if try await child.waitForExit(timeout: .seconds(6)) == nil {
                        child.send(SIGKILL)  // the point was not reached in time: a timed kill
                    }
                case .timed(let milliseconds):
                    child = try start(nil)
                    try await Task.sleep(for: .milliseconds(milliseconds))
                    child.send(SIGKILL)
                }
                let exit = try #require(try await child.waitForExit(timeout: .seconds(10)), "run \(runs) did not exit")
                #expect(exit.killedBySIGKILL, "run \(runs) (\(kill)) ended with \(exit): \(child.stderr.suffix(3000))")
                outcomes.append(child.faultPointReached ?? "timed")
            }
            print("daemon crash test: \(outcomes.count) kills: \(outcomes)")

            // The last run: finish publishing, close every window, wait for the sink to have
            // them all, stop gracefully.
            child = try start(nil)
            publisher.allow(steps: stream.readings)
            try await publishing.value
            try await publisher.publish(stream.closing)
            let expected = stream.expectedWindows
            let (delivered, repeated) = try await Self.waitForFileSink(
                directory, windows: Set(expected.keys), timeout: .seconds(60), child: child)
            #expect(delivered == expected.count, "the file sink has \(delivered) of \(expected.count) windows")
            // The file sink writes only checkpointed results, so no crash makes it repeat one.
            #expect(repeated == 0, "the file sink wrote \(repeated) windows more than once")
            await publisher.disconnect()
            child.send(SIGTERM)
            let last = try await child.waitForExit(timeout: .seconds(30))
            #expect(last?.succeeded == true, "graceful stop: \(String(describing: last)) \(child.stderr.suffix(3000))")
            if last == nil { child.send(SIGKILL) }

            #expect(outcomes.count >= 10, "\(outcomes)")
            #expect(outcomes.contains("checkpoint.commit"), "no kill inside a checkpoint commit: \(outcomes)")
            #expect(outcomes.contains("output.append"), "no kill during an output append: \(outcomes)")

            let logger = Logger(label: "test")
            // The input log: every reading once (the ingest's de-duplication and durable-before-ack).
            let input = try LogTopic.openReadOnly(directory: directory + "/data/log/input.\(Self.source)", logger: logger)
            var perReading: [String: Int] = [:]
            var inputRecords = 0
            for partition in 0..<input.partitionCount {
                let reader = input.reader(partition: partition)
                reader.seek(to: input.startOffset(partition: partition))
                while try reader.read(maxRecords: 10_000, { record in
                    inputRecords += 1
                    perReading["\(String(decoding: record.key, as: UTF8.self))@\(record.eventTime ?? -1)", default: 0] += 1
                }).records > 0 {}
            }
            let doubled = perReading.filter { $0.value > 1 }.count
            #expect(doubled == 0, "\(doubled) readings are in the input log more than once")
            #expect(perReading.count == stream.messages.count + stream.closing.count, "distinct readings in the input log")
            #expect(inputRecords == stream.messages.count + stream.closing.count)

            // The output log: every window once, with the right values.
            let results = try LogTopic.openReadOnly(
                directory: directory + "/data/log/results.\(Self.pipeline)", logger: logger)
            let comparison = try ResultComparison.compare(results: results, expected: expected)
            #expect(comparison.isExact, "\(comparison); kills: \(outcomes)")
            #expect(comparison.results == expected.count, "\(comparison)")
            #expect(expected.count == 1000)
            for topic in ["dlq.pipeline.\(Self.pipeline)", "dlq.ingest.\(Self.source)"] {
                let path = directory + "/data/log/" + topic
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let deadLetters = try LogTopic.openReadOnly(directory: path, logger: logger)
                let count = (0..<deadLetters.partitionCount).reduce(Int64(0)) {
                    $0 + deadLetters.endOffset(partition: $1) - deadLetters.startOffset(partition: $1)
                }
                #expect(count == 0, "\(count) records in \(topic) (late readings?)")
            }
        }
    }

    static func configuration(directory: String, port: Int, clientID: String, dedup: Bool) -> String {
        """
        version: 1
        data_dir: \(directory)/data
        brokers:
          local:
            host: 127.0.0.1
            port: \(port)
            protocol: 5
            client_id: \(clientID)
            clean_session: false
            reconnect: {initial: 100ms, max: 1s}
        sources:
          \(source):
            broker: local
            topics: [sensors/+/reading]
            qos: 1
            key: {topic_segment: 1}
            event_time: {field: ts, format: epoch_ms}
            dedup: {by: \(dedup ? "event_time" : "none"), horizon: 1h}
            log: {partitions: 4, fsync: 5ms}
        pipelines:
          \(pipeline):
            source: \(source)
            key: {topic_segment: 1}
            timestamp: {field: ts, format: epoch_ms}
            schema: {temp: number}
            window: {type: tumbling, size: 1s}
            aggregates:
              - function: count
              - {function: avg, field: temp}
              - {function: min, field: temp}
              - {function: max, field: temp}
            sinks: [archive]
        sinks:
          archive:
            type: file
            path: \(directory)/results.jsonl
            format: jsonl
        checkpoint: {interval: 100ms}
        admin: {enabled: false}
        shutdown: {drain_timeout: 10s}

        """
    }

    /// Polls the file sink's JSON lines (`results.NNNNNN.jsonl` in `directory`: the sink numbers
    /// its files) until every window is there; returns how many distinct expected windows it
    /// found, and how many lines repeated a window already written.
    static func waitForFileSink(
        _ directory: String, windows: Set<String>, timeout: Duration, child: DaemonChild
    ) async throws -> (found: Int, repeated: Int) {
        let deadline = ContinuousClock.now + timeout
        var found = 0
        var repeated = 0
        while ContinuousClock.now < deadline, child.exited == nil {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let text = files.filter { $0.hasPrefix("results") && $0.hasSuffix(".jsonl") }.sorted().map {
                (try? String(contentsOfFile: directory + "/" + $0, encoding: .utf8)) ?? ""
            }.joined(separator: "\n")
            var seen = Set<String>()
            repeated = 0
            for line in text.split(separator: "\n") {
                guard let value = try? JSONValue(parsing: String(line)), let key = value["key"]?.stringValue,
                    let start = value["window_start"]?.int64Value
                else { continue }
                if !seen.insert(CrashStream.windowID(key: key, start: start)).inserted { repeated += 1 }
            }
            found = seen.intersection(windows).count
            if found == windows.count { return (found, repeated) }
            try await Task.sleep(for: .milliseconds(200))
        }
        return (found, repeated)
    }
}

/// The stream's publisher: one MQTT client, QoS 1; each device's readings are published in
/// order by one task (so each device's event times arrive in order), paced over a duration so
/// that the stream spans the crashes.
final class Publisher: Sendable {
    let port: Int
    let stream: CrashStream
    private let client = Mutex<MQTTClient?>(nil)
    private let allowed = Observed(0)

    init(port: Int, stream: CrashStream) {
        self.port = port
        self.stream = stream
    }

    private func connected() async throws -> MQTTClient {
        if let client = client.withLock({ $0 }) { return client }
        var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port)
        configuration.clientID = "crash-publisher-\(UInt32.random(in: 0...UInt32.max))"
        configuration.maxInflightPublishes = 256
        let client = try MQTTClient(configuration: configuration)
        try await client.connect()
        self.client.withLock { $0 = client }
        return client
    }

    /// Lets ``publishPaced(over:)`` publish up to `steps` steps.
    func allow(steps: Int) {
        allowed.update { $0 = max($0, steps) }
    }

    /// Publishes `stream.messages` step by step, one step every `duration / readings` at most,
    /// and only as far as ``allow(steps:)`` allows.
    func publishPaced(over duration: Duration) async throws {
        let client = try await connected()
        let start = ContinuousClock.now
        let perStep = duration / stream.readings
        let lanes = 8
        for step in 0..<stream.readings {
            try await Task.sleep(until: start + perStep * step)
            _ = try await allowed.wait("step \(step) allowed", timeout: .seconds(120)) { $0 > step }
            let messages = stream.messages[(step * stream.devices)..<((step + 1) * stream.devices)]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    group.addTask {
                        for message in messages where message.device % lanes == lane {
                            try await client.publish(topic: message.topic, payload: message.payload, qos: .atLeastOnce)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    func publish(_ messages: [CrashStream.Message]) async throws {
        let client = try await connected()
        for message in messages {
            try await client.publish(topic: message.topic, payload: message.payload, qos: .atLeastOnce)
        }
    }

    func disconnect() async {
        await client.withLock { $0 }?.disconnect()
    }
}
