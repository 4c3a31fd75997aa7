import PSPFConfig
import PSPFMQTT

extension BrokerConfig {
    /// The MQTT client configuration for this broker. The password goes into the client as a
    /// literal credential, whose every textual form is redacted.
    func clientConfiguration(clientIDSuffix: String? = nil) -> MQTTClientConfiguration {
        var configuration = MQTTClientConfiguration(host: host, port: port)
        configuration.clientID = clientIDSuffix.map { clientID + "-" + $0 } ?? clientID
        configuration.protocolVersion = protocolVersion == .v5 ? .v5 : .v311
        configuration.cleanSession = cleanSession
        configuration.keepalive = keepalive
        configuration.sessionExpiry = sessionExpiry
        if let username {
            configuration.credentials = .literal(username: username, password: password?.reveal() ?? "")
        }
        if let tls {
            var client = MQTTTLSConfiguration(
                caFile: tls.caFile, caPath: tls.caPath, certificateFile: tls.certFile, keyFile: tls.keyFile)
            client.useSystemTrustStore = tls.systemCA
            client.verifyPeer = tls.verifyPeer
            client.verifyHostname = tls.verifyHostname
            client.minimumVersion = tls.minVersion == .v1_3 ? .v1_3 : .v1_2
            client.ciphers = tls.ciphers
            configuration.tls = client
        }
        if let status {
            configuration.status = MQTTGatewayStatus(
                topic: status.topic, onlinePayload: Array(status.online.utf8), offlinePayload: Array(status.offline.utf8),
                qos: MQTTQoS(rawValue: Int32(status.qos)) ?? .atLeastOnce)
        }
        configuration.reconnect.initialDelay = reconnect.initialDelay
        configuration.reconnect.maximumDelay = reconnect.maxDelay
        return configuration
    }
}
