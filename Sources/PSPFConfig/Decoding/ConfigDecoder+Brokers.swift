extension ConfigDecoder {
    func decodeBroker(_ name: String, _ m: MappingReader, _ path: String) -> BrokerConfig? {
        let host = m.string("host", required: true, hint: "the broker's host name or IP address")
        if let host, let node = m.value("host"), host.contains("://") || host.contains("/") {
            diagnostics.error(
                .invalidValue, m.keyPath("host"), "'\(host)' is not a host name",
                hint: "write only the host (e.g. broker.example.com); set the port with 'port' and TLS with 'tls'",
                node: node)
        }
        var broker = BrokerConfig(name: name, host: host ?? "", clientID: "pspf-\(reader.environment.hostName)")
        if let tls = m.mapping("tls", what: "TLS settings") {
            broker.tls = decodeTLS(tls)
        }
        broker.port = m.int("port", in: 1...65535) ?? (broker.tls != nil ? 8883 : 1883)
        broker.protocolVersion = m.choice("protocol", ["3.1.1": .v311, "5": .v5]) ?? .v5
        if let id = m.string("client_id") { broker.clientID = id }
        broker.cleanSession = m.bool("clean_session") ?? false
        if let node = m.value("keepalive"),
            let keepalive = reader.duration(node, m.keyPath("keepalive"), allowZero: true)
        {
            let ms = keepalive.configMilliseconds
            if ms != 0 && (ms % 1000 != 0 || ms < 5000 || ms > 65_535_000) {
                diagnostics.error(
                    .invalidDuration, m.keyPath("keepalive"), "keepalive must be 0 (off) or whole seconds in 5s…65535s",
                    node: node)
            } else {
                broker.keepalive = keepalive
            }
        }
        if let node = m.value("session_expiry") {
            if node.scalar?.text != "never" {
                broker.sessionExpiry = reader.duration(node, m.keyPath("session_expiry"), maximum: 4_294_967_295_000)
            }
            if broker.protocolVersion != .v5 || broker.cleanSession {
                diagnostics.error(
                    .conflict, m.keyPath("session_expiry"), "session_expiry applies only to MQTT 5 persistent sessions",
                    hint: "use protocol: 5 and clean_session: false, or remove it", node: node)
            }
        }
        broker.username = m.string("username")
        broker.password = m.secret("password")
        if broker.password != nil && broker.username == nil {
            diagnostics.error(
                .conflict, m.keyPath(m.has("password") ? "password" : "password_file"), "a password needs a username",
                hint: "set username", node: m.value("password") ?? m.value("password_file"))
        }
        if let status = m.mapping("status", what: "status settings") {
            if let topic = status.string("topic", required: true, hint: "e.g. pspf/<gateway>/status") {
                var config = BrokerStatusConfig(topic: topic)
                if let node = status.value("topic") {
                    checkTopicFilter(topic, node, status.keyPath("topic"), wildcards: false)
                }
                config.online = status.string("online") ?? config.online
                config.offline = status.string("offline") ?? config.offline
                config.qos = status.int("qos", in: 0...2) ?? config.qos
                broker.status = config
            } else {
                status.accept("online", "offline", "qos")
            }
            status.finish()
        }
        if let reconnect = m.mapping("reconnect", what: "reconnect settings") {
            broker.reconnect.initialDelay = reconnect.duration("initial") ?? broker.reconnect.initialDelay
            broker.reconnect.maxDelay = reconnect.duration("max") ?? broker.reconnect.maxDelay
            if broker.reconnect.maxDelay < broker.reconnect.initialDelay {
                diagnostics.error(
                    .invalidValue, reconnect.keyPath("max"), "max must not be less than initial",
                    node: reconnect.value("max"))
            }
            reconnect.finish()
        }
        return broker
    }

    private func decodeTLS(_ m: MappingReader) -> TLSConfig {
        var tls = TLSConfig()
        tls.caFile = m.filePath("ca_file", mustExist: true)
        tls.caPath = m.filePath("ca_path", mustExist: true)
        tls.systemCA = m.bool("system_ca") ?? false
        tls.certFile = m.filePath("cert_file", mustExist: true)
        tls.keyFile = m.filePath("key_file", mustExist: true)
        tls.verifyPeer = m.bool("verify") ?? true
        tls.verifyHostname = m.bool("verify_hostname") ?? true
        tls.minVersion = m.choice("min_version", ["1.2": .v1_2, "1.3": .v1_3]) ?? .v1_2
        tls.ciphers = m.string("ciphers")
        if !m.has("ca_file") && !m.has("ca_path") && tls.systemCA == false {
            diagnostics.error(
                .missingKey, m.path, "TLS needs certificates to trust",
                hint: "set ca_file (the broker's CA, PEM), ca_path, or system_ca: true", node: m.node)
        }
        if m.has("key_file") && !m.has("cert_file") {
            diagnostics.error(
                .conflict, m.keyPath("key_file"), "key_file without cert_file",
                hint: "a client key needs its certificate: set cert_file", node: m.value("key_file"))
        }
        if m.has("cert_file") && !m.has("key_file") {
            diagnostics.error(
                .conflict, m.keyPath("cert_file"), "cert_file without key_file",
                hint: "a client certificate needs its private key: set key_file", node: m.value("cert_file"))
        }
        if m.has("cert_file") && !m.has("ca_file") && !m.has("ca_path") {
            diagnostics.error(
                .conflict, m.keyPath("cert_file"), "a client certificate needs ca_file or ca_path",
                hint: "libmosquitto does not combine client certificates with system_ca alone",
                node: m.value("cert_file"))
        }
        m.finish()
        return tls
    }
}
