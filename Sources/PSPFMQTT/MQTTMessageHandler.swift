/// Receives messages on the client's network thread: the seam the durable ingest source plugs into.
///
/// The network loop runs in rounds: a **read phase** (`mosquitto_loop_read` until the socket
/// would block, or ``MQTTClientConfiguration/maxMessagesPerReadPhase`` messages), then
/// ``readPhaseEnded()`` if the phase delivered at least one message, then a **write phase**
/// (`mosquitto_loop_write`). libmosquitto (with `mosquitto_threaded_set(true)`, which the client
/// sets) only *queues* the QoS 1 PUBACK and the QoS 2 PUBCOMP while handling a packet; they are
/// written in the write phase. So a source that appends each message in ``received(_:)`` and
/// fsyncs once in ``readPhaseEnded()`` acknowledges a batch only after it is durable (group
/// commit). See `docs/mqtt.md` for the exact timing and the remaining window.
///
/// Both methods run on the network thread, never concurrently with each other. They must not
/// block for long (an fsync is fine; waiting on the cooperative pool or an actor is not), and
/// must not call ``MQTTClient/disconnect()`` synchronously.
///
/// ```swift
/// final class IngestSource: MQTTMessageHandler {
///     func received(_ message: MQTTMessageView) { log.append(topic: message.topic, payload: message.payload) }
///     func readPhaseEnded() throws { try log.sync() }      // PUBACKs leave after this returns
/// }
/// ```
public protocol MQTTMessageHandler: Sendable {
    /// One message. The view's buffers are valid only during this call.
    func received(_ message: MQTTMessageView)

    /// Called after a read phase that delivered at least one message, before any
    /// acknowledgement of those messages is written. Throwing drops the connection without
    /// writing the queued acknowledgements, so the broker redelivers the batch (QoS ≥ 1,
    /// persistent session) after the client reconnects.
    func readPhaseEnded() throws
}

extension MQTTMessageHandler {
    public func readPhaseEnded() throws {}
}

/// Lifecycle events of a client, delivered through ``MQTTClient/events``.
public enum MQTTClientEvent: Sendable, CustomStringConvertible {
    /// A CONNACK accepted the connection. `sessionPresent`: the broker resumed a stored session.
    case connected(sessionPresent: Bool)
    /// The connection dropped (or the attempt failed); the client will retry.
    case connectionLost(MQTTError)
    /// The next attempt (1-based count of consecutive failures) starts after `delay`.
    case reconnectScheduled(attempt: Int, delay: Duration)
    /// The broker rejected a subscription; it is removed and not restored on reconnect.
    case subscriptionRejected(topicFilter: String, reasonCode: Int)
    /// The client stopped (after ``MQTTClient/disconnect()``, or a failed initial connect).
    case closed

    public var description: String {
        switch self {
        case .connected(let sessionPresent): "connected(sessionPresent: \(sessionPresent))"
        case .connectionLost(let error): "connectionLost(\(error))"
        case .reconnectScheduled(let attempt, let delay): "reconnectScheduled(attempt: \(attempt), delay: \(delay))"
        case .subscriptionRejected(let filter, let reason): "subscriptionRejected(\(filter), reason: \(reason))"
        case .closed: "closed"
        }
    }
}

/// MQTT 5 properties for an outgoing PUBLISH (publishing with properties over MQTT 3.1.1 fails with ``MQTTError/Code/notSupported``).
public struct MQTTPublishProperties: Sendable, Hashable {
    public var contentType: String?
    public var responseTopic: String?
    public var correlationData: [UInt8]?
    public var messageExpiryInterval: UInt32?
    public var payloadFormatIndicator: UInt8?
    public var userProperties: [MQTTUserProperty] = []

    public init(
        contentType: String? = nil, responseTopic: String? = nil, correlationData: [UInt8]? = nil,
        messageExpiryInterval: UInt32? = nil, payloadFormatIndicator: UInt8? = nil,
        userProperties: [MQTTUserProperty] = []
    ) {
        self.contentType = contentType
        self.responseTopic = responseTopic
        self.correlationData = correlationData
        self.messageExpiryInterval = messageExpiryInterval
        self.payloadFormatIndicator = payloadFormatIndicator
        self.userProperties = userProperties
    }
}

/// An MQTT 5 User Property (name/value pair).
public struct MQTTUserProperty: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
