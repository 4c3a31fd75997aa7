import PSPFJSON

/// Turns the node tree into the configuration model, section by section, recording every
/// problem (the reader's accessors do the typing, ``MappingReader/finish()`` the unknown and
/// missing keys). Cross-references and pipeline semantics are checked afterwards
/// (`ConfigValidator`, `PipelineAnalyzer`).
struct ConfigDecoder {
    let reader: ConfigReader

    var diagnostics: Diagnostics { reader.diagnostics }

    func decode(_ root: ConfigNode) -> PSPFConfiguration? {
        guard let top = reader.mapping(root, "", what: "the configuration") else { return nil }
        var config = PSPFConfiguration(file: diagnostics.file)
        if let node = top.required("version", hint: "start the file with 'version: 1'"),
            let version = reader.int(node, "version")
        {
            if version != 1 {
                diagnostics.error(
                    .unsupportedVersion, "version", "unsupported configuration version \(version)",
                    hint: "this pspf reads version 1", node: node)
            }
            config.version = version
        }
        config.dataDirectory = top.filePath("data_dir") ?? config.dataDirectory
        config.brokers = named(top, "brokers", what: "broker") { decodeBroker($0, $1, $2) }
        config.sources = named(top, "sources", what: "source") { decodeSource($0, $1, $2) }
        config.sinks = named(top, "sinks", what: "sink") { decodeSink($0, $1, $2) }
        config.pipelines = named(top, "pipelines", what: "pipeline", required: true) { decodePipeline($0, $1, $2) }
        if let m = top.mapping("checkpoint", what: "checkpoint settings") {
            config.checkpoint.interval =
                m.duration("interval", maximum: 3_600_000) ?? config.checkpoint.interval
            m.finish()
        }
        if let m = top.mapping("dead_letters", what: "dead-letter settings") {
            config.deadLetters.retention = m.duration("retention") ?? config.deadLetters.retention
            config.deadLetters.maxBytes = m.size("max_bytes", minimum: 1 << 20)
            m.finish()
        }
        if let m = top.mapping("admin", what: "admin endpoint settings") {
            config.admin = decodeAdmin(m)
        }
        if let m = top.mapping("shutdown", what: "shutdown settings") {
            config.shutdown.drainTimeout = m.duration("drain_timeout", allowZero: true) ?? config.shutdown.drainTimeout
            m.finish()
        }
        if let m = top.mapping("logging", what: "logging settings") {
            let levels: KeyValuePairs<String, LoggingConfig.Level> = [
                "trace": .trace, "debug": .debug, "info": .info, "notice": .notice, "warning": .warning,
                "error": .error,
                "critical": .critical,
            ]
            config.logging.level = m.choice("level", levels) ?? config.logging.level
            m.finish()
        }
        // `x-…` keys hold anchors for reuse (`x-tls: &tls {…}`), as in Compose files.
        for entry in top.presentKeys where entry.key.hasPrefix("x-") { top.accept(entry.key) }
        top.finish()
        return config
    }

    /// A mapping of user-chosen names to entries (`brokers`, `sources`, `sinks`, `pipelines`).
    private func named<T>(
        _ top: MappingReader, _ key: String, what: String, required: Bool = false,
        _ decode: (String, MappingReader, String) -> T?
    ) -> [T] {
        let hint = required ? "define at least one \(what): \(key): {<name>: {…}}" : nil
        guard let node = required ? top.required(key, hint: hint) : top.value(key) else { return [] }
        guard let section = reader.mapping(node, key, what: "\(what)s by name") else { return [] }
        var result: [T] = []
        for entry in section.presentKeys {
            section.accept(entry.key)
            let path = join(key, entry.key)
            guard reader.checkName(entry.key, entry.keyNode, path) else { continue }
            guard let m = reader.mapping(entry.value, path, what: "a \(what)") else { continue }
            if let value = decode(entry.key, m, path) { result.append(value) }
            m.finish()
        }
        if result.isEmpty && section.presentKeys.isEmpty && required {
            diagnostics.error(.missingKey, key, "no \(what) is defined", hint: hint, node: node)
        }
        return result
    }

    // MARK: Shared pieces

    /// `key: device`, `key: {field: meta.id}` or `key: {topic_segment: 1}`.
    func decodeKey(_ node: ConfigNode, _ path: String) -> KeySelector? {
        diagnostics.register(path, node)
        if let scalar = node.scalar, !scalar.isNull {
            return scalar.isInvalid ? nil : .field(JSONFieldPath(scalar.text))
        }
        guard let m = reader.mapping(node, path, what: "a key (a field name, {field: …} or {topic_segment: N})") else {
            return nil
        }
        defer { m.finish() }
        let hasField = m.has("field")
        let hasSegment = m.has("topic_segment")
        if hasField && hasSegment {
            diagnostics.error(
                .conflict, path, "set either 'field' or 'topic_segment', not both", node: m.value("field"))
            m.accept("field", "topic_segment")
            return nil
        }
        if hasSegment {
            return m.int("topic_segment", in: 0...1000).map { .topicSegment($0) }
        }
        if let field = m.string("field", required: true, hint: "key: {field: device} or key: {topic_segment: 1}") {
            m.accept("topic_segment")
            return .field(JSONFieldPath(field))
        }
        m.accept("topic_segment")
        return nil
    }

    /// `{field: ts, format: epoch_ms}`.
    func decodeTimestampField(_ m: MappingReader) -> TimestampField? {
        let field = m.string("field", required: true)
        let format = m.choice("format", TimestampField.formats) ?? .epoch(.milliseconds)
        m.finish()
        return field.map { TimestampField(field: JSONFieldPath($0), format: format) }
    }

    /// `every`, `none`, or an interval (`10ms`).
    func decodeFsync(_ m: MappingReader, _ key: String) -> FsyncConfig? {
        guard let node = m.value(key) else { return nil }
        let path = m.keyPath(key)
        guard let s = reader.scalar(node, path, expected: "every, none or an interval") else { return nil }
        switch s.text {
        case "every": return .every
        case "none": return FsyncConfig.none
        default:
            if let ms = ConfigDuration.milliseconds(parsing: s.text), ms >= 1, ms <= 60_000 {
                return .interval(.milliseconds(ms))
            }
            diagnostics.error(
                .invalidValue, path, "invalid fsync '\(s.text)' (expected every, none or an interval of 1ms…60s)",
                hint: Suggestions.didYouMean(s.text, in: ["every", "none"]) ?? "e.g. fsync: 10ms (group commit)",
                node: node)
            return nil
        }
    }

    func decodeQuotaPolicy(_ m: MappingReader, _ key: String) -> QuotaPolicyConfig? {
        m.choice(key, ["block": .block, "drop_oldest": .dropOldest])
    }

    /// Checks an MQTT topic filter: `+` and `#` only as whole levels, `#` last.
    func checkTopicFilter(_ filter: String, _ node: ConfigNode, _ path: String, wildcards: Bool) {
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        var problem: String?
        if filter.isEmpty {
            problem = "an empty topic"
        } else if filter.unicodeScalars.contains("\0") {
            problem = "a NUL character"
        } else {
            for (i, level) in levels.enumerated() {
                if level.contains("#") && (level != "#" || i != levels.count - 1) {
                    problem = "'#' must be a whole level and the last one"
                } else if level.contains("+") && level != "+" {
                    problem = "'+' must be a whole level"
                }
                if !wildcards && (level.contains("#") || level.contains("+")) {
                    problem = "wildcards ('+', '#') where a topic name is needed"
                }
            }
        }
        if let problem {
            diagnostics.error(
                .invalidValue, path, "invalid MQTT topic '\(filter)': \(problem)",
                hint: wildcards ? "e.g. sensors/+/reading or sensors/#" : nil, node: node)
        }
    }

    // MARK: Settings

    private func decodeAdmin(_ m: MappingReader) -> AdminConfig {
        var admin = AdminConfig()
        admin.enabled = m.bool("enabled") ?? true
        if let node = m.value("address"), let text = reader.string(node, m.keyPath("address")) {
            if let (host, port) = Self.splitAddress(text) {
                admin.host = host
                admin.port = port
            } else {
                diagnostics.error(
                    .invalidValue, m.keyPath("address"), "invalid address '\(text)'",
                    hint: "write host:port, e.g. 127.0.0.1:9464 or [::1]:9464", node: node)
            }
        }
        if let node = m.value("token_file") {
            admin.token = reader.secretFile(node, m.keyPath("token_file"))
        }
        let loopback = admin.host == "localhost" || admin.host == "::1" || admin.host.hasPrefix("127.")
        if admin.enabled && !loopback && !m.has("token_file") {
            diagnostics.error(
                .conflict, m.keyPath("address"), "the admin endpoint on a non-loopback address needs a token",
                hint: "set admin.token_file, or listen on 127.0.0.1", node: m.value("address"))
        }
        m.finish()
        return admin
    }

    static func splitAddress(_ text: String) -> (String, Int)? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}
