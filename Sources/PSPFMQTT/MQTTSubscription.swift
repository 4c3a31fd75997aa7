import CMosquitto

/// One topic filter to subscribe to, with its maximum QoS and (MQTT 5) subscription options.
///
/// ```swift
/// try await client.subscribe([
///     MQTTSubscription("sensors/+/reading", qos: .atLeastOnce),
///     .shared(group: "ingest", filter: "gateways/#", qos: .atLeastOnce),   // $share/ingest/gateways/#
/// ])
/// ```
public struct MQTTSubscription: Sendable, Hashable, CustomStringConvertible {
    /// MQTT 5 retain handling: when the broker sends retained messages for this subscription.
    public enum RetainHandling: Int32, Sendable, Hashable {
        /// Send retained messages on every SUBSCRIBE (MQTT 3.1.1 behaviour).
        case sendOnSubscribe = 0
        /// Send retained messages only when the subscription did not exist yet.
        case sendOnNewSubscription = 1
        /// Never send retained messages.
        case doNotSend = 2
    }

    /// The topic filter as sent to the broker (for a shared subscription, `$share/GROUP/filter`).
    public var topicFilter: String
    /// The maximum QoS the broker should deliver with.
    public var qos: MQTTQoS
    /// MQTT 5: do not receive messages this client published itself. Not allowed on shared subscriptions.
    public var noLocal: Bool
    /// MQTT 5: keep the retain flag of forwarded messages as published.
    public var retainAsPublished: Bool
    /// MQTT 5: retained message handling.
    public var retainHandling: RetainHandling

    public init(
        _ topicFilter: String, qos: MQTTQoS = .atLeastOnce, noLocal: Bool = false,
        retainAsPublished: Bool = false, retainHandling: RetainHandling = .sendOnSubscribe
    ) {
        self.topicFilter = topicFilter
        self.qos = qos
        self.noLocal = noLocal
        self.retainAsPublished = retainAsPublished
        self.retainHandling = retainHandling
    }

    /// A shared subscription (`$share/GROUP/filter`): the broker delivers each matching message
    /// to one member of the group, spreading load across the clients that share it.
    public static func shared(group: String, filter: String, qos: MQTTQoS = .atLeastOnce) -> MQTTSubscription {
        MQTTSubscription("$share/\(group)/\(filter)", qos: qos)
    }

    /// The share group name when this is a shared subscription.
    public var shareGroup: String? {
        guard topicFilter.hasPrefix("$share/") else { return nil }
        let rest = topicFilter.dropFirst("$share/".count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        return String(rest[..<slash])
    }

    /// The MQTT 5 subscription options byte (without the QoS bits).
    var optionsBits: Int32 {
        var bits: Int32 = 0
        if noLocal { bits |= Int32(MQTT_SUB_OPT_NO_LOCAL.rawValue) }
        if retainAsPublished { bits |= Int32(MQTT_SUB_OPT_RETAIN_AS_PUBLISHED.rawValue) }
        bits |= retainHandling.rawValue << 4
        return bits
    }

    /// Checks the filter with libmosquitto's rules.
    func validate() throws(MQTTError) {
        let rc = mosquitto_sub_topic_check(topicFilter)
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError(code: .invalidArgument, message: "invalid topic filter '\(topicFilter)'")
        }
        if shareGroup != nil, noLocal {
            throw MQTTError(code: .invalidArgument, message: "noLocal is not allowed on shared subscription '\(topicFilter)'")
        }
    }

    public var description: String { "\(topicFilter) (\(qos))" }
}
