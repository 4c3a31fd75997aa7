import Foundation
import Testing

@testable import PSPFConfig

@Suite struct ExampleConfigTests {
    /// Every file in `config/`, with the variables and files a real gateway would provide.
    static let files: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: exampleConfigDirectory)) ?? []
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    }()

    private let environment: ConfigEnvironment = {
        let credentials = "/run/credentials/pspf.service"
        let files = [
            "\(credentials)/site-mqtt-password": "site-password\n",
            "\(credentials)/cloud-client-key": "-----BEGIN PRIVATE KEY-----\n",
            "\(credentials)/maintenance-token": "maintenance-token\n",
            "\(credentials)/admin-token": "admin-token\n",
            "/etc/pspf/tls/site-ca.pem": "CA", "/etc/pspf/tls/cloud-ca.pem": "CA", "/etc/pspf/tls/gw01.crt": "CERT",
        ]
        return ConfigEnvironment(
            variables: ["CREDENTIALS_DIRECTORY": credentials, "PLANT_ID": "p7", "PSPF_DATA_DIR": "/var/lib/pspf"],
            hostName: "gw01",
            readFile: { path in
                if let text = files[path] { return Array(text.utf8) }
                return try ConfigEnvironment.readFromDisk(path)
            },
            fileExists: { files[$0] != nil })
    }()

    @Test func thereAreExamples() {
        #expect(Self.files == ["demo.yaml", "factory-gateway.yaml", "minimal.yaml"])
    }

    @Test(arguments: files)
    func validatesAndBuilds(_ name: String) throws {
        let path = exampleConfigDirectory + "/" + name
        let config: PSPFConfiguration
        do {
            config = try ConfigLoader.load(file: path, environment: environment)
        } catch {
            Issue.record("\(name) does not validate:\n\(error)")
            return
        }
        #expect(!config.pipelines.isEmpty)
        let built = try PipelineBuilder(configuration: config).buildAll()
        #expect(built.count == config.pipelines.count)
    }

    @Test func factoryGatewayReadsAsIntended() throws {
        let c = try ConfigLoader.load(file: exampleConfigDirectory + "/factory-gateway.yaml", environment: environment)
        let site = try #require(c.broker(named: "site"))
        #expect(site.clientID == "pspf-p7-gw01")
        #expect(site.password?.reveal() == "site-password")
        #expect(site.tls?.caFile == "/etc/pspf/tls/site-ca.pem")
        #expect(site.sessionExpiry == .seconds(7 * 86_400))
        let cloud = try #require(c.broker(named: "cloud"))
        #expect(cloud.tls?.keyFile == "/run/credentials/pspf.service/cloud-client-key")
        #expect(cloud.tls?.minVersion == .v1_3)
        #expect(cloud.cleanSession == false)
        let alerts = try #require(c.pipeline(named: "vibration-alerts"))
        #expect(alerts.filter?.text == "rms > 4.5")
        #expect(alerts.window == .session(gap: .seconds(30), maxLength: .seconds(600)))
        guard case .mqtt(let mqtt) = c.sink(named: "cloud")?.kind else {
            Issue.record("cloud is an MQTT sink")
            return
        }
        #expect(mqtt.topic == "plants/p7/{pipeline}/{key}")
        #expect(c.admin.token?.reveal() == "admin-token")
        #expect(c.source(named: "machines")?.dedup.by == .eventTime)
    }

    @Test func minimalUsesTheDefaults() throws {
        let c = try ConfigLoader.load(file: exampleConfigDirectory + "/minimal.yaml", environment: environment)
        let broker = try #require(c.brokers.first)
        #expect(broker.port == 1883 && broker.protocolVersion == .v5 && broker.clientID == "pspf-gw01")
        #expect(broker.cleanSession == false && broker.keepalive == .seconds(30))
        #expect(c.dataDirectory == "/var/lib/pspf")
        #expect(c.sources[0].qos == 1 && c.sources[0].log.partitions == 4)
        #expect(c.checkpoint.interval == .seconds(1) && c.shutdown.drainTimeout == .seconds(30))
        #expect(c.admin.host == "127.0.0.1" && c.admin.port == 9464)
    }

    @Test func vibrationAlertsComputeFilterAndSessions() throws {
        let c = try ConfigLoader.load(file: exampleConfigDirectory + "/factory-gateway.yaml", environment: environment)
        let built = try PipelineBuilder(configuration: c).build(named: "vibration-alerts")
        func reading(_ second: Int, _ v: Double) -> Message {
            Message(
                topic: "factory/h1/machine/m-7/telemetry",
                #"{"ts":"2024-11-24T08:00:\#(String(format: "%02d", second)).000Z","vib":{"x":\#(v),"y":\#(v),"z":\#(v)}}"#
            )
        }
        let result = run(built.plan, [reading(0, 5), reading(10, 1), reading(20, 6), reading(55, 2)])
        #expect(result.deadLetters.isEmpty)
        #expect(result.results.count == 1)
        let alert = try #require(result.results.first)
        #expect(alert.key == "m-7" && alert.count == 2)
        #expect(alert.value["max_rms"] == .double(6))
        #expect(alert.value["peak_excess"] == .double(1.5))
    }
}
