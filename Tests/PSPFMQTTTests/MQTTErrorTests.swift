import PSPFTesting
import CMosquitto
import Testing

@testable import PSPFMQTT

@Suite("MQTTError")
struct MQTTErrorTests {
    func fail(_ code: MQTTError.Code) throws { throw MQTTError(code: code, message: "test") }

    @Test("Codes match in catch patterns")
    func catchPatterns() {
        func classify(_ code: MQTTError.Code) -> String {
            do {
                try fail(code)
                return "none"
            } catch MQTTError.Code.connectionRefused {
                return "refused"
            } catch MQTTError.Code.tls {
                return "tls"
            } catch {
                return "other"
            }
        }
        #expect(classify(.connectionRefused) == "refused")
        #expect(classify(.tls) == "tls")
        #expect(classify(.timeout) == "other")
        #expect(!(MQTTError.Code.tls ~= (CancellationError() as any Error)))
    }

    @Test("Codes are libmosquitto's values; PSPF's own codes are outside that range")
    func rawValues() {
        #expect(MQTTError.Code.connectionRefused.rawValue == MOSQ_ERR_CONN_REFUSED.rawValue)
        #expect(MQTTError.Code.tls.rawValue == MOSQ_ERR_TLS.rawValue)
        #expect(MQTTError.Code.keepalive.rawValue == MOSQ_ERR_KEEPALIVE.rawValue)
        #expect(MQTTError.Code(rawValue: MOSQ_ERR_NO_CONN.rawValue) == .noConnection)
        #expect(MQTTError.Code.closed.rawValue >= 1000)
        #expect(MQTTError.Code(rawValue: 4242).description == "code 4242")
    }

    @Test("Messages come from mosquitto_strerror, strerror and the CONNACK reason strings")
    func messages() {
        let tls = MQTTError.mosquitto(MOSQ_ERR_TLS.rawValue, context: "connecting to h:1")
        #expect(tls.message == "connecting to h:1: A TLS error occurred.")
        let refused = MQTTError.mosquitto(MOSQ_ERR_ERRNO.rawValue, errno: 111, context: "connecting")
        #expect(refused.message == "connecting: Connection refused")
        let v3 = MQTTError.connackRefused(reason: 5, protocolVersion: .v311, context: "c")
        #expect(v3.code == .connectionRefused && v3.reasonCode == 5)
        #expect(v3.message.contains("not authorised"))
        let v5 = MQTTError.connackRefused(reason: 0x86, protocolVersion: .v5, context: "c")
        #expect(v5.message.contains("Bad User Name or Password"))
        #expect(v5.description.hasPrefix("MQTTError.connectionRefused (5), reason 134: c: "))
        #expect(tls.file.hasSuffix("MQTTErrorTests.swift"))
        // libmosquitto 2.0.11 says "Unknown error." for its keepalive code; PSPF fills in.
        #expect(MQTTError.mosquitto(MOSQ_ERR_KEEPALIVE.rawValue).message.contains("keepalive"))
    }
}

@Suite("Credentials")
struct CredentialsTests {
    func temporaryFile(_ contents: String) throws -> String {
        let path = "/tmp/" + uniqueName("pspf-credentials-test")
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        #expect(fd >= 0)
        _ = contents.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        return path
    }

    @Test("A file holds the username on line 1 and the password on line 2", arguments: [
        "gw\ns3cret\n", "gw\ns3cret", "gw\r\ns3cret\r\n", "gw\ns3cret\n\n",
    ])
    func file(contents: String) throws {
        let path = try temporaryFile(contents)
        defer { unlink(path) }
        let resolved = try MQTTCredentials.file(path).resolve()
        #expect(resolved.username == "gw" && resolved.password == "s3cret")
    }

    @Test("Missing or malformed sources fail with credentialsUnavailable, naming the source")
    func failures() throws {
        let missing = #expect(throws: MQTTError.self) { try MQTTCredentials.file("/nonexistent/pspf").resolve() }
        #expect(missing?.code == .credentialsUnavailable)
        #expect(missing?.message.contains("/nonexistent/pspf") == true)
        let oneLine = try temporaryFile("just-a-user\n")
        defer { unlink(oneLine) }
        let malformed = #expect(throws: MQTTError.self) { try MQTTCredentials.file(oneLine).resolve() }
        #expect(malformed?.message.contains("line 2") == true)
        let variable = "PSPF_SURELY_UNSET_\(UInt32.random(in: 0...UInt32.max))"
        let unset = #expect(throws: MQTTError.self) {
            try MQTTCredentials.environment(username: variable, password: variable).resolve()
        }
        #expect(unset?.message.contains(variable) == true)
    }

    @Test("No textual form reveals a secret")
    func redaction() {
        let credentials = MQTTCredentials.literal(username: "gateway-user", password: "hunter2-secret")
        var configuration = MQTTClientConfiguration(host: "broker.example")
        configuration.credentials = credentials
        var dumped = ""
        dump(configuration, to: &dumped)
        var dumpedCredentials = ""
        dump(credentials, to: &dumpedCredentials)
        for text in [
            "\(credentials)", String(reflecting: credentials), dumpedCredentials, "\(configuration)",
            String(reflecting: configuration), dumped,
        ] {
            #expect(!text.contains("hunter2-secret"), "leaked in: \(text)")
            #expect(!text.contains("gateway-user"), "leaked in: \(text)")
        }
        #expect("\(MQTTCredentials.environment(username: "U", password: "P"))".contains("$P"))
        #expect("\(MQTTCredentials.file("/etc/pspf/mqtt"))".contains("/etc/pspf/mqtt"))
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    static func base() -> MQTTClientConfiguration { MQTTClientConfiguration(host: "127.0.0.1") }

    static let invalid: [(String, @Sendable (inout MQTTClientConfiguration) -> Void)] = [
        ("keepalive below libmosquitto's 5 s", { $0.keepalive = .seconds(3) }),
        ("fractional keepalive", { $0.keepalive = .milliseconds(7500) }),
        ("persistent session without client id", { $0.cleanSession = false }),
        ("port 0", { $0.port = 0 }),
        ("empty window", { $0.maxInflightPublishes = 0 }),
        ("receive maximum on 3.1.1", { $0.protocolVersion = .v311; $0.receiveMaximum = 10 }),
        ("TLS without a trust anchor", { $0.tls = MQTTTLSConfiguration() }),
        ("certificate without key", { $0.tls = MQTTTLSConfiguration(caFile: "/ca", certificateFile: "/c") }),
        ("wildcard status topic", { $0.status = MQTTGatewayStatus(topic: "gw/+/status") }),
        ("jitter above 1", { $0.reconnect.jitter = 1.5 }),
        ("maximum below initial delay", { $0.reconnect.maximumDelay = .milliseconds(1) }),
    ]

    @Test("Invalid settings are rejected with invalidConfiguration", arguments: invalid.indices)
    func rejects(index: Int) {
        var configuration = Self.base()
        Self.invalid[index].1(&configuration)
        let error = #expect(throws: MQTTError.self, "\(Self.invalid[index].0)") { try configuration.validate() }
        #expect(error?.code == .invalidConfiguration)
        let client = #expect(throws: MQTTError.self) { try MQTTClient(configuration: configuration) }
        #expect(client?.code == .invalidConfiguration)
    }

    @Test("Valid settings pass; keepalive 0 disables it")
    func accepts() throws {
        var configuration = Self.base()
        try configuration.validate()
        configuration.keepalive = .zero
        try configuration.validate()
        configuration.keepalive = .seconds(5)
        configuration.clientID = "gw"
        configuration.cleanSession = false
        configuration.tls = MQTTTLSConfiguration(caFile: "/ca")
        configuration.status = MQTTGatewayStatus(topic: "gw/status")
        try configuration.validate()
    }

    @Test("MQTT 5 session expiry: never for a persistent session unless set; none otherwise")
    func sessionExpiry() {
        var configuration = Self.base()
        #expect(configuration.sessionExpirySeconds == nil)
        configuration.cleanSession = false
        configuration.clientID = "gw"
        #expect(configuration.sessionExpirySeconds == UInt32.max)
        configuration.sessionExpiry = .seconds(3600)
        #expect(configuration.sessionExpirySeconds == 3600)
        configuration.protocolVersion = .v311
        #expect(configuration.sessionExpirySeconds == nil)
    }

    @Test("Subscriptions: shared form, options byte, filter validation")
    func subscriptions() throws {
        let shared = MQTTSubscription.shared(group: "ingest", filter: "sensors/+/reading", qos: .exactlyOnce)
        #expect(shared.topicFilter == "$share/ingest/sensors/+/reading")
        #expect(shared.shareGroup == "ingest")
        #expect(shared.qos == .exactlyOnce)
        #expect(MQTTSubscription("a/b").shareGroup == nil)
        let options = MQTTSubscription("a", noLocal: true, retainAsPublished: true, retainHandling: .doNotSend)
        #expect(options.optionsBits == 0x04 | 0x08 | 0x20)
        try MQTTSubscription("a/+/b/#").validate()
        #expect(throws: MQTTError.self) { try MQTTSubscription("a/#/b").validate() }
        #expect(throws: MQTTError.self) { try MQTTSubscription("$share/g/t", noLocal: true).validate() }
    }
}

@Suite("Client lifecycle without a broker")
struct ClientLifecycleTests {
    @Test("Work queued before connect() fails with .closed on disconnect(); the client stays closed")
    func queuedBeforeConnect() async throws {
        let client = try MQTTClient(configuration: MQTTClientConfiguration(host: "127.0.0.1", port: 1))
        let publish = Task { try await client.publish(topic: "a", payload: [1], qos: .atLeastOnce) }
        let subscribe = Task { try await client.subscribe([MQTTSubscription("a")]) }
        let callback = Observed<MQTTError.Code?>(nil)
        try client.publish(topic: "b", payload: [2]) { result in
            if case .failure(let error) = result { callback.update { $0 = error.code } }
        }
        await client.disconnect()
        await #expect(throws: MQTTError.self) { try await publish.value }
        await #expect(throws: MQTTError.self) { try await subscribe.value }
        try await callback.wait("the callback failure") { $0 == .closed }
        let connect = await #expect(throws: MQTTError.self) { try await client.connect() }
        #expect(connect?.code == .closed)
        let late = #expect(throws: MQTTError.self) { try client.publish(topic: "c", payload: []) { _ in } }
        #expect(late?.code == .closed)
    }

    @Test("Invalid topic filters are rejected before anything is sent")
    func invalidFilter() async throws {
        let client = try MQTTClient(configuration: MQTTClientConfiguration(host: "127.0.0.1", port: 1))
        let error = await #expect(throws: MQTTError.self) { try await client.subscribe([MQTTSubscription("a/#/b")]) }
        #expect(error?.code == .invalidArgument)
    }
}

#if canImport(Glibc)
import Glibc
#endif
