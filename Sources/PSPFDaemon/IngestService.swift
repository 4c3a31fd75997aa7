import Logging
import PSPFAdmin
import PSPFConfig
import PSPFConnectors
import PSPFLog
import PSPFMQTT
import ServiceLifecycle
import Synchronization

/// One source's durable MQTT ingest as a service: subscribe, append every message to the input
/// log before acknowledging it, until the graceful shutdown (the first service to stop).
///
/// A broker that is unreachable at start is retried with the broker's reconnect backoff; after
/// the first connection the client reconnects by itself.
final class IngestService: Service, Sendable {
    let source: SourceConfig
    let client: MQTTClientConfiguration
    let input: LogTopic
    let deadLetters: LogTopic
    private let logger: Logger
    private let current = Mutex<MQTTIngestSource?>(nil)
    private let connectionObservers = Mutex<[@Sendable (_ connected: Bool) -> Void]>([])

    init(source: SourceConfig, client: MQTTClientConfiguration, input: LogTopic, deadLetters: LogTopic, logger: Logger) {
        self.source = source
        self.client = client
        self.input = input
        self.deadLetters = deadLetters
        var logger = logger
        logger[metadataKey: "source"] = "\(source.name)"
        self.logger = logger
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.ingest() }
        logger.info("ingest stopped", metadata: statsMetadata)
    }

    private func ingest() async throws {
        let retry = FirstConnectionRetry(policy: client.reconnect, logger: logger, what: "cannot connect to the broker")
        _ = try await retry.run {
            let ingest = try MQTTIngestSource(
                client: client, ingest: source.ingestConfiguration, input: input, deadLetters: deadLetters,
                logger: logger)
            current.withLock { $0 = ingest }
            let events = Task { await self.follow(ingest.client.events) }
            defer { events.cancel() }
            let logger = self.logger
            let filters = source.topics
            let broker = source.broker
            try await ingest.run {
                logger.info("subscribed", metadata: ["topics": "\(filters)", "broker": "\(broker)"])
            }
        }
    }

    /// Calls `observer` on every connection change (from the client's event stream).
    func observeConnection(_ observer: @escaping @Sendable (_ connected: Bool) -> Void) {
        connectionObservers.withLock { $0.append(observer) }
    }

    /// Logs the client's connection events (one line each) and tells the observers.
    private func follow(_ events: AsyncStream<MQTTClientEvent>) async {
        for await event in events {
            let connected: Bool?
            switch event {
            case .connected(let sessionPresent):
                logger.info("connected to the broker", metadata: ["session_present": "\(sessionPresent)"])
                connected = true
            case .connectionLost(let error):
                logger.warning("connection to the broker lost; reconnecting", metadata: ["error": "\(error)"])
                connected = false
            case .reconnectScheduled(let attempt, let delay):
                if attempt == 1 || attempt % 10 == 0 {
                    logger.notice("reconnect scheduled", metadata: ["attempt": "\(attempt)", "delay": "\(delay)"])
                }
                connected = nil
            case .subscriptionRejected(let filter, let code):
                logger.error(
                    "the broker rejected a subscription", metadata: ["filter": "\(filter)", "reason_code": "\(code)"])
                connected = nil
            case .closed:
                connected = false
            @unknown default:
                connected = nil
            }
            if let connected {
                for observer in connectionObservers.withLock({ $0 }) { observer(connected) }
            }
        }
    }

    var isConnected: Bool { current.withLock { $0?.client.isConnected ?? false } }

    var stats: MQTTIngestStats { current.withLock { $0?.stats ?? MQTTIngestStats() } }

    private var statsMetadata: Logger.Metadata {
        let stats = self.stats
        return [
            "received": "\(stats.received)", "appended": "\(stats.appended)", "duplicates": "\(stats.duplicates)",
            "dead_lettered": "\(stats.deadLettered)", "rejected": "\(stats.rejected)",
        ]
    }

    func status() -> SourceStatus {
        let stats = self.stats
        return SourceStatus(
            name: source.name, broker: source.broker, connected: isConnected, messagesReceived: stats.received,
            bytesReceived: stats.receivedBytes, appended: stats.appended, duplicates: stats.duplicates,
            deadLettered: stats.deadLettered, rejected: stats.rejected, paused: stats.isPaused,
            partitions: LogPartitionStatus.all(of: input))
    }
}

extension LogPartitionStatus {
    static func all(of topic: LogTopic) -> [LogPartitionStatus] {
        (0..<topic.partitionCount).map { partition in
            let info = topic.info(partition: partition)
            return LogPartitionStatus(
                topic: topic.name, partition: partition, endOffset: info.endOffset, sizeBytes: info.bytes)
        }
    }
}
