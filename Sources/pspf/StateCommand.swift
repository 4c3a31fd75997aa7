import ArgumentParser
import Foundation
import Logging
import PSPFRuntime
import PSPFStorage

/// `pspf state …`: the state database of a data directory.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Inspect or rebuild the state database (checkpoints) of a data directory.",
        subcommands: [StateRebuildCommand.self, StateCheckpointsCommand.self]
    )
}

/// `pspf state rebuild`: moves the state database aside and re-derives state (and the output
/// log) by replaying the retained input log from its start.
struct StateRebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Move the state database aside and re-derive state by replaying the retained input log.",
        discussion: """
            For a corrupt or lost state database, or a pipeline whose shape changed. The old \
            database (with its -wal and -shm files) is renamed to state.db.before-rebuild-<time>, \
            never deleted. The output and dead-letter logs are truncated to empty and every \
            consumer group on them (sinks) is moved back to offset 0, then the input is replayed \
            from its first retained record into fresh state, with checkpoints, until caught up. \
            If every input partition still starts at offset 0, the result is what an uninterrupted \
            run would have produced. If retention already deleted input, the rebuild refuses \
            unless --allow-partial: then windows that began before the retained input are counted \
            from the retained records only, and results of deleted input are not regenerated. \
            See docs/checkpoints.md.
            """)

    @OptionGroup var directory: ProcessDirectoryOptions
    @OptionGroup var pipeline: ReferencePipelineOptions
    @Flag(name: .customLong("allow-partial"), help: "Rebuild even though retention deleted part of the input.")
    var allowPartial = false
    @Option(name: .customLong("checkpoint-interval-ms"), help: "Time between checkpoints during the replay.")
    var checkpointIntervalMs: Int64 = 1000
    @Option(name: .customLong("batch-records")) var batchRecords = 4096

    func run() async throws {
        let logger = directory.logger
        let began = ContinuousClock.now
        let moved = try StateDatabaseFiles.moveAside(directory.statePath, suffix: "before-rebuild")
        for (from, to) in moved {
            logger.notice("moved the state database aside", metadata: ["from": "\(from)", "to": "\(to)"])
        }
        let setup: ProcessingSetup
        do {
            setup = try ProcessingSetup.open(directory, logger: logger)
        } catch {
            throw failClearly(error, command: "state rebuild")
        }
        let plan = pipeline.plan
        let runner = LocalRunner(
            plan: plan, input: setup.input, output: setup.output, deadLetters: setup.deadLetters, store: setup.store,
            options: RunnerOptions(
                group: plan.name, mode: .untilCaughtUp, batchRecords: batchRecords,
                checkpointInterval: checkpointIntervalMs > 0 ? .milliseconds(checkpointIntervalMs) : nil,
                recovery: .rebuild(allowPartial: allowPartial), replayProgressRecords: 1),
            logger: logger)
        let summary: RunSummary
        do {
            summary = try await runner.run()
        } catch {
            try? setup.close()
            throw failClearly(error, command: "state rebuild")
        }
        try setup.close()
        logger.notice(
            "state rebuilt from the input log",
            metadata: [
                "records": "\(summary.recordsRead)", "results": "\(summary.resultsWritten)",
                "checkpoint": "\(summary.lastCheckpoint?.info.id ?? 0)",
            ])
        printRunSummary(summary, command: "state rebuild", seconds: (ContinuousClock.now - began).seconds)
    }
}

/// `pspf state checkpoints`: the last checkpoints recorded in the state database.
struct StateCheckpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoints",
        abstract: "List the last checkpoints (number, time, duration, size) and the checkpointed offsets.")

    @Option(help: "The data directory of `pspf process` (state database DIR/state.db).") var dir: String?
    @Option(help: "A state database: the daemon's is <data_dir>/state/<pipeline>.db.") var db: String?
    @Option(help: "How many checkpoints to list.") var limit = 10
    @Flag(help: "One JSON object per line.") var json = false

    func validate() throws {
        if (dir == nil) == (db == nil) { throw ValidationError("give either --dir or --db") }
    }

    func run() async throws {
        let statePath = db ?? (dir! as NSString).appendingPathComponent("state.db")
        guard FileManager.default.fileExists(atPath: statePath) else {
            throw ValidationError("no state database at \(statePath)")
        }
        var logger = Logger(label: "pspf.state")
        logger.logLevel = .warning
        let store: SQLiteCheckpointStore
        do {
            store = try SQLiteCheckpointStore(path: statePath, logger: logger)
        } catch {
            throw failClearly(error, command: "state checkpoints")
        }
        defer { try? store.close() }
        let infos = try store.recentCheckpoints(limit: limit)
        let recovered = try await store.loadLatest()
        if json {
            for info in infos {
                printJSON { writer in
                    writer.beginObject()
                    writer.key("id"); writer.number(info.id)
                    writer.key("started_ms"); writer.number(info.startedAtMs)
                    writer.key("apply_us");
                    writer.number(
                        info.applyDuration.components.seconds * 1_000_000 + info.applyDuration.components.attoseconds
                            / 1_000_000_000_000)
                    writer.key("bytes"); writer.number(info.bytesWritten)
                    writer.key("state_rows"); writer.number(info.counts.stateUpserts)
                    writer.endObject()
                }
            }
            return
        }
        printTable(
            ["checkpoint", "started (UTC)", "apply ms", "bytes", "state rows"],
            infos.map { info in
                [
                    String(info.id), Self.format(ms: info.startedAtMs),
                    String(
                        format: "%.2f",
                        Double(info.applyDuration.components.attoseconds) / 1e15 + Double(
                            info.applyDuration.components.seconds) * 1000),
                    String(info.bytesWritten), String(info.counts.stateUpserts),
                ]
            })
        print("")
        printTable(
            ["input", "partition", "next offset"],
            recovered.inputOffsets.map { ["\($0.pipeline)/\($0.topic)", String($0.partition), String($0.nextOffset)] })
        print("")
        printTable(
            ["output", "partition", "end offset"],
            recovered.outputLogEnds.map { [$0.topic, String($0.partition), String($0.endOffset)] })
        if !recovered.sinkOffsets.isEmpty {
            print("")
            printTable(
                ["sink", "delivered offset"], recovered.sinkOffsets.map { [$0.sink, String($0.deliveredOffset)] })
        }
    }

    static func format(ms: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// The files of an SQLite database in WAL mode.
enum StateDatabaseFiles {
    /// Renames the database and its `-wal`/`-shm` files to `<path>.<suffix>-<epoch ms>…` (kept
    /// together, so the copy stays consistent); returns what was moved.
    static func moveAside(_ path: String, suffix: String) throws -> [(String, String)] {
        let stamp = WallClock.nowMs()
        let target = "\(path).\(suffix)-\(stamp)"
        var moved: [(String, String)] = []
        for extensionSuffix in ["", "-wal", "-shm"] {
            let from = path + extensionSuffix
            guard FileManager.default.fileExists(atPath: from) else { continue }
            let to = target + extensionSuffix
            try FileManager.default.moveItem(atPath: from, toPath: to)
            moved.append((from, to))
        }
        return moved
    }
}
