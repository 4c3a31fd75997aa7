import Testing

@testable import PSPFConfig

/// A valid configuration; each broken case edits it.
private let base = """
    version: 1
    brokers:
      local: {host: 127.0.0.1, client_id: test}
    sources:
      sensors: {broker: local, topics: [sensors/+/reading], key: device}
    sinks:
      console: {type: console}
    pipelines:
      p:
        source: sensors
        key: device
        timestamp: {field: ts}
        window: {type: tumbling, size: 10s}
        sinks: [console]
    """

/// 1-based line and column (in Unicode scalars) of the `occurrence`-th `needle` in `text`.
func position(of needle: String, in text: String, occurrence: Int = 1) -> (line: Int, column: Int)? {
    var seen = 0
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        var searchStart = line.startIndex
        while let range = line[searchStart...].range(of: needle) {
            seen += 1
            if seen == occurrence {
                return (i + 1, line.unicodeScalars.distance(from: line.startIndex, to: range.lowerBound) + 1)
            }
            searchStart = line.index(after: range.lowerBound)
        }
    }
    return nil
}

struct BrokenCase: CustomTestStringConvertible, Sendable {
    var name: String
    /// (original line, replacement) edits of `base`, or a whole document.
    var edits: [(String, String)]
    var code: ConfigError.Code
    var path: String
    /// Where the error must point: the `occurrence`-th `needle` in the edited text.
    var needle: String
    var occurrence = 1
    var messageContains: String
    var hintContains: String?
    var files: [String: String] = [:]
    var variables: [String: String] = [:]

    var testDescription: String { name }

    var yaml: String {
        var text = base
        for (original, replacement) in edits {
            precondition(text.contains(original), "edit target '\(original)' not in the base config")
            text = text.replacingOccurrences(of: original, with: replacement)
        }
        return text
    }
}

private let cases: [BrokenCase] = [
    BrokenCase(
        name: "unknown key with did-you-mean", edits: [("    source: sensors", "    sorce: sensors")],
        code: .unknownKey,
        path: "pipelines.p.sorce", needle: "sorce", messageContains: "unknown key 'sorce'",
        hintContains: "did you mean 'source'?"),
    BrokenCase(
        name: "wrong type: a list where a key belongs", edits: [("\n    key: device", "\n    key: [device, site]")],
        code: .wrongType, path: "pipelines.p.key", needle: "[device", messageContains: "found a list"),
    BrokenCase(
        name: "invalid duration", edits: [("size: 10s", "size: 10x")], code: .invalidDuration,
        path: "pipelines.p.window.size", needle: "10x", messageContains: "invalid duration '10x'",
        hintContains: "500ms, 10s, 5m or 1h"),
    BrokenCase(
        name: "duration without unit", edits: [("size: 10s", "size: 10")], code: .invalidDuration,
        path: "pipelines.p.window.size", needle: "10}", messageContains: "invalid duration '10'",
        hintContains: "10ms, 10s"),
    BrokenCase(
        name: "invalid size",
        edits: [("topics: [sensors/+/reading], key: device}", "topics: [sensors/+/reading], key: device, max_payload_bytes: 12XB}")],
        code: .invalidSize, path: "sources.sensors.max_payload_bytes", needle: "12XB",
        messageContains: "invalid size '12XB'", hintContains: "64MiB"),
    BrokenCase(
        name: "missing required key", edits: [("    timestamp: {field: ts}\n", "")], code: .missingKey,
        path: "pipelines.p.timestamp", needle: "source: sensors", messageContains: "missing required key 'timestamp'",
        hintContains: "processing_time"),
    BrokenCase(
        name: "undefined source with did-you-mean", edits: [("source: sensors", "source: sensor")],
        code: .undefinedReference, path: "pipelines.p.source", needle: "sensor", occurrence: 3,
        messageContains: "undefined source 'sensor'", hintContains: "did you mean 'sensors'?"),
    BrokenCase(
        name: "undefined sink", edits: [("sinks: [console]", "sinks: [console, archive]")], code: .undefinedReference,
        path: "pipelines.p.sinks[1]", needle: "archive", messageContains: "undefined sink 'archive'",
        hintContains: "defined sinks: console"),
    BrokenCase(
        name: "undefined broker", edits: [("{broker: local,", "{broker: lokal,")], code: .undefinedReference,
        path: "sources.sensors.broker", needle: "lokal", messageContains: "undefined broker 'lokal'",
        hintContains: "did you mean 'local'?"),
    BrokenCase(
        name: "window without key", edits: [("    key: device\n", "")], code: .windowWithoutKey,
        path: "pipelines.p.window", needle: "{type: tumbling", messageContains: "a window needs a key",
        hintContains: "topic_segment"),
    BrokenCase(
        name: "percentile without q",
        edits: [
            (
                "    sinks: [console]",
                "    aggregates:\n      - {function: percentile, field: temp}\n    sinks: [console]"
            )
        ],
        code: .missingKey, path: "pipelines.p.aggregates[0].q", needle: "{function: percentile",
        messageContains: "missing required key 'q'", hintContains: "0.95"),
    BrokenCase(
        name: "percentile q out of (0, 1)",
        edits: [
            (
                "    sinks: [console]",
                "    aggregates:\n      - {function: percentile, field: temp, q: 1.0}\n    sinks: [console]"
            )
        ],
        code: .invalidValue, path: "pipelines.p.aggregates[0].q", needle: "1.0}", messageContains: "between 0 and 1"),
    BrokenCase(
        name: "expression syntax error, column inside the expression",
        edits: [("    sinks: [console]", "    filter: temp > > 3\n    sinks: [console]")], code: .expressionSyntax,
        path: "pipelines.p.filter", needle: ">", occurrence: 2, messageContains: "expected a value before '>'"),
    BrokenCase(
        name: "expression syntax error in a quoted value",
        edits: [("    sinks: [console]", "    filter: \"temp >= 3 && (hum < 2\"\n    sinks: [console]")],
        code: .expressionSyntax, path: "pipelines.p.filter", needle: "\"", occurrence: 2,
        messageContains: "expected ')'"),
    BrokenCase(
        name: "expression syntax error in a folded block, second line",
        edits: [("    sinks: [console]", "    filter: >\n      temp > 3 &&\n      hum < < 2\n    sinks: [console]")],
        code: .expressionSyntax, path: "pipelines.p.filter", needle: "< 2", messageContains: "expected a value before '<'"),
    BrokenCase(
        name: "expression syntax error after a ${VAR} substitution",
        edits: [("    sinks: [console]", "    filter: temp > ${LIMIT} && hum < < 2\n    sinks: [console]")],
        code: .expressionSyntax, path: "pipelines.p.filter", needle: "< 2", messageContains: "expected a value before '<'",
        variables: ["LIMIT": "100.25"]),
    BrokenCase(
        name: "unknown field when a schema is declared",
        edits: [("    sinks: [console]", "    schema: {temp: number}\n    filter: tmp > 3\n    sinks: [console]")],
        code: .unknownField, path: "pipelines.p.filter", needle: "tmp", messageContains: "unknown field 'tmp'",
        hintContains: "did you mean 'temp'?"),
    BrokenCase(
        name: "duplicate aggregate names",
        edits: [
            (
                "    sinks: [console]",
                "    aggregates:\n      - {function: max, field: temp}\n      - {function: max, field: temp}\n    sinks: [console]"
            )
        ], code: .duplicateName, path: "pipelines.p.aggregates[1].name", needle: "{function: max", occurrence: 2,
        messageContains: "duplicate aggregate name 'max_temp'"),
    BrokenCase(
        name: "reserved result column name",
        edits: [
            (
                "    sinks: [console]",
                "    aggregates:\n      - {name: window_start, function: min, field: ts}\n    sinks: [console]"
            )
        ], code: .reservedName, path: "pipelines.p.aggregates[0].name", needle: "window_start",
        messageContains: "'window_start' is a field of every result"),
    BrokenCase(
        name: "count is reserved for the element count",
        edits: [
            (
                "    sinks: [console]",
                "    aggregates:\n      - {name: count, function: sum, field: n}\n    sinks: [console]"
            )
        ],
        code: .reservedName, path: "pipelines.p.aggregates[0].name", needle: "count,", messageContains: "'count'"),
    BrokenCase(
        name: "TLS key without certificate",
        edits: [
            (
                "  local: {host: 127.0.0.1, client_id: test}",
                "  local:\n    host: 127.0.0.1\n    client_id: test\n    tls:\n      ca_file: /tls/ca.pem\n      key_file: /tls/client.key"
            )
        ], code: .conflict, path: "brokers.local.tls.key_file", needle: "/tls/client.key",
        messageContains: "key_file without cert_file", hintContains: "cert_file",
        files: ["/tls/ca.pem": "CA", "/tls/client.key": "KEY"]),
    BrokenCase(
        name: "TLS certificate file that does not exist",
        edits: [
            (
                "  local: {host: 127.0.0.1, client_id: test}",
                "  local:\n    host: 127.0.0.1\n    client_id: test\n    tls: {ca_file: /tls/missing-ca.pem}"
            )
        ], code: .fileNotFound, path: "brokers.local.tls.ca_file", needle: "/tls/missing-ca.pem",
        messageContains: "does not exist"),
    BrokenCase(
        name: "unset environment variable", edits: [("{host: 127.0.0.1,", "{host: \"mqtt-${SITE}.local\",")],
        code: .interpolation, path: "", needle: "${SITE}", messageContains: "environment variable 'SITE' is not set",
        hintContains: "${SITE:-value}"),
    BrokenCase(
        name: "YAML syntax error", edits: [("    key: device", "    key: device: site")], code: .yamlSyntax, path: "",
        needle: ": site", messageContains: "mapping values are not allowed", hintContains: "quote"),
    BrokenCase(
        name: "duplicate key", edits: [("    key: device", "    key: device\n    key: site")], code: .duplicateKey,
        path: "", needle: "key: site", messageContains: "duplicate key 'key'"),
    BrokenCase(
        name: "unknown function with did-you-mean",
        edits: [("    sinks: [console]", "    filter: abss(temp) > 1\n    sinks: [console]")], code: .expressionType,
        path: "pipelines.p.filter", needle: "abss", messageContains: "unknown function 'abss'",
        hintContains: "did you mean 'abs'?"),
    BrokenCase(
        name: "expression type mismatch",
        edits: [
            ("    sinks: [console]", "    schema: {temp: number}\n    filter: temp + 'x' > 1\n    sinks: [console]")
        ],
        code: .expressionType, path: "pipelines.p.filter", needle: "'x'", messageContains: "cannot add a string"),
    BrokenCase(
        name: "choice with did-you-mean", edits: [("{field: ts}", "{field: ts, format: epoch_msec}")],
        code: .invalidValue, path: "pipelines.p.timestamp.format", needle: "epoch_msec",
        messageContains: "invalid value 'epoch_msec'", hintContains: "did you mean 'epoch_ms'?"),
    BrokenCase(
        name: "YAML 1.1 boolean", edits: [("client_id: test}", "client_id: test, clean_session: yes}")],
        code: .wrongType, path: "brokers.local.clean_session", needle: "yes", messageContains: "expected true or false"),
    BrokenCase(
        name: "unsupported version", edits: [("version: 1", "version: 2")], code: .unsupportedVersion, path: "version",
        needle: "2", messageContains: "unsupported configuration version 2"),
    BrokenCase(
        name: "computed field used before it is defined",
        edits: [("    sinks: [console]", "    compute:\n      a: b * 2\n      b: temp + 1\n    sinks: [console]")],
        code: .unknownField, path: "pipelines.p.compute.a", needle: "b * 2",
        messageContains: "used before it is defined"),
    BrokenCase(
        name: "computed field that refers to itself",
        edits: [("    sinks: [console]", "    compute:\n      temp: temp * 2\n    sinks: [console]")],
        code: .unknownField, path: "pipelines.p.compute.temp", needle: "temp * 2", messageContains: "refers to itself"),
    BrokenCase(
        name: "lateness with processing time",
        edits: [("timestamp: {field: ts}", "timestamp: processing_time\n    allowed_lateness: 5s")], code: .conflict,
        path: "pipelines.p.allowed_lateness", needle: "5s", messageContains: "applies only to event time"),
    BrokenCase(
        name: "key valid only for another window type", edits: [("size: 10s}", "size: 10s, gap: 5s}")],
        code: .unknownKey, path: "pipelines.p.window.gap", needle: "gap", messageContains: "unknown key 'gap'",
        hintContains: "applies to session windows"),
    BrokenCase(
        name: "aggregate of a string field",
        edits: [
            (
                "    sinks: [console]",
                "    schema: {site: string}\n    aggregates:\n      - {function: avg, field: site}\n    sinks: [console]"
            )
        ], code: .expressionType, path: "pipelines.p.aggregates[0].field", needle: "site}",
        messageContains: "avg needs a number"),
    BrokenCase(
        name: "QoS 2 ingest", edits: [("topics: [sensors/+/reading], key: device}", "topics: [sensors/+/reading], key: device, qos: 2}")],
        code: .invalidValue, path: "sources.sensors.qos", needle: "2}", messageContains: "QoS 0 or 1"),
]

@Suite struct BrokenConfigTests {
    @Test func baseConfigIsValid() throws {
        let config = try load(base)
        #expect(config.pipelines.map(\.name) == ["p"])
    }

    @Test(arguments: cases)
    func reportsTheErrorWhereItIs(_ broken: BrokenCase) throws {
        let yaml = broken.yaml
        let errors = loadErrors(yaml, variables: broken.variables, files: broken.files)
        let match = errors.first { $0.code == broken.code && $0.path == broken.path }
        let error = try #require(match, "expected \(broken.code) at \(broken.path), got:\n\(ConfigErrors(errors))")
        let expected = try #require(position(of: broken.needle, in: yaml, occurrence: broken.occurrence))
        #expect(error.line == expected.line && error.column == expected.column, "\(error)")
        #expect(error.message.contains(broken.messageContains), "\(error)")
        if let hint = broken.hintContains { #expect(error.hint?.contains(hint) == true, "\(error)") }
        #expect(error.file == "test.yaml")
        // The one edit causes one error (no cascades), except where an edit removes a line.
        #expect(errors.count == 1, "\(ConfigErrors(errors))")
    }

    @Test func everyErrorIsReportedAtOnce() {
        let yaml =
            base
            .replacingOccurrences(of: "source: sensors", with: "source: sensor")
            .replacingOccurrences(of: "size: 10s", with: "size: 10x")
            .replacingOccurrences(of: "sinks: [console]", with: "sinks: [consol]")
            .replacingOccurrences(of: "client_id: test}", with: "client_id: test, prot: 5}")
        let errors = loadErrors(yaml)
        #expect(errors.map(\.code) == [.unknownKey, .undefinedReference, .invalidDuration, .undefinedReference])
        #expect(errors.map(\.line) == [3, 10, 13, 14])
        let description = ConfigErrors(errors).description
        #expect(
            description.split(separator: "\n")[2]
                == "test.yaml:13:36: error: pipelines.p.window.size: invalid duration '10x' (hint: use a number with a unit: 500ms, 10s, 5m or 1h)"
        )
    }
}
