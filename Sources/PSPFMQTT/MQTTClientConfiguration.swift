/// Everything ``MQTTClient`` needs to connect. Every option is documented once, in `docs/mqtt.md`.
///
/// ```swift
/// var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: 1883)
/// configuration.clientID = "pspf-gw-01"
/// configuration.cleanSession = false                  // persistent session: the broker queues while we are away
/// configuration.credentials = .file("/etc/pspf/mqtt-credentials")
/// configuration.status = MQTTGatewayStatus(topic: "pspf/gw-01/status")
/// ```
public struct MQTTClientConfiguration: Sendable {
    /// Broker host name or address.
    public var host: String
    /// Broker port (1883 plain, 8883 TLS by convention).
    public var port: Int
    /// The client identifier. Required, and must be stable, for a persistent session.
    public var clientID: String?
    /// MQTT 3.1.1 or 5.
    public var protocolVersion: MQTTProtocolVersion = .v5
    /// Keepalive interval; `.zero` disables keepalive. libmosquitto requires 5 s … 65535 s otherwise.
    public var keepalive: Duration = .seconds(30)
    /// `true`: the broker discards the session at connect (and, for MQTT 5, at disconnect).
    /// `false`: persistent session: subscriptions and QoS 1/2 messages are kept while the client is away.
    public var cleanSession: Bool = true
    /// MQTT 5 session expiry for a persistent session; `nil` means "never expires"
    /// (0xFFFFFFFF). Ignored for MQTT 3.1.1 and clean sessions.
    public var sessionExpiry: Duration?
    /// Username and password source; `nil` connects anonymously.
    public var credentials: MQTTCredentials?
    /// TLS settings; `nil` connects in plain TCP.
    public var tls: MQTTTLSConfiguration?
    /// A retained birth message and a Last Will on a gateway status topic.
    public var status: MQTTGatewayStatus?
    /// Reconnect backoff and connect timeout.
    public var reconnect: MQTTReconnectPolicy = MQTTReconnectPolicy()
    /// The bounded in-flight window: at most this many publishes may await their
    /// acknowledgement (QoS 1/2) or their write (QoS 0). Further async publishes wait for a
    /// slot; callback publishes fail with ``MQTTError/Code/inflightWindowFull``.
    public var maxInflightPublishes: Int = 256
    /// MQTT 5 receive maximum: the broker sends at most this many unacknowledged QoS 1/2
    /// messages. `nil` leaves libmosquitto's default (65535). For MQTT 3.1.1 the broker's
    /// `max_inflight_messages` plays this role.
    public var receiveMaximum: Int?
    /// The largest batch delivered between two ``MQTTMessageHandler/readPhaseEnded()`` calls.
    public var maxMessagesPerReadPhase: Int = 1024
    /// Local address to bind the outgoing connection to.
    public var bindAddress: String?
    /// Disable Nagle's algorithm (lower latency for small acknowledgements).
    public var tcpNoDelay: Bool = true

    public init(host: String, port: Int = 1883) {
        self.host = host
        self.port = port
    }

    /// Checks the settings libmosquitto would reject, with a message that says how to fix them.
    public func validate() throws(MQTTError) {
        func invalid(_ message: String) -> MQTTError { MQTTError(code: .invalidConfiguration, message: message) }
        guard !host.isEmpty else { throw invalid("host is empty") }
        guard (1...65535).contains(port) else { throw invalid("port \(port) is outside 1...65535") }
        let keepaliveSeconds = keepalive.components.seconds
        if keepalive != .zero {
            guard keepalive.components.attoseconds == 0, (5...65535).contains(keepaliveSeconds) else {
                throw invalid("keepalive must be 0 (off) or a whole number of seconds in 5...65535 (libmosquitto's limit), got \(keepalive)")
            }
        }
        if !cleanSession {
            guard let clientID, !clientID.isEmpty else {
                throw invalid("a persistent session (cleanSession = false) needs a stable clientID")
            }
        }
        if let clientID, clientID.utf8.count > 65535 { throw invalid("clientID is too long") }
        if let sessionExpiry, sessionExpiry < .zero { throw invalid("sessionExpiry must not be negative") }
        guard maxInflightPublishes >= 1 else { throw invalid("maxInflightPublishes must be at least 1") }
        if let receiveMaximum, !(1...65535).contains(receiveMaximum) {
            throw invalid("receiveMaximum must be in 1...65535")
        }
        if receiveMaximum != nil, protocolVersion != .v5 {
            throw invalid("receiveMaximum is an MQTT 5 option; for MQTT 3.1.1 set max_inflight_messages on the broker")
        }
        guard maxMessagesPerReadPhase >= 1 else { throw invalid("maxMessagesPerReadPhase must be at least 1") }
        try reconnect.validate()
        try tls?.validate()
        try status?.validate()
    }

    /// The keepalive in whole seconds, as libmosquitto takes it.
    var keepaliveSeconds: Int32 { Int32(keepalive.components.seconds) }

    /// The MQTT 5 session expiry interval to send in CONNECT, if any.
    var sessionExpirySeconds: UInt32? {
        guard protocolVersion == .v5, !cleanSession else { return nil }
        guard let sessionExpiry else { return UInt32.max }
        return UInt32(clamping: sessionExpiry.components.seconds)
    }
}

extension MQTTClientConfiguration: CustomStringConvertible {
    /// A summary safe to log: credentials are described by their source only.
    public var description: String {
        var parts = [
            "host: \(host)", "port: \(port)", "protocol: \(protocolVersion)",
            "clientID: \(clientID ?? "<broker-assigned>")", "cleanSession: \(cleanSession)",
            "keepalive: \(keepalive)",
        ]
        if let credentials { parts.append("credentials: \(credentials)") }
        if let tls { parts.append("tls: \(tls)") }
        if let status { parts.append("status: \(status.topic)") }
        return "MQTTClientConfiguration(\(parts.joined(separator: ", ")))"
    }
}

/// TLS settings, applied with `mosquitto_tls_set`, `mosquitto_tls_opts_set` and
/// `mosquitto_tls_insecure_set`. Peer verification is on by default.
public struct MQTTTLSConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Minimum TLS version accepted.
    public enum Version: String, Sendable, Hashable {
        case v1_2 = "tlsv1.2"
        case v1_3 = "tlsv1.3"
    }

    /// PEM file with the CA certificate(s) that signed the broker's certificate.
    public var caFile: String?
    /// Directory of hashed CA certificates (`openssl rehash`).
    public var caPath: String?
    /// Trust the operating system's CA store (used when neither `caFile` nor `caPath` is set).
    public var useSystemTrustStore: Bool = false
    /// PEM client certificate, for brokers that require one (`require_certificate true`).
    public var certificateFile: String?
    /// PEM private key of the client certificate (unencrypted).
    public var keyFile: String?
    /// Verify the broker's certificate chain. Turn off only for experiments.
    public var verifyPeer: Bool = true
    /// Check that the broker's certificate names `host` (SAN DNS name or IP address).
    public var verifyHostname: Bool = true
    /// Minimum TLS version.
    public var minimumVersion: Version = .v1_2
    /// OpenSSL cipher list (TLS 1.2), or `nil` for OpenSSL's defaults.
    public var ciphers: String?

    public init(
        caFile: String? = nil, caPath: String? = nil, certificateFile: String? = nil, keyFile: String? = nil
    ) {
        self.caFile = caFile
        self.caPath = caPath
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    func validate() throws(MQTTError) {
        func invalid(_ message: String) -> MQTTError { MQTTError(code: .invalidConfiguration, message: "tls: " + message) }
        if caFile == nil, caPath == nil, !useSystemTrustStore {
            throw invalid("set caFile, caPath or useSystemTrustStore so the broker's certificate can be verified")
        }
        if (certificateFile == nil) != (keyFile == nil) {
            throw invalid("certificateFile and keyFile go together")
        }
        if certificateFile != nil, caFile == nil, caPath == nil {
            throw invalid("a client certificate needs caFile or caPath (libmosquitto's mosquitto_tls_set requires one)")
        }
    }

    public var description: String {
        var parts: [String] = []
        if let caFile { parts.append("caFile: \(caFile)") }
        if let caPath { parts.append("caPath: \(caPath)") }
        if useSystemTrustStore { parts.append("system trust store") }
        if let certificateFile { parts.append("certificate: \(certificateFile)") }
        parts.append("verifyPeer: \(verifyPeer)")
        parts.append("verifyHostname: \(verifyHostname)")
        parts.append("minimum: \(minimumVersion.rawValue)")
        return "TLS(\(parts.joined(separator: ", ")))"
    }
}

/// A gateway status topic: the client sets a retained Last Will (`offlinePayload`) before
/// connecting, publishes a retained birth message (`onlinePayload`) after every successful
/// connect, and publishes `offlinePayload` itself on a graceful ``MQTTClient/disconnect()``
/// (the broker sends the Will only when the connection drops without DISCONNECT).
public struct MQTTGatewayStatus: Sendable, Hashable {
    public var topic: String
    public var onlinePayload: [UInt8]
    public var offlinePayload: [UInt8]
    public var qos: MQTTQoS

    public init(
        topic: String, onlinePayload: [UInt8] = Array("online".utf8),
        offlinePayload: [UInt8] = Array("offline".utf8), qos: MQTTQoS = .atLeastOnce
    ) {
        self.topic = topic
        self.onlinePayload = onlinePayload
        self.offlinePayload = offlinePayload
        self.qos = qos
    }

    func validate() throws(MQTTError) {
        guard !topic.isEmpty, !topic.contains("+"), !topic.contains("#") else {
            throw MQTTError(code: .invalidConfiguration, message: "status topic '\(topic)' must be a concrete topic without wildcards")
        }
    }
}

/// Reconnect behaviour: exponential backoff with jitter between attempts, a bound on each
/// attempt, and when the attempt counter resets.
public struct MQTTReconnectPolicy: Sendable, Hashable {
    /// The delay before the first retry.
    public var initialDelay: Duration = .milliseconds(500)
    /// The cap on the delay.
    public var maximumDelay: Duration = .seconds(30)
    /// Growth factor per consecutive failure.
    public var multiplier: Double = 2
    /// Fraction of each delay that is randomised: the delay is drawn uniformly from
    /// `[d × (1 − jitter), d]`. Spreads a fleet's reconnects after a broker restart.
    public var jitter: Double = 0.5
    /// An attempt (TCP, TLS, CONNECT/CONNACK) that takes longer than this fails with
    /// ``MQTTError/Code/timeout``.
    public var connectTimeout: Duration = .seconds(10)
    /// A connection that lasted at least this long resets the backoff; a connection that
    /// drops sooner (flapping) keeps escalating.
    public var stableConnectionThreshold: Duration = .seconds(10)

    public init() {}

    public init(
        initialDelay: Duration, maximumDelay: Duration, multiplier: Double = 2, jitter: Double = 0.5,
        connectTimeout: Duration = .seconds(10), stableConnectionThreshold: Duration = .seconds(10)
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
        self.jitter = jitter
        self.connectTimeout = connectTimeout
        self.stableConnectionThreshold = stableConnectionThreshold
    }

    func validate() throws(MQTTError) {
        func invalid(_ message: String) -> MQTTError { MQTTError(code: .invalidConfiguration, message: "reconnect: " + message) }
        guard initialDelay >= .zero, maximumDelay >= initialDelay else {
            throw invalid("need 0 <= initialDelay <= maximumDelay")
        }
        guard multiplier >= 1 else { throw invalid("multiplier must be >= 1") }
        guard (0...1).contains(jitter) else { throw invalid("jitter must be in 0...1") }
        guard connectTimeout > .zero else { throw invalid("connectTimeout must be positive") }
    }
}
