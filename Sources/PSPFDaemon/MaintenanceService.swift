import Logging
import PSPFLog
import ServiceLifecycle

/// Housekeeping while the daemon runs: applies retention to the output and dead-letter logs
/// (input logs are trimmed by their ingest). It is the last service in the group, so the first
/// to hear of a graceful shutdown: it reports the daemon as stopping (`/readyz` fails).
final class MaintenanceService: Service, Sendable {
    let topics: [LogTopic]
    let interval: Duration
    private let logger: Logger
    private let onShutdown: @Sendable () -> Void

    init(topics: [LogTopic], interval: Duration = .seconds(60), logger: Logger, onShutdown: @escaping @Sendable () -> Void) {
        self.topics = topics
        self.interval = interval
        self.logger = logger
        self.onShutdown = onShutdown
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.interval) } catch { return }
                await self.enforceRetention()
            }
        }
        onShutdown()
        logger.info("stopping: ingest first, then the pipelines' final checkpoints, then the sinks")
    }

    private func enforceRetention() async {
        for topic in topics {
            do {
                _ = try await topic.enforceRetention()
            } catch {
                logger.warning("retention failed", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
            }
        }
    }
}
