import Testing

@testable import PSPFConfig

@Suite struct TopologyRendererTests {
    private func demo() throws -> TopologyRenderer {
        let config = try ConfigLoader.load(
            file: exampleConfigDirectory + "/demo.yaml",
            environment: ConfigEnvironment(
                variables: [:], hostName: "test-host", readFile: ConfigEnvironment.readFromDisk,
                fileExists: { _ in false }))
        return TopologyRenderer(configuration: config)
    }

    /// The factory gateway with the variables and credential files systemd would provide.
    private func factory() throws -> TopologyRenderer {
        let credentials = "/run/credentials/pspf.service"
        let files = [
            "\(credentials)/site-mqtt-password": "site-password\n",
            "\(credentials)/cloud-client-key": "-----BEGIN PRIVATE KEY-----\n",
            "\(credentials)/maintenance-token": "maintenance-token\n",
            "\(credentials)/admin-token": "admin-token\n",
            "/etc/pspf/tls/site-ca.pem": "CA", "/etc/pspf/tls/cloud-ca.pem": "CA", "/etc/pspf/tls/gw01.crt": "CERT",
        ]
        let environment = ConfigEnvironment(
            variables: ["CREDENTIALS_DIRECTORY": credentials, "PLANT_ID": "p7"], hostName: "gw01",
            readFile: { path in
                if let text = files[path] { return Array(text.utf8) }
                return try ConfigEnvironment.readFromDisk(path)
            },
            fileExists: { files[$0] != nil })
        return TopologyRenderer(
            configuration: try ConfigLoader.load(
                file: exampleConfigDirectory + "/factory-gateway.yaml", environment: environment))
    }

    @Test func demoText() throws {
        #expect(
            try demo().text() == """
                broker local  127.0.0.1:1883, MQTT 5, client id pspf-demo, persistent session
                  source sensors  topics [sensors/+/reading], qos 1, key topic segment 1, event time ts (epoch_ms), max payload 256KiB, dedup by event time for 1m
                    log: 4 partitions, fsync 10ms, segments 64MiB, no disk quota
                    pipeline temp-stats  key topic segment 1, event time ts (epoch_ms)
                      schema: temp number, hum number?
                      window: tumbling 10s, out of orderness 2s, idle timeout 30s, late → dead letters
                      aggregates: count, avg_temp = avg(temp), min_temp = min(temp), max_temp = max(temp), p95_temp = percentile(temp, q 0.95)
                      sink console  console text, backlog 1GiB block
                      sink results-file  file /tmp/pspf-demo/results/{pipeline}.jsonl, jsonl, rotate at 64MiB, fsync every, backlog 1GiB block

                """)
    }

    @Test func demoMermaid() throws {
        #expect(
            try demo().mermaid() == """
                flowchart LR
                  broker_local{{"broker local<br/>127.0.0.1:1883"}}
                  source_sensors["source sensors<br/>sensors/+/reading"]
                  pipeline_temp_stats("pipeline temp-stats<br/>tumbling 10s")
                  sink_console[/"sink console<br/>console: standard output"/]
                  sink_results_file[/"sink results-file<br/>file: /tmp/pspf-demo/results/{pipeline}.jsonl"/]
                  broker_local --> source_sensors
                  source_sensors --> pipeline_temp_stats
                  pipeline_temp_stats --> sink_console
                  pipeline_temp_stats --> sink_results_file

                """)
    }

    /// A sink shared by two pipelines appears under each; a broker only published to lists its
    /// sinks; secrets are only said to be set.
    @Test func factoryText() throws {
        let text = try factory().text()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(
            lines.first
                == "broker site  mqtt.site.local:8883, MQTT 5, TLS, user pspf-gw01, client id pspf-p7-gw01, persistent session"
        )
        #expect(
            lines.contains(
                "    log: 8 partitions, fsync 5ms, segments 64MiB, retention max age 3d, disk quota 8GiB block"))
        #expect(lines.contains("      filter: rms > 4.5"))
        #expect(lines.contains("      compute: rms = sqrt((vib.x * vib.x + vib.y * vib.y + vib.z * vib.z) / 3)"))
        #expect(
            lines.contains(
                "      aggregates: count, max_rms = max(rms), avg_rms = avg(rms), peak_excess = max(round(rms - 4.5, 2))"
            ))
        #expect(
            lines.filter { $0.hasPrefix("      sink cloud  mqtt → broker cloud topic plants/p7/{pipeline}/{key}") }
                .count == 2)
        #expect(
            lines.contains(
                "      sink maintenance  http POST https://maintenance.site.local/api/v2/vibration-alerts, batch 50 or 2s, timeout 10s, retry 1s…2m, bearer token set, backlog 256MiB drop_oldest"
            ))
        #expect(
            lines.suffix(2) == [
                "broker cloud  mqtt.cloud.example.com:8883, MQTT 5, mutual TLS, client id plant-p7-gw01, persistent session",
                "  receives from sinks cloud",
            ])
        for secret in ["site-password", "maintenance-token", "admin-token", "PRIVATE KEY"] {
            #expect(!text.contains(secret))
        }
    }

    @Test func factoryMermaid() throws {
        let lines = try factory().mermaid().split(separator: "\n").map(String.init)
        #expect(lines.first == "flowchart LR")
        #expect(lines.contains(#"  pipeline_machine_temperature("pipeline machine-temperature<br/>tumbling 1m")"#))
        #expect(lines.contains("  pipeline_vibration_alerts --> sink_cloud"))
        #expect(lines.contains("  pipeline_machine_temperature --> sink_cloud"))
        #expect(lines.contains("  sink_cloud -.-> broker_cloud"))
    }

    /// Names that sanitise to the same id get distinct ids; quotes and `#` in labels are escaped.
    @Test func mermaidIDsAreSanitisedAndUnique() throws {
        let yaml = """
            version: 1
            brokers:
              local: {host: 127.0.0.1, client_id: test}
            sources:
              all.sensors: {broker: local, topics: ["sensors/#"], key: {topic_segment: 1}}
            sinks:
              out-1: {type: console}
              out_1: {type: console}
            pipelines:
              p:
                source: all.sensors
                key: {topic_segment: 1}
                timestamp: processing_time
                window: {type: count, size: 10}
                sinks: [out-1, out_1]
            """
        let config = try ConfigLoader.load(yaml: yaml, file: "test.yaml", environment: testEnvironment())
        let mermaid = TopologyRenderer(configuration: config).mermaid()
        #expect(
            mermaid == """
                flowchart LR
                  broker_local{{"broker local<br/>127.0.0.1:1883"}}
                  source_all_sensors["source all.sensors<br/>sensors/#35;"]
                  pipeline_p("pipeline p<br/>count 10")
                  sink_out_1[/"sink out-1<br/>console: standard output"/]
                  sink_out_1_2[/"sink out_1<br/>console: standard output"/]
                  broker_local --> source_all_sensors
                  source_all_sensors --> pipeline_p
                  pipeline_p --> sink_out_1
                  pipeline_p --> sink_out_1_2

                """)
        #expect(TopologyRenderer.label([#"say "hi" <b>"#]) == #""say #quot;hi#quot; #lt;b#gt;""#)
    }
}
