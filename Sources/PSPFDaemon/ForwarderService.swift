import Logging
import PSPFAdmin
import PSPFConnectors
import PSPFCore
import ServiceLifecycle

/// One (pipeline, sink) forwarder as a service. It stops after the pipelines (services stop in
/// reverse order), so on a graceful shutdown it first delivers what the pipelines' last steps
/// wrote, for at most `drainLimit`; what remains is delivered after the next start.
final class ForwarderService: Service, Sendable {
    let forwarder: SinkForwarder
    let sinkName: String
    let pipeline: String
    let type: String
    let drainLimit: Duration
    /// Waits for the pipeline's recovery; returns its output log's recovered ends.
    let recovered: @Sendable () async -> [Int: Int64]?
    private let logger: Logger

    init(
        forwarder: SinkForwarder, sinkName: String, pipeline: String, type: String, drainLimit: Duration,
        recovered: @escaping @Sendable () async -> [Int: Int64]?, logger: Logger
    ) {
        self.recovered = recovered
        self.forwarder = forwarder
        self.sinkName = sinkName
        self.pipeline = pipeline
        self.type = type
        self.drainLimit = drainLimit
        var logger = logger
        logger[metadataKey: "sink"] = "\(sinkName)"
        logger[metadataKey: "pipeline"] = "\(pipeline)"
        self.logger = logger
    }

    func run() async throws {
        let forwarder = self.forwarder
        let drainLimit = self.drainLimit
        let recovered = self.recovered
        // Start from the pipeline's recovered output: recovery truncates what was written after
        // the last checkpoint, which this sink may have delivered before a crash.
        let task = Task { try await forwarder.run(resumeAtMost: await recovered()) }
        await withGracefulShutdownHandler {
            _ = await task.result
        } onGracefulShutdown: {
            // Runs on the group's shutdown path; the drain is bounded so the group's own
            // timeout is never the one that stops us.
            Task {
                await Self.drain(forwarder, limit: drainLimit)
                task.cancel()
            }
        }
        if case .failure(let error) = await task.result, !(error is CancellationError) { throw error }
        let stats = forwarder.stats
        logger.info(
            "sink stopped",
            metadata: ["delivered": "\(stats.delivered)", "backlog": "\(stats.backlog)", "dropped": "\(stats.dropped)"])
    }

    /// Waits until the backlog is delivered, the sink is failing, or `limit` passes.
    private static func drain(_ forwarder: SinkForwarder, limit: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            let stats = forwarder.stats
            if stats.failing { return }
            if forwarder.undelivered == 0 { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    func status() -> SinkStatus {
        let stats = forwarder.stats
        return SinkStatus(
            name: sinkName, pipeline: pipeline, type: type, delivered: stats.delivered, inFlight: stats.inFlight,
            backlog: stats.backlog, retries: stats.retries, failures: stats.deadLettered, dropped: stats.dropped,
            failingSinceMilliseconds: stats.failingSinceMilliseconds, lastError: stats.lastError)
    }
}
