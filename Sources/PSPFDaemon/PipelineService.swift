import Logging
import PSPFAdmin
import PSPFConfig
import PSPFCore
import PSPFLog
import PSPFRuntime
import PSPFStorage
import ServiceLifecycle

/// One pipeline's runner as a service: recover from the last checkpoint, process the input log
/// continuously with a checkpoint every interval, and on graceful shutdown finish the batch in
/// hand and write a final checkpoint.
final class PipelineService: Service, Sendable {
    typealias Runner = LocalRunner<WindowResult<String, AggregateRow>>

    let pipeline: PipelineConfig
    let runner: Runner
    let output: LogTopic
    let deadLetters: LogTopic
    private let outputEndsAtStart: [Int64]
    private let logger: Logger

    init(pipeline: PipelineConfig, runner: Runner, logger: Logger) {
        self.pipeline = pipeline
        self.runner = runner
        self.output = runner.output
        self.deadLetters = runner.deadLetters!
        self.outputEndsAtStart = (0..<runner.output.partitionCount).map { runner.output.endOffset(partition: $0) }
        var logger = logger
        logger[metadataKey: "pipeline"] = "\(pipeline.name)"
        self.logger = logger
    }

    func run() async throws {
        let summary = try await cancelWhenGracefulShutdown { try await self.runner.run() }
        logger.info(
            "pipeline stopped; the final checkpoint covers everything processed",
            metadata: [
                "checkpoint": "\(summary.lastCheckpoint?.info.id ?? summary.recovery.checkpointID ?? 0)",
                "records": "\(summary.recordsRead)", "results": "\(summary.resultsWritten)",
                "dead_letters": "\(summary.deadLettersWritten)",
            ])
    }

    func status() -> PipelineStatus {
        let metrics = runner.liveMetrics
        let positions = runner.inputPositions
        let input = runner.input
        let lag = (0..<input.partitionCount).map { partition in
            PartitionLag(
                partition: partition,
                records: max(0, input.endOffset(partition: partition) - (positions[partition] ?? input.startOffset(partition: partition))))
        }
        var results: Int64 = 0
        for partition in 0..<output.partitionCount {
            results += output.endOffset(partition: partition) - outputEndsAtStart[partition]
        }
        let checkpoints = runner.recentCheckpoints
        var checkpoint = CheckpointStatus(count: Int64(runner.checkpointCount))
        if let last = checkpoints.last {
            checkpoint.lastID = last.info.id
            checkpoint.lastCompletedAtMilliseconds = last.info.finishedAtMs
            checkpoint.lastDurationMilliseconds = last.totalDuration.milliseconds
            checkpoint.lastSizeBytes = last.info.bytesWritten
        }
        return PipelineStatus(
            name: pipeline.name, source: pipeline.source, recordsProcessed: metrics.processed,
            resultsEmitted: max(0, results), windowsOpen: metrics.windowsOpen, windowsEmitted: metrics.windowsEmitted,
            late: metrics.late, filtered: 0, deadLetters: runner.liveDeadLetters, lag: lag, checkpoint: checkpoint)
    }
}

extension Duration {
    /// Milliseconds as a fraction (for status and logs).
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
