import ArgumentParser
import Foundation
import Logging
import PSPFCore
import PSPFRuntime

/// `pspf process`: the reference pipeline over an input log topic, with SQLite checkpoints and
/// recovery on start. The process to crash in the exactly-once tests.
struct ProcessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Run the reference pipeline over an input log with checkpoints; recovers on start.",
        discussion: """
            Reads JSON sensor readings from DIR/log/<input>, keys them by device, computes \
            count/avg/min/max of the temperature per tumbling window in event time, and appends \
            results to DIR/log/<output> (malformed and late readings to DIR/log/dead-letters). \
            State, input offsets and output ends are checkpointed into DIR/state.db every \
            --checkpoint-interval-ms and on SIGTERM/SIGINT (graceful stop; a second signal exits \
            at once). On start it recovers from the latest checkpoint: output logs are truncated \
            to their checkpointed ends and input resumes where the checkpoint left off, so every \
            reading counts exactly once in the output log, whatever the crash point. \
            Prints one JSON summary line on stdout when it ends.
            """)

    @OptionGroup var directory: ProcessDirectoryOptions
    @OptionGroup var pipeline: ReferencePipelineOptions

    @Option(name: .customLong("checkpoint-interval-ms"), help: "Time between checkpoints; 0 = only the final one.")
    var checkpointIntervalMs: Int64 = 1000
    @Option(
        name: .customLong("checkpoint-every-records"),
        help: "Also checkpoint after this many input records (bounds the replay after a crash).")
    var checkpointEveryRecords: Int64?
    @Flag(name: .customLong("until-caught-up"), help: "Process what the input holds at start, then stop.")
    var untilCaughtUp = false
    @Flag(name: .customLong("finish-at-end"), help: "At the end, fire every open window (end of bounded input).")
    var finishAtEnd = false
    @Option(name: .customLong("batch-records"), help: "Records per processing step (a barrier waits for one step).")
    var batchRecords = 4096
    @Option(name: .customLong("state-chunks"), help: "State chunks per partition in the state database.")
    var stateChunks = 256

    func run() async throws {
        let logger = directory.logger
        let began = ContinuousClock.now
        let setup: ProcessingSetup
        do {
            setup = try ProcessingSetup.open(directory, logger: logger)
        } catch {
            throw failClearly(error, command: "process")
        }
        let plan = pipeline.plan
        let runner = LocalRunner(
            plan: plan, input: setup.input, output: setup.output, deadLetters: setup.deadLetters, store: setup.store,
            options: RunnerOptions(
                group: plan.name, mode: untilCaughtUp ? .untilCaughtUp : .continuous, finishAtEnd: finishAtEnd,
                batchRecords: batchRecords,
                checkpointInterval: checkpointIntervalMs > 0 ? .milliseconds(checkpointIntervalMs) : nil,
                checkpointEveryRecords: checkpointEveryRecords, stateChunks: stateChunks),
            logger: logger)
        let task = Task { try await runner.run() }
        let stop = GracefulStop(cancelling: task, logger: logger)
        defer { stop.cancel() }
        let summary: RunSummary
        do {
            summary = try await task.value
        } catch {
            try? setup.close()
            throw failClearly(error, command: "process")
        }
        try setup.close()
        logger.info(
            "stopped; the last checkpoint covers everything processed",
            metadata: [
                "checkpoint": "\(summary.lastCheckpoint?.info.id ?? summary.recovery.checkpointID ?? 0)",
                "records": "\(summary.recordsRead)", "results": "\(summary.resultsWritten)",
            ])
        printRunSummary(summary, command: "process", seconds: (ContinuousClock.now - began).seconds)
    }
}
