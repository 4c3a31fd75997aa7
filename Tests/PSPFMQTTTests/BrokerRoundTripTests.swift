import Foundation
import PSPFMQTT
import PSPFTesting
import Testing

/// Round trips through a real mosquitto on loopback.
@Suite("Real broker: round trips, shared subscriptions, status, restore")
struct BrokerRoundTripTests {
    static let versions: [MQTTProtocolVersion] = [.v311, .v5]

    @Test("Round trip at every QoS", arguments: MQTTQoS.allCases, versions)
    func roundTrip(qos: MQTTQoS, version: MQTTProtocolVersion) async throws {
        let broker = try await BrokerFixture.start()
        defer { broker.cleanUp() }
        let topic = uniqueName("rt")
        let handler = CollectingHandler()
        let subscriber = try MQTTClient(
            configuration: configuration(broker.port, clientID: uniqueName("sub"), version: version), handler: handler)
        try await subscriber.connect()
        let granted = try await subscriber.subscribe([MQTTSubscription(topic + "/#", qos: qos)])
        #expect(granted == [qos])

        let publisher = try MQTTClient(configuration: configuration(broker.port, version: version))
        try await publisher.connect()
        let count = 50
        for index in 0..<count {
            try await publisher.publish(topic: "\(topic)/\(index % 3)", payload: Array("m\(index)".utf8), qos: qos)
        }
        let messages = try await handler.messages.wait("\(count) messages") { $0.count >= count }
        #expect(messages.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<count).map { "m\($0)" })
        #expect(messages.map(\.topic) == (0..<count).map { "\(topic)/\($0 % 3)" })
        #expect(messages.allSatisfy { $0.qos == qos && !$0.retain })
        await publisher.disconnect()
        await subscriber.disconnect()
    }

    @Test("A shared subscription splits the load across two clients")
    func sharedSubscription() async throws {
        let broker = try await BrokerFixture.start()
        defer { broker.cleanUp() }
        let topic = uniqueName("shared")
        let everything = Observed<[MQTTMessage]>([])
        let handlers = [CollectingHandler(alsoInto: everything), CollectingHandler(alsoInto: everything)]
        var members: [MQTTClient] = []
        for handler in handlers {
            let client = try MQTTClient(configuration: configuration(broker.port, clientID: uniqueName("member")), handler: handler)
            try await client.connect()
            let subscription = MQTTSubscription.shared(group: "g", filter: topic, qos: .atLeastOnce)
            #expect(subscription.topicFilter == "$share/g/\(topic)")
            try await client.subscribe([subscription])
            members.append(client)
        }
        let publisher = try MQTTClient(configuration: configuration(broker.port))
        try await publisher.connect()
        let count = 200
        for index in 0..<count {
            try await publisher.publish(topic: topic, payload: Array("s\(index)".utf8), qos: .atLeastOnce)
        }
        try await everything.wait("\(count) messages across both members") { $0.count >= count }
        let a = Set(handlers[0].payloads), b = Set(handlers[1].payloads)
        #expect(!a.isEmpty && !b.isEmpty, "both members receive some (got \(a.count) and \(b.count))")
        #expect(a.isDisjoint(with: b))
        #expect(a.union(b) == Set((0..<count).map { "s\($0)" }))
        await publisher.disconnect()
        for member in members { await member.disconnect() }
    }

    @Test("Subscriptions are restored after the broker lost the session")
    func subscriptionsRestored() async throws {
        let broker = try await BrokerFixture.start()   // no persistence: a restart forgets everything
        defer { broker.cleanUp() }
        let topic = uniqueName("restore")
        let handler = CollectingHandler()
        let client = try MQTTClient(
            configuration: configuration(broker.port, clientID: uniqueName("restorer"), cleanSession: false), handler: handler)
        let recorder = EventRecorder(client)
        try await client.connect()
        try await client.subscribe([MQTTSubscription(topic, qos: .atLeastOnce)])

        try await broker.stop()
        try await broker.restart()
        try await recorder.events.wait("reconnected") { $0.filter(\.isConnected).count >= 2 }
        let reconnected = recorder.events.value.filter(\.isConnected).last
        if case .connected(let sessionPresent) = reconnected { #expect(!sessionPresent) }

        // Packets of one connection are processed in order: the restored SUBSCRIBE was queued at
        // CONNACK, before this PUBLISH, so the message can only come back if it was restored.
        try await client.publish(topic: topic, payload: Array("after-restart".utf8), qos: .atLeastOnce)
        let messages = try await handler.messages.wait("the message after the restart") { !$0.isEmpty }
        #expect(messages.map { String(decoding: $0.payload, as: UTF8.self) } == ["after-restart"])
        await client.disconnect()
    }

    @Test("Retained birth message, Last Will on an unclean drop, offline on graceful disconnect")
    func statusTopic() async throws {
        let broker = try await BrokerFixture.start()
        defer { broker.cleanUp() }
        let statusTopic = uniqueName("gw") + "/status"
        let observerHandler = CollectingHandler()
        let observer = try MQTTClient(configuration: configuration(broker.port), handler: observerHandler)
        try await observer.connect()
        try await observer.subscribe([MQTTSubscription(statusTopic, qos: .atLeastOnce)])

        // A gateway whose handler fails once: the client drops the connection without DISCONNECT.
        final class FailOnce: MQTTMessageHandler {
            let failed = Observed(false)
            func received(_ message: MQTTMessageView) {}
            func readPhaseEnded() throws {
                if !failed.value {
                    failed.update { $0 = true }
                    throw CancellationError()
                }
            }
        }
        let failOnce = FailOnce()
        var gatewayConfiguration = configuration(broker.port, clientID: uniqueName("gateway"))
        gatewayConfiguration.status = MQTTGatewayStatus(topic: statusTopic)
        let gateway = try MQTTClient(configuration: gatewayConfiguration, handler: failOnce)
        try await gateway.connect()
        try await observerHandler.messages.wait("online") { $0.map { String(decoding: $0.payload, as: UTF8.self) } == ["online"] }
        #expect(observerHandler.messages.value.first?.retain == false)   // live delivery, retained on the broker

        let poke = uniqueName("poke")
        try await gateway.subscribe([MQTTSubscription(poke, qos: .atLeastOnce)])
        try await observer.publish(topic: poke, payload: Array("x".utf8), qos: .atLeastOnce)
        try await observerHandler.messages.wait("offline (Will) then online again") {
            $0.map { String(decoding: $0.payload, as: UTF8.self) } == ["online", "offline", "online"]
        }

        await gateway.disconnect()
        try await observerHandler.messages.wait("offline on graceful disconnect") {
            $0.map { String(decoding: $0.payload, as: UTF8.self) } == ["online", "offline", "online", "offline"]
        }

        // The status is retained: a newcomer sees the last one at once.
        let lateHandler = CollectingHandler()
        let late = try MQTTClient(configuration: configuration(broker.port), handler: lateHandler)
        try await late.connect()
        try await late.subscribe([MQTTSubscription(statusTopic, qos: .atLeastOnce)])
        let retained = try await lateHandler.messages.wait("retained status") { !$0.isEmpty }
        #expect(retained.first.map { String(decoding: $0.payload, as: UTF8.self) } == "offline")
        #expect(retained.first?.retain == true)
        await late.disconnect()
        await observer.disconnect()
    }
}
