extension ConfigDecoder {
    func decodeSink(_ name: String, _ m: MappingReader, _ path: String) -> SinkConfig? {
        let type = m.choice(
            "type", ["mqtt": "mqtt", "file": "file", "http": "http", "console": "console"], required: true)
        var kind: SinkConfig.Kind?
        if let type {
            m.explainVariants(
                [
                    "mqtt": ["broker", "topic", "qos", "retain", "max_inflight"],
                    "file": ["path", "format", "rotate", "fsync"],
                    "http": ["url", "headers", "bearer_token", "bearer_token_file", "batch", "timeout", "retry", "tls"],
                    "console": ["format"],
                ], current: type, what: "sinks")
        }
        switch type {
        case "mqtt": kind = decodeMQTTSink(m)
        case "file": kind = decodeFileSink(m)
        case "http": kind = decodeHTTPSink(m)
        case "console":
            var console = ConsoleSinkConfig()
            console.format = m.choice("format", ["text": .text, "json": .json]) ?? .text
            kind = .console(console)
        default:
            // Unknown type: the other keys cannot be judged.
            for key in m.presentKeys.map(\.key) { m.accept(key) }
        }
        var backlog = BacklogConfig()
        if let b = m.mapping("backlog", what: "backlog settings") {
            backlog.quota = b.size("quota_bytes", minimum: 1 << 20) ?? backlog.quota
            backlog.policy = decodeQuotaPolicy(b, "policy") ?? backlog.policy
            b.finish()
        }
        // An invalid sink still defines its name, so references to it are not reported twice.
        var sink = SinkConfig(name: name, kind: kind ?? .console(ConsoleSinkConfig()))
        sink.backlog = backlog
        return sink
    }

    private func decodeMQTTSink(_ m: MappingReader) -> SinkConfig.Kind? {
        let broker = m.string("broker", required: true, hint: "name one of the brokers")
        let topic = m.string("topic", required: true, hint: "a topic template, e.g. agg/{pipeline}/{key}")
        if let topic, let node = m.value("topic") { checkTemplate(topic, node, m.keyPath("topic"), mqtt: true) }
        guard let broker, let topic else {
            m.accept("qos", "retain", "max_inflight")
            return nil
        }
        var sink = MQTTSinkConfig(broker: broker, topic: topic)
        sink.qos = m.int("qos", in: 0...2) ?? sink.qos
        sink.retain = m.bool("retain") ?? sink.retain
        sink.maxInflight = m.int("max_inflight", in: 1...65535) ?? sink.maxInflight
        return .mqtt(sink)
    }

    private func decodeFileSink(_ m: MappingReader) -> SinkConfig.Kind? {
        guard let node = m.required("path", hint: "e.g. /var/lib/pspf/out/{pipeline}.jsonl"),
            let text = reader.string(node, m.keyPath("path"))
        else {
            m.accept("format", "rotate", "fsync")
            return nil
        }
        checkTemplate(text, node, m.keyPath("path"), mqtt: false)
        var sink = FileSinkConfig(path: reader.resolve(text))
        sink.format = m.choice("format", ["jsonl": .jsonl, "csv": .csv]) ?? sink.format
        if let rotate = m.mapping("rotate", what: "rotation settings") {
            sink.rotateBytes = rotate.size("max_bytes", minimum: 4096)
            sink.rotateInterval = rotate.duration("interval")
            rotate.finish()
        }
        sink.fsync = decodeFsync(m, "fsync") ?? sink.fsync
        return .file(sink)
    }

    private func decodeHTTPSink(_ m: MappingReader) -> SinkConfig.Kind? {
        guard let node = m.required("url", hint: "e.g. https://ingest.example.com/v1/results"),
            let url = reader.string(node, m.keyPath("url"))
        else {
            m.accept("headers", "bearer_token", "bearer_token_file", "batch", "timeout", "retry", "tls")
            return nil
        }
        if !(url.hasPrefix("http://") || url.hasPrefix("https://"))
            || url.dropFirst(url.hasPrefix("https") ? 8 : 7).isEmpty
        {
            diagnostics.error(
                .invalidValue, m.keyPath("url"), "invalid URL '\(url)'",
                hint: "write http://host[:port]/path or https://…",
                node: node)
        }
        var sink = HTTPSinkConfig(url: url)
        if let headers = m.mapping("headers", what: "HTTP headers") {
            for entry in headers.presentKeys {
                headers.accept(entry.key)
                let path = headers.keyPath(entry.key)
                let validName =
                    !entry.key.isEmpty
                    && entry.key.unicodeScalars.allSatisfy { c in
                        c.isASCII && c.value > 32 && c.value < 127 && !"()<>@,;:\\\"/[]?={}".unicodeScalars.contains(c)
                    }
                if !validName {
                    diagnostics.error(.invalidValue, path, "invalid header name '\(entry.key)'", node: entry.keyNode)
                }
                if let value = reader.string(entry.value, path, allowEmpty: true) {
                    sink.headers.append(HTTPHeader(name: entry.key, value: value))
                }
                if entry.key.lowercased() == "authorization" && (m.has("bearer_token") || m.has("bearer_token_file")) {
                    diagnostics.error(
                        .conflict, path, "an Authorization header and a bearer token", hint: "keep only one",
                        node: entry.keyNode)
                }
            }
            headers.finish()
        }
        sink.bearerToken = m.secret("bearer_token")
        if let batch = m.mapping("batch", what: "batching settings") {
            sink.batchMaxRecords = batch.int("max_records", in: 1...100_000) ?? sink.batchMaxRecords
            sink.batchMaxWait = batch.duration("max_wait", allowZero: true) ?? sink.batchMaxWait
            batch.finish()
        }
        sink.timeout = m.duration("timeout", maximum: 600_000) ?? sink.timeout
        if let retry = m.mapping("retry", what: "retry settings") {
            sink.retryInitial = retry.duration("initial") ?? sink.retryInitial
            sink.retryMax = retry.duration("max") ?? sink.retryMax
            sink.retryMaxAttempts = retry.int("max_attempts", in: 1...1_000_000)
            if sink.retryMax < sink.retryInitial {
                diagnostics.error(
                    .invalidValue, retry.keyPath("max"), "max must not be less than initial", node: retry.value("max"))
            }
            retry.finish()
        }
        if let tls = m.mapping("tls", what: "TLS settings") {
            var config = TLSConfig()
            config.caFile = tls.filePath("ca_file", mustExist: true)
            config.certFile = tls.filePath("cert_file", mustExist: true)
            config.keyFile = tls.filePath("key_file", mustExist: true)
            config.verifyPeer = tls.bool("verify") ?? true
            config.systemCA = config.caFile == nil
            if tls.has("cert_file") != tls.has("key_file") {
                let given = tls.has("cert_file") ? "cert_file" : "key_file"
                diagnostics.error(
                    .conflict, tls.keyPath(given), "cert_file and key_file go together",
                    hint: "a client certificate needs its private key", node: tls.value(given))
            }
            tls.finish()
            sink.tls = config
        }
        return .http(sink)
    }

    /// Checks `{placeholder}` syntax; MQTT topics may not contain wildcards, file paths only
    /// `{pipeline}`, `{sink}` and `{date}`.
    private func checkTemplate(_ template: String, _ node: ConfigNode, _ path: String, mqtt: Bool) {
        var depth = 0
        var placeholder = ""
        var offset = 0
        func fail(_ message: String, hint: String? = nil) {
            diagnostics.error(.invalidValue, path, message, hint: hint, node: node, offset: offset)
        }
        for c in template.unicodeScalars {
            defer { offset += 1 }
            switch c {
            case "{":
                if depth > 0 { return fail("nested '{' in template '\(template)'") }
                depth = 1
                placeholder = ""
            case "}":
                if depth == 0 { return fail("unmatched '}' in template '\(template)'") }
                if placeholder.isEmpty { return fail("empty placeholder '{}' in template '\(template)'") }
                if !mqtt && !["pipeline", "sink", "date"].contains(placeholder) {
                    return fail(
                        "unknown placeholder '{\(placeholder)}' in path '\(template)'",
                        hint: "file paths may use {pipeline}, {sink} and {date}")
                }
                depth = 0
            case _ where mqtt && depth == 0 && (c == "+" || c == "#"):
                return fail("MQTT wildcard '\(c)' in topic '\(template)'", hint: "a sink publishes to a topic name")
            default:
                if depth > 0 { placeholder.unicodeScalars.append(c) }
            }
        }
        if depth > 0 { fail("unterminated '{' in template '\(template)'") }
    }
}
