import Logging
import PSPFConnectors
import PSPFMQTT
import ServiceLifecycle
import Synchronization

/// The MQTT client the sinks of one broker publish through, as a service: it connects (retrying
/// with backoff while the broker is unreachable at start; afterwards the client reconnects by
/// itself), and disconnects when the group stops, after the forwarders.
///
/// Until the first connection, publishes fail at once, so the forwarder retries the batch and
/// the results wait in the output log.
final class MQTTSinkConnection: Service, MQTTSinkTransport, Sendable {
    let broker: String
    let configuration: MQTTClientConfiguration
    private let logger: Logger
    private let client = Mutex<MQTTClient?>(nil)

    init(broker: String, configuration: MQTTClientConfiguration, logger: Logger) {
        self.broker = broker
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "broker"] = "\(broker)"
        self.logger = logger
    }

    func run() async throws {
        let connected = try await cancelWhenGracefulShutdown { try await self.connect() }
        guard connected != nil else { return }
        // Connected: stay until the graceful shutdown reaches us, then disconnect.
        try? await gracefulShutdown()
        let client = self.client.withLock { $0 }
        await client?.disconnect()
    }

    /// Connects a new client, retrying; nil when cancelled first.
    private func connect() async throws -> MQTTClient? {
        let retry = FirstConnectionRetry(
            policy: configuration.reconnect, logger: logger, what: "cannot connect to the broker for sinks")
        return try await retry.run {
            let candidate = try MQTTClient(configuration: configuration, logger: logger)
            do {
                try await candidate.connect()
            } catch {
                await candidate.disconnect()
                throw error
            }
            client.withLock { $0 = candidate }
            logger.info("sink connection established")
            return candidate
        }
    }

    var isConnected: Bool { client.withLock { $0?.isConnected ?? false } }

    func send(
        topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool,
        onComplete: @escaping @Sendable (Result<Void, MQTTError>) -> Void
    ) throws(MQTTError) {
        guard let client = client.withLock({ $0 }) else {
            throw MQTTError(code: .noConnection, message: "not connected to broker '\(broker)' yet")
        }
        try client.send(topic: topic, payload: payload, qos: qos, retain: retain, onComplete: onComplete)
    }
}
