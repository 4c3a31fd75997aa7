import CMosquitto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-owning view of one received message. Its buffers are valid only during the
/// ``MQTTMessageHandler/received(_:)`` call it is passed to: copy what you keep (append it to a
/// log, or make an ``MQTTMessage``).
public struct MQTTMessageView {
    /// The topic, UTF-8, without a terminator.
    public let topic: UnsafeRawBufferPointer
    /// The payload bytes exactly as received.
    public let payload: UnsafeRawBufferPointer
    /// The QoS the broker delivered with.
    public let qos: MQTTQoS
    /// Set when the broker delivered a retained message (on subscribe).
    public let retain: Bool
    /// The packet identifier (0 for QoS 0). Not unique over time: identifiers are reused.
    public let messageID: UInt16
    /// MQTT 5 properties (empty for MQTT 3.1.1).
    public let properties: MQTTPropertiesView

    /// The topic as a `String` (copies).
    public var topicString: String { String(decoding: topic, as: UTF8.self) }

    init(_ message: UnsafePointer<mosquitto_message>, properties: OpaquePointer?) {
        let m = message.pointee
        if let topic = m.topic {
            self.topic = UnsafeRawBufferPointer(start: topic, count: strlen(topic))
        } else {
            self.topic = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        self.payload = UnsafeRawBufferPointer(start: m.payload, count: Int(max(0, m.payloadlen)))
        self.qos = MQTTQoS(rawValue: m.qos) ?? .atMostOnce
        self.retain = m.retain
        self.messageID = UInt16(truncatingIfNeeded: m.mid)
        self.properties = MQTTPropertiesView(raw: properties)
    }
}

/// Read access to the MQTT 5 properties of a received message, valid like the
/// ``MQTTMessageView`` it came with. Each accessor walks the (short) property list and copies.
public struct MQTTPropertiesView {
    let raw: OpaquePointer?

    public var isEmpty: Bool { raw == nil }

    /// Content Type (e.g. `application/json`).
    public var contentType: String? { string(MQTT_PROP_CONTENT_TYPE) }
    /// Response Topic.
    public var responseTopic: String? { string(MQTT_PROP_RESPONSE_TOPIC) }
    /// Correlation Data.
    public var correlationData: [UInt8]? {
        guard let raw else { return nil }
        var value: UnsafeMutableRawPointer?
        var length: UInt16 = 0
        guard mosquitto_property_read_binary(raw, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &value, &length, false) != nil
        else { return nil }
        defer { free(value) }
        guard let value else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: Int(length)))
    }
    /// Message Expiry Interval in seconds (what remains of it, as forwarded by the broker).
    public var messageExpiryInterval: UInt32? {
        guard let raw else { return nil }
        var value: UInt32 = 0
        guard mosquitto_property_read_int32(raw, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), &value, false) != nil
        else { return nil }
        return value
    }
    /// Payload Format Indicator: 1 means the payload is UTF-8 text.
    public var payloadFormatIndicator: UInt8? {
        guard let raw else { return nil }
        var value: UInt8 = 0
        guard mosquitto_property_read_byte(raw, Int32(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR.rawValue), &value, false) != nil
        else { return nil }
        return value
    }
    /// User Properties, in order.
    public var userProperties: [(name: String, value: String)] {
        guard let raw else { return [] }
        var result: [(name: String, value: String)] = []
        var skipFirst = false
        var cursor: OpaquePointer? = raw
        while let list = cursor {
            var name: UnsafeMutablePointer<CChar>?
            var value: UnsafeMutablePointer<CChar>?
            guard let found = mosquitto_property_read_string_pair(
                list, Int32(MQTT_PROP_USER_PROPERTY.rawValue), &name, &value, skipFirst)
            else { break }
            result.append((name.map { String(cString: $0) } ?? "", value.map { String(cString: $0) } ?? ""))
            free(name)
            free(value)
            cursor = found
            skipFirst = true
        }
        return result
    }

    private func string(_ identifier: mqtt5_property) -> String? {
        guard let raw else { return nil }
        var value: UnsafeMutablePointer<CChar>?
        guard mosquitto_property_read_string(raw, Int32(identifier.rawValue), &value, false) != nil else { return nil }
        defer { free(value) }
        return value.map { String(cString: $0) }
    }
}

/// An owned copy of a received message, for consumers that keep messages beyond the callback.
public struct MQTTMessage: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    public var retain: Bool
    public var messageID: UInt16

    public init(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool, messageID: UInt16 = 0) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.messageID = messageID
    }

    /// Copies a view.
    public init(_ view: MQTTMessageView) {
        self.init(
            topic: view.topicString, payload: Array(view.payload), qos: view.qos, retain: view.retain,
            messageID: view.messageID)
    }
}
