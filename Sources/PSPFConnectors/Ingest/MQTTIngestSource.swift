import Logging
import PSPFLog
import PSPFMQTT

/// The durable MQTT source as a long-running service: an ``MQTTClient`` with a persistent
/// session whose messages go through an ``MQTTIngestHandler`` into the input topic, plus the
/// backpressure monitor that pauses and resumes reading as the input topic fills its quota.
///
/// ```swift
/// var client = MQTTClientConfiguration(host: "127.0.0.1", port: 1883)
/// client.clientID = "pspf-gw-01"          // stable: the broker keeps the session while we are away
/// client.cleanSession = false
/// let source = try MQTTIngestSource(
///     client: client,
///     ingest: MQTTIngestConfiguration(topicFilters: ["sensors/+/reading"], key: .topicSegment(1)),
///     input: input, deadLetters: deadLetters, logger: logger)
/// let task = Task { try await source.run() }   // until cancelled: then a graceful disconnect
/// ```
public final class MQTTIngestSource: Sendable {
    public let handler: MQTTIngestHandler
    public let client: MQTTClient
    private let logger: Logger

    /// Creates the handler (rebuilding the de-duplication state from the input topic: blocking
    /// file IO) and the client (not connected yet).
    ///
    /// - Throws: ``ConnectorError/Code/invalidConfiguration`` when the subscription is QoS 1/2
    ///   but the client has no persistent session (a stable `clientID` and `cleanSession = false`):
    ///   without one the broker forgets unacknowledged messages when the connection drops.
    public init(
        client configuration: MQTTClientConfiguration, ingest: MQTTIngestConfiguration, input: LogTopic,
        deadLetters: LogTopic, clock: LogClock = .system, logger: Logger = Logger(label: "pspf.ingest")
    ) throws {
        if ingest.qos != .atMostOnce, configuration.cleanSession || (configuration.clientID ?? "").isEmpty {
            throw ConnectorError(
                .invalidConfiguration,
                "durable MQTT ingest at \(ingest.qos) needs a persistent session: set a stable client id and clean session off")
        }
        if ingest.qos == .exactlyOnce {
            logger.warning(
                "subscribing at QoS 2: a message between PUBREC and PUBREL lives only in memory and is lost if the process dies there; QoS 1 is the durable choice (docs/ingest.md)")
        }
        let handler = try MQTTIngestHandler(
            configuration: ingest, input: input, deadLetters: deadLetters, clock: clock, logger: logger)
        self.handler = handler
        self.client = try MQTTClient(configuration: configuration, handler: handler, logger: logger)
        self.logger = logger
        handler.onPauseChange { [weak client] paused in client?.readingPaused = paused }
    }

    /// Counters since start.
    public var stats: MQTTIngestStats { handler.stats }

    /// Connects (throwing the first attempt's error), subscribes, then watches backpressure
    /// until the task is cancelled, and disconnects gracefully: the batch being read is
    /// completed (flushed and acknowledged) before DISCONNECT, and everything appended is
    /// durable when `run` returns. Reconnects after a connection
    /// loss happen in the background (see `docs/mqtt.md`).
    ///
    /// - Parameter onSubscribed: called once the broker acknowledged the subscriptions.
    public func run(onSubscribed: @Sendable () -> Void = {}) async throws {
        let configuration = handler.configuration
        do {
            try await client.connect()
            let granted = try await client.subscribe(
                configuration.topicFilters.map { MQTTSubscription($0, qos: configuration.qos) })
            for (filter, qos) in zip(configuration.topicFilters, granted) where qos < configuration.qos {
                logger.warning(
                    "the broker granted a lower QoS than asked", metadata: ["filter": "\(filter)", "granted": "\(qos)"])
            }
        } catch {
            await client.disconnect()
            if error is CancellationError { return }
            throw error
        }
        onSubscribed()
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.backpressure.checkInterval)
            } catch {
                break
            }
            await handler.checkBackpressure()
        }
        await client.disconnect()
        // QoS 0 batches are not flushed per batch: make everything appended durable now.
        try await handler.input.flush()
        try await handler.deadLetters.flush()
    }
}
