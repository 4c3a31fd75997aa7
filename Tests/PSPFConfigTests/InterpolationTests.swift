import Testing

@testable import PSPFConfig

@Suite struct InterpolationTests {
    private func interpolate(_ text: String, _ variables: [String: String]) -> String? {
        if case .success(let (value, _)) = Interpolation.apply(text, variables: variables) { return value }
        return nil
    }

    @Test(
        arguments: [
            ("${HOST}", ["HOST": "broker.local"], "broker.local"),
            ("mqtt-${SITE}.example.com", ["SITE": "north"], "mqtt-north.example.com"),
            ("${PORT:-1883}", [:], "1883"),
            ("${PORT:-1883}", ["PORT": "8883"], "8883"),
            ("${PORT:-1883}", ["PORT": ""], "1883"),
            ("${EMPTY}", ["EMPTY": ""], ""),
            ("${A}${B}", ["A": "x", "B": "y"], "xy"),
            ("${DIR:-/var/lib/pspf}/out", [:], "/var/lib/pspf/out"),
            ("${X:-}", [:], ""),
            ("cost $5", [:], "cost $5"),
            ("$${NOT_A_VAR}", [:], "${NOT_A_VAR}"),
            ("no dollars", [:], "no dollars"),
        ] as [(String, [String: String], String)])
    func substitutes(_ text: String, _ variables: [String: String], _ expected: String) {
        #expect(interpolate(text, variables) == expected)
    }

    @Test(
        arguments: [
            ("${UNSET}", 0, "environment variable 'UNSET' is not set"),
            ("abc ${UNSET} def", 4, "environment variable 'UNSET' is not set"),
            ("${OPEN", 0, "unterminated"),
            ("x${}", 1, "invalid variable name"),
            ("${1ABC}", 0, "invalid variable name"),
            ("${A-b}", 0, "invalid reference"),
        ] as [(String, Int, String)])
    func failsWithAnOffset(_ text: String, _ offset: Int, _ message: String) {
        guard case .failure(let failure) = Interpolation.apply(text, variables: [:]) else {
            Issue.record("expected a failure for \(text)")
            return
        }
        #expect(failure.offset == offset)
        #expect(failure.message.contains(message), "\(failure.message)")
    }

    @Test func interpolatesScalarValuesInAConfig() throws {
        let yaml = config(
            pipeline:
                "source: sensors\nkey: device\ntimestamp: {field: ts}\nwindow: {type: tumbling, size: \"${WINDOW:-10s}\"}\nfilter: temp > ${LIMIT}\nsinks: [console]"
        )
        .replacingOccurrences(
            of: "{host: 127.0.0.1, client_id: test}",
            with: "{host: \"${BROKER_HOST}\", port: \"${BROKER_PORT:-1883}\", client_id: \"gw-${SITE:-lab}\"}")
        let c = try load(yaml, variables: ["BROKER_HOST": "10.0.0.5", "LIMIT": "30", "SITE": "north"])
        let broker = try #require(c.brokers.first)
        #expect(broker.host == "10.0.0.5")
        #expect(broker.port == 1883)
        #expect(broker.clientID == "gw-north")
        #expect(c.pipelines.first?.filter?.text == "temp > 30")
        #expect(c.pipelines.first?.window == .tumbling(size: .seconds(10), offset: .zero))
    }

    @Test func unsetVariablesAreEachReportedWhereTheyAre() {
        let yaml = "version: 1\ndata_dir: ${DATA}\nbrokers:\n  b: {host: \"x-${HOST_A}-${HOST_B}\"}\n"
        let errors = loadErrors(yaml).filter { $0.code == .interpolation }
        #expect(
            errors.map(\.message) == [
                "environment variable 'DATA' is not set", "environment variable 'HOST_A' is not set",
            ])
        #expect(errors.map(\.line) == [2, 4])
        #expect(errors.map(\.column) == [11, 16])
    }

    @Test func keysAreNotInterpolated() {
        let errors = loadErrors("version: 1\n${KEY}: 1\n")
        #expect(errors.contains { $0.code == .unknownKey && $0.message == "unknown key '${KEY}'" })
    }

    @Test func interpolatedExpressionsReportColumnsInTheFile() {
        // ${LIMIT} expands to "3 3": the error is in the substituted text, reported at the '$'.
        let yaml = config(
            pipeline:
                "source: sensors\nkey: device\ntimestamp: {field: ts}\nwindow: {type: tumbling, size: 10s}\nfilter: hum < 1 && temp > ${LIMIT}\nsinks: [console]"
        )
        let errors = loadErrors(yaml, variables: ["LIMIT": "3 3"])
        let error = errors.first { $0.code == .expressionSyntax }
        let expected = position(of: "${LIMIT}", in: yaml)
        #expect(error != nil, "\(errors)")
        #expect(error?.line == expected?.line && error?.column == expected?.column, "\(errors)")
    }
}

@Suite struct YAMLFeatureTests {
    @Test func anchorsAliasesAndMergeKeys() throws {
        let yaml = """
            version: 1
            x-defaults: &broker
              port: 8883
              client_id: gw
              tls: {system_ca: true}
            brokers:
              a: {<<: *broker, host: a.example.com}
              b:
                <<: *broker
                host: b.example.com
                port: 9883
            sources:
              s: {broker: a, topics: [t/#]}
            sinks:
              c: {type: console}
            pipelines:
              p: {source: s, key: {topic_segment: 1}, timestamp: processing_time, window: {type: count, size: 1}, sinks: [c]}
            """
        // Top-level `x-…` keys are a place for anchors; other unknown keys are errors.
        let c = try load(yaml)
        #expect(
            loadErrors(yaml.replacingOccurrences(of: "x-defaults:", with: "defaults:")).map(\.message) == [
                "unknown key 'defaults'"
            ])
        #expect(c.broker(named: "a")?.port == 8883 && c.broker(named: "a")?.host == "a.example.com")
        #expect(c.broker(named: "b")?.host == "b.example.com")
        #expect(c.broker(named: "b")?.port == 9883)
        #expect(c.broker(named: "b")?.tls?.systemCA == true)
        #expect(c.broker(named: "b")?.clientID == "gw")
    }

    @Test func theDefaultClientIDUsesTheHostName() throws {
        let c = try load(
            config(
                pipeline:
                    "source: sensors\nkey: device\ntimestamp: processing_time\nwindow: {type: count, size: 1}\nsinks: [console]"
            ).replacingOccurrences(of: ", client_id: test}", with: "}"))
        #expect(c.brokers[0].clientID == "pspf-test-host")
        #expect(!ConfigEnvironment.localHostName().isEmpty)
    }
}
