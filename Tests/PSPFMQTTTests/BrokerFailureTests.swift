import Foundation
import PSPFMQTT
import PSPFTesting
import Synchronization
import Testing

/// Broker crashes, TLS and authentication against a real mosquitto on loopback.
@Suite("Real broker: crash and restart, TLS, authentication")
struct BrokerFailureTests {
    /// Collects messages; blocks once inside `readPhaseEnded()` after `blockAfter` messages,
    /// with their PUBACKs unsent, until the test opens the gate.
    final class StallingHandler: MQTTMessageHandler {
        let payloads = Observed<[String]>([])
        let stalled = Observed(false)
        let gate = Gate()
        let blockAfter: Int
        private let hasBlocked = Atomic<Bool>(false)

        init(blockAfter: Int) { self.blockAfter = blockAfter }

        func received(_ message: MQTTMessageView) {
            let payload = String(decoding: message.payload, as: UTF8.self)
            payloads.update { $0.append(payload) }
        }

        func readPhaseEnded() throws {
            if payloads.value.count >= blockAfter, !hasBlocked.exchange(true, ordering: .relaxed) {
                stalled.update { $0 = true }
                gate.wait()
            }
        }
    }

    @Test(
        "SIGKILL and restart mid-stream with persistence: QoS 1, persistent session, nothing lost",
        arguments: [MQTTProtocolVersion.v311, .v5])
    func brokerKilledMidStream(version: MQTTProtocolVersion) async throws {
        let broker = try await BrokerFixture.start(.init(persistence: .everyChange))
        defer { broker.cleanUp() }
        let topic = uniqueName("durable")
        let total = 1000, firstBatch = 500

        let handler = StallingHandler(blockAfter: 100)
        let subscriber = try MQTTClient(
            configuration: configuration(broker.port, clientID: uniqueName("ingest"), version: version, cleanSession: false),
            handler: handler)
        let subscriberEvents = EventRecorder(subscriber)
        try await subscriber.connect()
        try await subscriber.subscribe([MQTTSubscription(topic, qos: .atLeastOnce)])

        let publisher = try MQTTClient(
            configuration: configuration(broker.port, clientID: uniqueName("sensor"), version: version, cleanSession: false))
        let publisherEvents = EventRecorder(publisher)
        try await publisher.connect()
        for index in 0..<firstBatch {
            try await publisher.publish(topic: topic, payload: Array("msg-\(index)".utf8), qos: .atLeastOnce)
        }
        // The broker autosaves after the main-loop iteration that queued a message and before it
        // reads this client's next packet; the acknowledged sentinel proves that save happened.
        try await publisher.publish(topic: topic + "/sentinel", payload: [], qos: .atLeastOnce)

        // Mid-stream: the subscriber holds a batch whose PUBACKs are not sent.
        try await handler.stalled.wait("the subscriber to stall mid-stream") { $0 }
        try await broker.kill()
        handler.gate.open()
        try await subscriberEvents.events.wait("the subscriber to notice") { $0.contains(where: \.isConnectionLost) }
        try await publisherEvents.events.wait("the publisher to notice") { $0.contains(where: \.isConnectionLost) }

        // Publish the second half while the broker is down: QoS 1 is queued and sent after reconnecting.
        let secondHalf = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in firstBatch..<total {
                    group.addTask {
                        try await publisher.publish(topic: topic, payload: Array("msg-\(index)".utf8), qos: .atLeastOnce)
                    }
                }
                try await group.waitForAll()
            }
        }
        try await broker.restart()
        try await secondHalf.value

        let expected = Set((0..<total).map { "msg-\($0)" })
        let received = try await handler.payloads.wait("all \(total) messages") { Set($0) == expected }
        #expect(Set(received) == expected)
        #expect(received.count >= total)
        let duplicates = received.count - Set(received).count
        // The stalled batch was never acknowledged, so the broker redelivers it: duplicates, no loss.
        #expect(duplicates > 0)
        let reconnect = subscriberEvents.events.value.filter(\.isConnected).last
        if case .connected(let sessionPresent) = reconnect { #expect(sessionPresent, "the persisted session resumed") }
        await publisher.disconnect()
        await subscriber.disconnect()
    }

    @Test("TLS with a CA, a server certificate and a client certificate generated at test time")
    func tlsRoundTrip() async throws {
        let pki = try await BrokerCertificates.generate()
        defer { pki.cleanUp() }
        let broker = try await BrokerFixture.start(.init(tls: .init(pki, requireClientCertificate: true)))
        defer { broker.cleanUp() }
        var config = configuration(broker.port, clientID: uniqueName("tls"))
        config.tls = MQTTTLSConfiguration(
            caFile: pki.caFile, certificateFile: pki.clientCertificateFile, keyFile: pki.clientKeyFile)
        #expect(config.tls?.verifyPeer == true && config.tls?.verifyHostname == true)
        let handler = CollectingHandler()
        let client = try MQTTClient(configuration: config, handler: handler)
        try await client.connect()
        let topic = uniqueName("secure")
        try await client.subscribe([MQTTSubscription(topic, qos: .atLeastOnce)])
        for index in 0..<100 {
            try await client.publish(topic: topic, payload: Array("tls-\(index)".utf8), qos: .atLeastOnce)
        }
        try await handler.messages.wait("100 messages over TLS") { $0.count == 100 }
        #expect(handler.payloads == (0..<100).map { "tls-\($0)" })
        await client.disconnect()
    }

    @Test("TLS with the wrong CA fails with a clear error")
    func tlsWrongCA() async throws {
        let pki = try await BrokerCertificates.generate()
        let other = try await BrokerCertificates.generate(name: "Unrelated")
        defer {
            pki.cleanUp()
            other.cleanUp()
        }
        let broker = try await BrokerFixture.start(.init(tls: .init(pki)))
        defer { broker.cleanUp() }
        var config = configuration(broker.port)
        config.tls = MQTTTLSConfiguration(caFile: other.caFile)
        let client = try MQTTClient(configuration: config)
        let error = await #expect(throws: MQTTError.self) { try await client.connect() }
        #expect(error?.code == .tls)
        #expect(error?.message.contains("certificate verify failed") == true, "message: \(error?.message ?? "-")")
        #expect(!client.isConnected)
    }

    @Test("TLS without the client certificate the broker requires fails")
    func tlsMissingClientCertificate() async throws {
        let pki = try await BrokerCertificates.generate()
        defer { pki.cleanUp() }
        let broker = try await BrokerFixture.start(.init(tls: .init(pki, requireClientCertificate: true)))
        defer { broker.cleanUp() }
        var config = configuration(broker.port)
        config.tls = MQTTTLSConfiguration(caFile: pki.caFile)
        let client = try MQTTClient(configuration: config)
        let error = await #expect(throws: MQTTError.self) { try await client.connect() }
        #expect([.tls, .connectionLost, .protocolError].contains(error?.code), "got \(String(describing: error))")
    }

    @Test("TLS against a plain listener fails when the broker hangs up, not at the connect timeout")
    func tlsAgainstPlainListener() async throws {
        let pki = try await BrokerCertificates.generate()
        defer { pki.cleanUp() }
        let broker = try await BrokerFixture.start()   // plain TCP
        defer { broker.cleanUp() }
        var config = configuration(broker.port)
        config.tls = MQTTTLSConfiguration(caFile: pki.caFile)
        config.reconnect.connectTimeout = .seconds(120)
        let client = try MQTTClient(configuration: config)
        let outcome = Observed<MQTTError?>(nil)
        Task {
            do { try await client.connect() } catch let error as MQTTError { outcome.update { $0 = error } }
        }
        // Generous bound, far below the 120 s connect timeout: only a failure of the hang-up
        // handling makes this wait time out.
        let error = try await outcome.wait("connect() to fail", timeout: .seconds(60)) { $0 != nil }
        #expect(error?.code != .timeout, "got \(String(describing: error))")
    }

    @Test("A wrong password is refused with the broker's reason", arguments: [MQTTProtocolVersion.v311, .v5])
    func wrongPassword(version: MQTTProtocolVersion) async throws {
        let broker = try await BrokerFixture.start(.init(users: ["gateway": "correct-horse"]))
        defer { broker.cleanUp() }
        var config = configuration(broker.port, version: version)
        config.credentials = .literal(username: "gateway", password: "battery-staple")
        let client = try MQTTClient(configuration: config)
        do {
            try await client.connect()
            Issue.record("connect succeeded with a wrong password")
        } catch MQTTError.Code.connectionRefused {
            // The code matches in a catch pattern; check the details below.
        }
        let error = await #expect(throws: MQTTError.self) {
            try await MQTTClient(configuration: config).connect()
        }
        let message = error?.message.lowercased() ?? ""
        #expect(message.contains("not authorised") || message.contains("not authorized") || message.contains("bad user name or password"), "message: \(message)")
        switch version {
        case .v311: #expect(error?.reasonCode == 4 || error?.reasonCode == 5)
        case .v5: #expect(error?.reasonCode == 0x86 || error?.reasonCode == 0x87)
        }
        #expect(!(error?.description.contains("battery-staple") ?? true), "the password never appears in errors")
    }

    @Test("Credentials from a file and from the environment")
    func credentialSources() async throws {
        let broker = try await BrokerFixture.start(.init(users: ["gateway": "correct-horse"]))
        defer { broker.cleanUp() }
        let file = NSTemporaryDirectory() + "/" + uniqueName("pspf-credentials")
        try "gateway\ncorrect-horse\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let userVariable = uniqueName("PSPF_TEST_USER").replacingOccurrences(of: "-", with: "_")
        let passwordVariable = uniqueName("PSPF_TEST_PASSWORD").replacingOccurrences(of: "-", with: "_")
        setenv(userVariable, "gateway", 1)
        setenv(passwordVariable, "correct-horse", 1)
        defer {
            unsetenv(userVariable)
            unsetenv(passwordVariable)
        }
        for credentials in [MQTTCredentials.file(file), .environment(username: userVariable, password: passwordVariable)] {
            var config = configuration(broker.port)
            config.credentials = credentials
            try await withMQTTClient(configuration: config) { client in
                #expect(client.isConnected)
                try await client.publish(topic: "auth/ok", payload: Array("x".utf8), qos: .atLeastOnce)
            }
        }
    }

    @Test("No broker listening: the initial connect fails with the system error")
    func connectionRefused() async throws {
        let port = try freeLoopbackPort()
        let client = try MQTTClient(configuration: configuration(port))
        let error = await #expect(throws: MQTTError.self) { try await client.connect() }
        #expect(error?.code == .system)
        #expect(error?.message.contains("Connection refused") == true, "message: \(error?.message ?? "-")")
        // A failed client is closed; it does not connect again.
        let again = await #expect(throws: MQTTError.self) { try await client.connect() }
        #expect(again?.code == .closed)
    }
}
