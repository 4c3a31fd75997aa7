import Foundation
import Logging
import PSPFCore
import PSPFLog
import PSPFRuntime
import PSPFStorage
import PSPFTesting
import Testing

/// Exactly-once, end to end: the real `pspf process` binary over a generated stream, killed with
/// SIGKILL at seeded fault points (inside a checkpoint commit, during an output append, …),
/// restarted each time; the final output log must equal what one pipeline instance computes
/// over the same input: 0 missing, 0 duplicated, 0 wrong.
@Suite(.serialized) struct CrashRecoveryTests {
    private let logger = Logger(label: "test")

    /// The fault points and how many passes to allow before the kill, drawn from a seeded
    /// generator. Each point appears twice. Runs at points that may not come (an output append,
    /// a truncation during recovery) also arm `input.batch` as a backstop a few hundred batches
    /// in, so they die anyway instead of finishing the whole input. Checkpoints are requested every 1,500 records (not by time),
    /// so how many commits a run reaches before its backstop does not depend on the machine's load.
    static func crashSchedule(seed: UInt64) -> [(point: String, pass: Int, backstop: Int)] {
        var random = SplitMix64(seed: seed)
        let ranges: [(String, ClosedRange<Int>)] = [
            ("output.append", 1...40), ("checkpoint.commit", 1...4), ("input.batch", 50...400), ("barrier", 1...16),
            ("output.sync", 1...4), ("checkpoint.committed", 1...4), ("recovery.truncate", 1...1),
        ]
        var schedule: [(String, Int, Int)] = []
        for _ in 0..<2 {
            for (point, range) in ranges {
                let pass = range.lowerBound + Int(random.next() % UInt64(range.count))
                schedule.append((point, pass, 200 + Int(random.next() % 300)))
            }
        }
        // Shuffle deterministically so kinds interleave.
        for i in stride(from: schedule.count - 1, to: 0, by: -1) {
            schedule.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
        return schedule
    }

    @Test func everyReadingCountsOnceWhereverTheProcessIsKilled() async throws {
        let binary = try #require(PSPFBinary.locate(), "pspf binary not found: run `swift build --build-tests` first")
        try await withTemporaryDirectory { directory in
            let logDirectory = directory + "/log"
            let log = try PartitionedLog(directory: logDirectory, logger: logger)
            let readings = try log.topic("readings", config: TopicConfig(partitions: 4, fsync: .none))
            let appended = try await appendSimulated(
                .init(devices: 100, readingsPerDevice: 2000, lateRate: 0.01, malformedRate: 0.01, seed: 11),
                to: readings)
            try log.close()

            let arguments = [
                "process", "--dir", directory, "--until-caught-up", "--finish-at-end", "--checkpoint-interval-ms", "0",
                "--checkpoint-every-records", "1500", "--batch-records", "64", "--idle-timeout-ms", "0",
                "--state-chunks", "16", "--log-level", "warning",
            ]
            var kills: [String] = []
            var completed = 0
            for (point, pass, backstop) in Self.crashSchedule(seed: 2026) {
                // Points passed once per checkpoint are reached within a few thousand records; the
                // others get the backstop.
                let perCheckpoint = ["checkpoint.commit", "output.sync", "checkpoint.committed", "barrier"]
                let armed =
                    point == "input.batch" || perCheckpoint.contains(point)
                    ? "\(point):\(pass)" : "\(point):\(pass),input.batch:\(backstop)"
                let outcome = try await binary.run(arguments, environment: ["PSPF_CRASH_AT": armed], scratch: directory)
                if outcome.killedBySIGKILL {
                    // "pspf: fault point checkpoint.commit reached (pass 3): SIGKILL"
                    let reached = outcome.stderr.split(separator: "\n").first { $0.contains("fault point") }
                    let name = reached?.split(separator: " ").dropFirst(3).first.map(String.init) ?? "?"
                    kills.append(name)
                } else {
                    #expect(outcome.succeeded, "\(point):\(pass) → \(outcome)")
                    completed += 1
                }
            }
            print("crash test: \(kills.count) kills \(kills), \(completed) runs completed")
            let last = try await binary.run(arguments, scratch: directory)
            #expect(last.succeeded, "\(last)")

            // At least ten kills, at least one inside a commit and one during an output append.
            #expect(kills.count >= 10, "only \(kills.count) runs were killed: \(kills)")
            #expect(kills.contains("checkpoint.commit"), "\(kills)")
            #expect(kills.contains("output.append"), "\(kills)")

            let input = try LogTopic.openReadOnly(directory: logDirectory + "/readings", logger: logger)
            let results = try LogTopic.openReadOnly(directory: logDirectory + "/results", logger: logger)
            let deadLetters = try LogTopic.openReadOnly(directory: logDirectory + "/dead-letters", logger: logger)
            let expected = try ExpectedOutput.compute(
                plan: SensorReading.temperatureStats(idleTimeout: nil), input: input, finish: true)
            #expect(expected.processed == appended)
            let comparison = try ActualOutput.read(results: results, deadLetters: deadLetters).compare(with: expected)
            #expect(comparison.isExact, "\(comparison); kills: \(kills)")
            #expect(expected.results.count > 1000)
            #expect(expected.deadLetters.count > 100)
        }
    }

    @Test func sigtermStopsGracefullyWithAFinalCheckpoint() async throws {
        let binary = try #require(PSPFBinary.locate(), "pspf binary not found: run `swift build --build-tests` first")
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory + "/log", logger: logger)
            let readings = try log.topic("readings", config: TopicConfig(partitions: 4, fsync: .none))
            try await appendSimulated(.init(devices: 50, readingsPerDevice: 400, seed: 21), to: readings)
            try log.close()

            // Continuous mode, a checkpoint interval far beyond the test: only the final
            // checkpoint written on SIGTERM can save the progress.
            let running = try binary.start([
                "process", "--dir", directory, "--checkpoint-interval-ms", "3600000", "--idle-timeout-ms", "0",
                "--batch-records", "256",
            ])
            #expect(await running.waitForLine(containing: "processing"))
            running.send(SIGTERM)
            #expect(await running.waitForLine(containing: "stopped; the last checkpoint covers everything processed"))
            let exit = await running.wait()
            #expect(!exit.signalled && exit.status == 0, "exit \(exit)")

            // Whatever it had processed is checkpointed; finishing it off gives exact output.
            let finished = try await binary.run(
                ["process", "--dir", directory, "--until-caught-up", "--finish-at-end", "--idle-timeout-ms", "0"],
                scratch: directory)
            #expect(finished.succeeded, "\(finished)")
            #expect(!finished.stdout.contains(#""started_fresh":true"#), "\(finished)")
            let input = try LogTopic.openReadOnly(directory: directory + "/log/readings", logger: logger)
            let results = try LogTopic.openReadOnly(directory: directory + "/log/results", logger: logger)
            let deadLetters = try LogTopic.openReadOnly(directory: directory + "/log/dead-letters", logger: logger)
            let expected = try ExpectedOutput.compute(
                plan: SensorReading.temperatureStats(idleTimeout: nil), input: input, finish: true)
            let comparison = try ActualOutput.read(results: results, deadLetters: deadLetters).compare(with: expected)
            #expect(comparison.isExact, "\(comparison)")
        }
    }

    @Test func aCorruptStateDatabaseIsAClearErrorAndRebuildRecovers() async throws {
        let binary = try #require(PSPFBinary.locate(), "pspf binary not found: run `swift build --build-tests` first")
        try await withTemporaryDirectory { directory in
            let log = try PartitionedLog(directory: directory + "/log", logger: logger)
            let readings = try log.topic("readings", config: TopicConfig(partitions: 2, fsync: .none))
            try await appendSimulated(.init(devices: 10, readingsPerDevice: 100, seed: 3), to: readings)
            try log.close()
            let arguments = ["process", "--dir", directory, "--until-caught-up", "--idle-timeout-ms", "0"]
            #expect(try await binary.run(arguments, scratch: directory).succeeded)

            // Damage the database: garbage over the header.
            let path = directory + "/state.db"
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.write(contentsOf: Data(repeating: 0x5A, count: 4096))
            try handle.close()
            let damaged = try Data(contentsOf: URL(fileURLWithPath: path))

            let refused = try await binary.run(arguments, scratch: directory)
            #expect(!refused.signalled && refused.status == 2, "\(refused)")
            #expect(refused.stderr.contains("is corrupt"), "\(refused)")
            #expect(refused.stderr.contains("pspf state rebuild"), "\(refused)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == damaged, "the damaged file must stay as it was")

            // Rebuild re-derives state and output from the input; the next run resumes normally.
            let rebuilt = try await binary.run(
                ["state", "rebuild", "--dir", directory, "--idle-timeout-ms", "0", "--log-level", "info"],
                scratch: directory)
            #expect(rebuilt.succeeded, "\(rebuilt)")
            #expect(rebuilt.stderr.contains("rebuild: 100%"), "progress is logged: \(rebuilt.stderr)")
            let aside = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
                $0.hasPrefix("state.db.before-rebuild-")
            }
            #expect(!aside.isEmpty, "the damaged database is kept")
            let finished = try await binary.run(arguments + ["--finish-at-end"], scratch: directory)
            #expect(finished.succeeded, "\(finished)")

            let input = try LogTopic.openReadOnly(directory: directory + "/log/readings", logger: logger)
            let results = try LogTopic.openReadOnly(directory: directory + "/log/results", logger: logger)
            let deadLetters = try LogTopic.openReadOnly(directory: directory + "/log/dead-letters", logger: logger)
            let expected = try ExpectedOutput.compute(
                plan: SensorReading.temperatureStats(idleTimeout: nil), input: input, finish: true)
            let comparison = try ActualOutput.read(results: results, deadLetters: deadLetters).compare(with: expected)
            #expect(comparison.isExact, "\(comparison)")
        }
    }

    @Test func aStateDatabaseFromANewerPSPFIsRefused() async throws {
        let binary = try #require(PSPFBinary.locate(), "pspf binary not found: run `swift build --build-tests` first")
        try await withTemporaryDirectory { directory in
            let path = directory + "/state.db"
            let connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA application_id = \(StateSchema.applicationID)")
            try connection.execute("PRAGMA user_version = \(StateSchema.latestVersion + 5)")
            try connection.execute("CREATE TABLE future (x INTEGER)")
            try connection.close()
            let before = try Data(contentsOf: URL(fileURLWithPath: path))

            let outcome = try await binary.run(
                ["process", "--dir", directory, "--until-caught-up"], scratch: directory)
            #expect(!outcome.signalled && outcome.status == 2, "\(outcome)")
            #expect(
                outcome.stderr.contains("is newer than this pspf supports (\(StateSchema.latestVersion))"), "\(outcome)"
            )
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        }
    }
}
