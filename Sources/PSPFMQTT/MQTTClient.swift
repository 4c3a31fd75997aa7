import Logging
import Synchronization

/// A robust MQTT 3.1.1 / 5 client over libmosquitto: TLS, credentials from the environment or a
/// file, persistent sessions, Last Will and birth message, reconnect with exponential backoff
/// and jitter (subscriptions restored), publishes that complete on the broker's
/// acknowledgement within a bounded in-flight window, and a message seam
/// (``MQTTMessageHandler``) that lets a durable consumer acknowledge only what it has stored.
///
/// All network work runs on one dedicated thread per client (not Swift's cooperative pool).
/// Every method here is thread-safe and returns quickly.
///
/// ```swift
/// var configuration = MQTTClientConfiguration(host: "127.0.0.1")
/// configuration.clientID = "pspf-gw-01"
/// configuration.cleanSession = false
/// try await withMQTTClient(configuration: configuration, handler: ingest) { client in
///     _ = try await client.subscribe([MQTTSubscription("sensors/+/reading", qos: .atLeastOnce)])
///     try await client.publish(topic: "pspf/hello", payload: Array("hi".utf8), qos: .atLeastOnce)
/// }
/// ```
public final class MQTTClient: Sendable {
    public let configuration: MQTTClientConfiguration
    let core: ClientCore

    /// Creates a client (no connection yet). Throws ``MQTTError/Code/invalidConfiguration`` or a
    /// libmosquitto error for settings it rejects (e.g. an unreadable CA file).
    ///
    /// - Parameters:
    ///   - handler: receives messages on the network thread; `nil` for a publish-only client.
    ///   - logger: the library logs lifecycle changes (info), connection losses (warning) and, at
    ///     debug/trace, libmosquitto's own log. Credentials are never logged.
    public init(
        configuration: MQTTClientConfiguration, handler: (any MQTTMessageHandler)? = nil,
        logger: Logger = Logger(label: "pspf.mqtt")
    ) throws {
        self.configuration = configuration
        self.core = try ClientCore(configuration: configuration, handler: handler, logger: logger)
    }

    deinit {
        core.requestStop()
    }

    /// Starts the network thread and waits for the first CONNACK. Throws the first attempt's
    /// error (connection refused, TLS, bad credentials, timeout...); after a successful first
    /// connect, later losses are retried in the background with backoff (see ``events``).
    /// A client connects once; after ``disconnect()`` create a new one.
    public func connect() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                core.start(waiter: continuation)
            }
        } onCancel: {
            core.requestStop()
        }
    }

    /// Disconnects gracefully (the offline status message, then DISCONNECT, after everything
    /// already queued) and waits for the network thread to end. Publishes still awaiting an
    /// acknowledgement fail with ``MQTTError/Code/closed``: await your publishes first if you
    /// need them confirmed.
    public func disconnect() async {
        core.requestStop()
        await core.waitUntilClosed()
    }

    /// Whether a CONNACK accepted the current connection.
    public var isConnected: Bool { core.isConnected }

    /// Connection lifecycle events (one consumer; the newest 256 are buffered).
    public var events: AsyncStream<MQTTClientEvent> { core.events }

    /// Backpressure: while `true` the network loop stops reading messages, so they wait at the
    /// broker (TCP flow control, the broker's in-flight limit for QoS 1/2, its queue for a
    /// persistent session). Writes, keepalive and publishes continue. To keep the connection
    /// alive, the loop still drains the socket once every keepalive/2 (see `docs/mqtt.md`), so
    /// a handler can receive a bounded number of messages while paused.
    public var readingPaused: Bool {
        get { core.readingPaused.load(ordering: .acquiring) }
        set { core.setPaused(newValue) }
    }

    /// The number of publishes holding a slot of the in-flight window.
    public var inflightPublishes: Int { core.inflightCount }

    // MARK: subscriptions

    /// Subscribes and waits for the SUBACK. The subscriptions are remembered and restored after
    /// every reconnect; if the client is not connected, the request completes after the next
    /// connect. Returns the granted QoS per subscription, in order.
    /// Throws ``MQTTError/Code/subscriptionRejected`` if the broker refuses one.
    @discardableResult
    public func subscribe(_ subscriptions: [MQTTSubscription]) async throws -> [MQTTQoS] {
        guard !subscriptions.isEmpty else { return [] }
        for subscription in subscriptions { try subscription.validate() }
        let codes = try await filterRequest(.subscribe(subscriptions))
        return codes.map { MQTTQoS(rawValue: $0) ?? .atMostOnce }
    }

    /// Unsubscribes and waits for the UNSUBACK (after the next connect, if not connected).
    public func unsubscribe(_ topicFilters: [String]) async throws {
        guard !topicFilters.isEmpty else { return }
        _ = try await filterRequest(.unsubscribe(topicFilters))
    }

    private func filterRequest(_ kind: FilterRequest.Kind) async throws -> [Int32] {
        let box = Mutex<Completion<[Int32]>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Int32], any Error>) in
                let completion = Completion<[Int32]>(.continuation(continuation))
                box.withLock { $0 = completion }
                core.enqueue(FilterRequest(kind: kind, completion: completion))
            }
        } onCancel: {
            box.withLock { $0 }?.cancel()
        }
    }

    // MARK: publish

    /// Publishes and returns when the broker acknowledged: PUBACK for QoS 1, PUBCOMP for QoS 2,
    /// the packet written to the socket for QoS 0. Waits first for a slot of the in-flight
    /// window (``MQTTClientConfiguration/maxInflightPublishes``).
    ///
    /// QoS 1/2 publishes survive reconnects: libmosquitto resends them after the next CONNACK
    /// and this call returns when they are acknowledged. QoS 0 fails with
    /// ``MQTTError/Code/noConnection`` when not connected.
    public func publish(
        topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false,
        properties: MQTTPublishProperties? = nil
    ) async throws {
        try await core.acquireSlot()
        if Task.isCancelled {
            core.releaseSlot()
            throw CancellationError()
        }
        let box = Mutex<Completion<Void>?>(nil)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let completion = Completion<Void>(.continuation(continuation))
                box.withLock { $0 = completion }
                core.enqueue(
                    OutgoingPublish(
                        topic: topic, payload: payload, qos: qos, retain: retain, properties: properties,
                        completion: completion, countsAgainstWindow: true))
            }
        } onCancel: {
            // The message may still be delivered; its slot is released when the broker acknowledges it.
            box.withLock { $0 }?.cancel()
        }
    }

    /// Publishes without waiting: `onComplete` is called exactly once, on the network thread,
    /// when the broker acknowledged (or the publish failed). Keep it short and non-blocking.
    /// Throws ``MQTTError/Code/inflightWindowFull`` at once when the in-flight window is full
    /// (retry after a completion), ``MQTTError/Code/closed`` when the client is closed.
    public func publish(
        topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false,
        properties: MQTTPublishProperties? = nil,
        onComplete: @escaping @Sendable (Result<Void, MQTTError>) -> Void
    ) throws(MQTTError) {
        guard core.tryAcquireSlot() else {
            if core.shared.withLock({ $0.lifecycle == .closed }) {
                throw MQTTError(code: .closed, message: "the client is closed")
            }
            throw MQTTError(
                code: .inflightWindowFull,
                message: "\(configuration.maxInflightPublishes) publishes are awaiting acknowledgement")
        }
        core.enqueue(
            OutgoingPublish(
                topic: topic, payload: payload, qos: qos, retain: retain, properties: properties,
                completion: Completion(.callback(onComplete)), countsAgainstWindow: true))
    }

    /// Like ``publish(topic:payload:qos:retain:properties:onComplete:)`` for a payload view
    /// (copied before this returns), e.g. a record read from a log segment.
    public func publish(
        topic: String, payload: UnsafeRawBufferPointer, qos: MQTTQoS = .atLeastOnce, retain: Bool = false,
        properties: MQTTPublishProperties? = nil,
        onComplete: @escaping @Sendable (Result<Void, MQTTError>) -> Void
    ) throws(MQTTError) {
        try publish(
            topic: topic, payload: Array(payload), qos: qos, retain: retain, properties: properties,
            onComplete: onComplete)
    }
}

/// Runs `body` with a connected client and disconnects it afterwards, also when `body` throws.
///
/// ```swift
/// try await withMQTTClient(configuration: configuration) { client in
///     try await client.publish(topic: "a/b", payload: Array("x".utf8))
/// }
/// ```
public func withMQTTClient<Result>(
    configuration: MQTTClientConfiguration, handler: (any MQTTMessageHandler)? = nil,
    logger: Logger = Logger(label: "pspf.mqtt"), _ body: (MQTTClient) async throws -> Result
) async throws -> Result {
    let client = try MQTTClient(configuration: configuration, handler: handler, logger: logger)
    do {
        try await client.connect()
        let result = try await body(client)
        await client.disconnect()
        return result
    } catch {
        await client.disconnect()
        throw error
    }
}
