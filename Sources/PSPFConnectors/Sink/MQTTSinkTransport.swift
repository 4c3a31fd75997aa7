import PSPFMQTT

/// What the MQTT sink needs from a client: a non-blocking publish with a completion. The
/// ``MQTTClient`` conforms; tests substitute a transport that holds acknowledgements back.
public protocol MQTTSinkTransport: Sendable {
    /// Hands a publish to the client without waiting. `onComplete` is called exactly once: on
    /// PUBACK (QoS 1) / PUBCOMP (QoS 2) / the write (QoS 0), or with the failure.
    ///
    /// - Throws: ``MQTTError/Code/inflightWindowFull`` when the client cannot take it now,
    ///   ``MQTTError/Code/closed`` when it never will.
    func send(
        topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool,
        onComplete: @escaping @Sendable (Result<Void, MQTTError>) -> Void
    ) throws(MQTTError)
}

extension MQTTClient: MQTTSinkTransport {
    public func send(
        topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool,
        onComplete: @escaping @Sendable (Result<Void, MQTTError>) -> Void
    ) throws(MQTTError) {
        try publish(topic: topic, payload: payload, qos: qos, retain: retain, properties: nil, onComplete: onComplete)
    }
}
