/// MQTT quality of service.
public enum MQTTQoS: Int32, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// QoS 0: fire and forget.
    case atMostOnce = 0
    /// QoS 1: acknowledged with PUBACK; duplicates possible.
    case atLeastOnce = 1
    /// QoS 2: four-way handshake (PUBREC/PUBREL/PUBCOMP).
    case exactlyOnce = 2

    public static func < (lhs: MQTTQoS, rhs: MQTTQoS) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "QoS \(rawValue)" }
}

/// The MQTT protocol version spoken on the connection.
public enum MQTTProtocolVersion: Sendable, Hashable, CustomStringConvertible {
    /// MQTT 3.1.1 (protocol level 4).
    case v311
    /// MQTT 5.0.
    case v5

    public var description: String {
        switch self {
        case .v311: "MQTT 3.1.1"
        case .v5: "MQTT 5"
        }
    }
}
