import ArgumentParser
import Foundation
import Logging
import PSPFCore
import PSPFLog
import PSPFRuntime
import PSPFStorage

/// The data directory of `pspf process`, `pspf simulate-log` and `pspf state …`:
///
/// ```
/// DIR/log/<topic>/…     the native log: input (readings), output (results), dead letters
/// DIR/state.db          the SQLite state database (checkpoints)
/// ```
struct ProcessDirectoryOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory: log topics in DIR/log, state database DIR/state.db.")
    var dir: String

    @Option(help: "Input topic.") var input = "readings"
    @Option(help: "Output topic (results).") var output = "results"
    @Option(name: .customLong("dead-letters"), help: "Dead-letter topic.") var deadLetters = "dead-letters"
    @Option(help: "Partitions of the input topic when it is created (an existing topic keeps its own).")
    var partitions = 4
    @Option(name: .customLong("output-partitions"), help: "Partitions of the output topic when it is created.")
    var outputPartitions = 1
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    var logDirectory: String { (dir as NSString).appendingPathComponent("log") }
    var statePath: String { (dir as NSString).appendingPathComponent("state.db") }

    var logger: Logger {
        var logger = Logger(label: "pspf") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }

    /// The partition count of an existing topic (read from its `topic.meta`), else `fallback`.
    func partitionCount(of topic: String, fallback: Int) -> Int {
        let meta = (logDirectory as NSString).appendingPathComponent(topic + "/topic.meta")
        guard let text = try? String(contentsOfFile: meta, encoding: .utf8) else { return fallback }
        for line in text.split(separator: "\n") where line.hasPrefix("partitions ") {
            if let count = Int(line.dropFirst("partitions ".count)) { return count }
        }
        return fallback
    }
}

/// The reference pipeline's knobs (`SensorReading.temperatureStats`).
struct ReferencePipelineOptions: ParsableArguments {
    @Option(name: .customLong("window-ms"), help: "Tumbling window size.") var windowMs: Int64 = 10_000
    @Option(name: .customLong("out-of-orderness-ms"), help: "Allowed out-of-orderness of event time.")
    var outOfOrdernessMs: Int64 = 2_000
    @Option(
        name: .customLong("idle-timeout-ms"),
        help: "Close a silent device's windows after this much processing time; 0 = never.")
    var idleTimeoutMs: Int64 = 30_000

    var plan: PipelinePlan<InputRecord, WindowResult<String, AggregateRow>> {
        SensorReading.temperatureStats(
            window: .milliseconds(windowMs), outOfOrderness: .milliseconds(outOfOrdernessMs),
            idleTimeout: idleTimeoutMs > 0 ? .milliseconds(idleTimeoutMs) : nil)
    }
}

/// The topics and the state database of one data directory, open for processing.
struct ProcessingSetup {
    let log: PartitionedLog
    let input: LogTopic
    let output: LogTopic
    let deadLetters: LogTopic
    let store: SQLiteCheckpointStore

    /// Opens (creating) the topics and the state database. Output topics use fsync policy
    /// `.none`: the runner fsyncs them before every checkpoint commit.
    static func open(_ options: ProcessDirectoryOptions, logger: Logger) throws -> ProcessingSetup {
        let log = try PartitionedLog(directory: options.logDirectory, logger: logger)
        do {
            let input = try log.topic(
                options.input,
                config: TopicConfig(
                    partitions: options.partitionCount(of: options.input, fallback: options.partitions),
                    fsync: .interval(milliseconds: 5)))
            let output = try log.topic(
                options.output,
                config: TopicConfig(
                    partitions: options.partitionCount(of: options.output, fallback: options.outputPartitions),
                    fsync: .none))
            let deadLetters = try log.topic(
                options.deadLetters,
                config: TopicConfig(
                    partitions: options.partitionCount(of: options.deadLetters, fallback: 1), fsync: .none))
            var configuration = SQLiteCheckpointStore.Configuration()
            configuration.options.beforeCommit = { FaultPoints.hit("checkpoint.commit") }
            let store = try SQLiteCheckpointStore(path: options.statePath, configuration: configuration, logger: logger)
            return ProcessingSetup(log: log, input: input, output: output, deadLetters: deadLetters, store: store)
        } catch {
            try? log.close()
            throw error
        }
    }

    func close() throws {
        var first: (any Error)?
        do { try store.close() } catch { first = error }
        do { try log.close() } catch { first = first ?? error }
        if let first { throw first }
    }
}

/// Cancels `task` on SIGTERM or SIGINT (a graceful stop with a final checkpoint); a second
/// signal exits at once. Dispatch signal sources, not a C handler: the handler runs on a queue.
final class GracefulStop: @unchecked Sendable {
    // Sources are created and resumed in `init` and cancelled in `cancel()`; never touched elsewhere.
    private var sources: [any DispatchSourceSignal] = []

    init(cancelling task: Task<some Sendable, some Error>, logger: Logger) {
        let stops = ManagedAtomicFlag()
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if stops.setAndWasSet() {
                    logger.warning("second signal: exiting without a final checkpoint")
                    exit(128 + signalNumber)
                }
                logger.info(
                    "stopping: finishing the current batches and writing a final checkpoint (signal again to exit now)")
                task.cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        sources = []
    }
}

/// A flag set once from the signal queue.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// Sets the flag; returns whether it was already set.
    func setAndWasSet() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        defer { value = true }
        return value
    }
}

/// Prints a user-facing failure (recovery, storage) to stderr and exits with status 2.
func failClearly(_ error: any Error, command: String) -> any Error {
    switch error {
    case let error as RecoveryError:
        FileHandle.standardError.write(Data("pspf \(command): \(error.message)\n".utf8))
    case let error as StorageError:
        FileHandle.standardError.write(Data("pspf \(command): \(error.message)\n".utf8))
    case let error as LogError:
        FileHandle.standardError.write(Data("pspf \(command): \(error)\n".utf8))
    default:
        return error
    }
    return ExitCode(2)
}

/// One JSON line describing a run, on stdout (for scripts and tests).
func printRunSummary(_ summary: RunSummary, command: String, seconds: Double) {
    printJSON { writer in
        writer.beginObject()
        writer.key("command"); writer.string(command)
        writer.key("records"); writer.number(summary.recordsRead)
        writer.key("results"); writer.number(Int64(summary.resultsWritten))
        writer.key("dead_letters"); writer.number(Int64(summary.deadLettersWritten))
        writer.key("late"); writer.number(summary.pipeline.late)
        writer.key("checkpoints"); writer.number(Int64(summary.checkpoints))
        writer.key("last_checkpoint"); writer.number(summary.lastCheckpoint?.info.id ?? 0)
        writer.key("resumed_from"); writer.number(summary.recovery.checkpointID ?? 0)
        writer.key("started_fresh"); writer.bool(summary.recovery.startedFresh)
        writer.key("truncated"); writer.number(summary.recovery.truncatedRecords.values.reduce(0, +))
        writer.key("seconds"); writer.number((seconds * 1000).rounded() / 1000)
        writer.endObject()
    }
}
