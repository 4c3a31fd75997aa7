/// `brokers.<name>`: one MQTT broker connection (used by sources and MQTT sinks).
public struct BrokerConfig: Sendable, Hashable {
    public enum ProtocolVersion: String, Sendable, Hashable {
        case v311 = "3.1.1"
        case v5 = "5"
    }

    public var name: String
    /// `host` (required).
    public var host: String
    /// `port`, default 1883, or 8883 with `tls`.
    public var port: Int
    /// `protocol`: `3.1.1` or `5` (default).
    public var protocolVersion: ProtocolVersion = .v5
    /// `client_id`, default `pspf-<host name>`. Must be stable for a persistent session.
    public var clientID: String
    /// `clean_session`, default false: a persistent session, so the broker keeps QoS 1
    /// messages while the daemon is down.
    public var cleanSession = false
    /// `keepalive`, default 30 s; `0` disables it.
    public var keepalive: Duration = .seconds(30)
    /// `session_expiry` (MQTT 5, persistent sessions): how long the broker keeps the session
    /// after a disconnect; `nil` = never expires.
    public var sessionExpiry: Duration?
    /// `tls`: present means TLS.
    public var tls: TLSConfig?
    /// `username`.
    public var username: String?
    /// `password` or `password_file`.
    public var password: Secret?
    /// `status`: Last Will and birth message.
    public var status: BrokerStatusConfig?
    /// `reconnect`: backoff between reconnection attempts.
    public var reconnect = ReconnectConfig()

    public init(name: String, host: String, port: Int = 1883, clientID: String) {
        self.name = name
        self.host = host
        self.port = port
        self.clientID = clientID
    }
}

/// `brokers.<name>.tls`.
public struct TLSConfig: Sendable, Hashable {
    public enum Version: String, Sendable, Hashable {
        case v1_2 = "1.2"
        case v1_3 = "1.3"
    }
    /// `ca_file`: PEM file of trusted CA certificates.
    public var caFile: String?
    /// `ca_path`: directory of hashed CA certificates.
    public var caPath: String?
    /// `system_ca`: trust the operating system's CA store. Default false.
    public var systemCA = false
    /// `cert_file`: client certificate (PEM), with `key_file`.
    public var certFile: String?
    /// `key_file`: the client certificate's unencrypted PEM key.
    public var keyFile: String?
    /// `verify`: verify the broker's certificate chain. Default true.
    public var verifyPeer = true
    /// `verify_hostname`: the certificate must name `host`. Default true.
    public var verifyHostname = true
    /// `min_version`: `1.2` (default) or `1.3`.
    public var minVersion: Version = .v1_2
    /// `ciphers`: OpenSSL cipher list (TLS 1.2), default the library's.
    public var ciphers: String?

    public init() {}
}

/// `brokers.<name>.status`: retained `online` after every connect, Last Will `offline`.
public struct BrokerStatusConfig: Sendable, Hashable {
    /// `topic` (required).
    public var topic: String
    /// `online`, default `online`.
    public var online = "online"
    /// `offline`, default `offline`.
    public var offline = "offline"
    /// `qos`, default 1.
    public var qos = 1

    public init(topic: String) { self.topic = topic }
}

/// `brokers.<name>.reconnect`: exponential backoff with jitter.
public struct ReconnectConfig: Sendable, Hashable {
    /// `initial`, default 500 ms.
    public var initialDelay: Duration = .milliseconds(500)
    /// `max`, default 30 s.
    public var maxDelay: Duration = .seconds(30)
    public init() {}
}
