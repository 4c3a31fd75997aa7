import PSPFTesting
import Foundation
import PSPFMQTT
import Synchronization
import Testing

/// Verifies, against a scripted broker that sees every byte, exactly when libmosquitto's
/// acknowledgements leave relative to the message callback and `readPhaseEnded()`. The checks
/// are deterministic: while the handler blocks inside `readPhaseEnded()` the network thread
/// (the only thread that writes) is parked, so "no PUBACK yet" cannot be a timing accident.
@Suite("Acknowledgement timing (scripted broker)")
struct AckTimingTests {
    /// Blocks in `readPhaseEnded()` until the test opens the gate; can be told to fail.
    final class BlockingHandler: MQTTMessageHandler {
        let received = Observed<[String]>([])
        let phaseEntered = Observed(0)
        let gate = Gate()
        let failNext = Atomic<Bool>(false)
        let blocking = Atomic<Bool>(true)

        struct Failure: Error {}

        func received(_ message: MQTTMessageView) {
            let payload = String(decoding: message.payload, as: UTF8.self)
            received.update { $0.append(payload) }
        }

        func readPhaseEnded() throws {
            phaseEntered.update { $0 += 1 }
            if blocking.load(ordering: .relaxed) { gate.wait() }
            if failNext.exchange(false, ordering: .relaxed) { throw Failure() }
        }
    }

    func connect(_ handler: (any MQTTMessageHandler)?, to fake: FakeBroker, maxInflight: Int = 256) async throws
        -> (MQTTClient, FakeConnection)
    {
        var config = configuration(fake.port, clientID: uniqueName("ack"), version: .v311, cleanSession: false)
        config.maxInflightPublishes = maxInflight
        let client = try MQTTClient(configuration: config, handler: handler)
        async let accepted = offPool { try fake.acceptClient() }
        try await client.connect()
        return (client, try await accepted)
    }

    @Test("QoS 1: the PUBACK is written only after readPhaseEnded() returns")
    func qos1PubackAfterReadPhase() async throws {
        let fake = try FakeBroker()
        let handler = BlockingHandler()
        let (client, connection) = try await connect(handler, to: fake)

        try await offPool { try connection.send(.publish(topic: "t/1", payload: "m1", qos: 1, id: 7)) }
        try await handler.phaseEntered.wait("readPhaseEnded") { $0 == 1 }
        #expect(handler.received.value == ["m1"])        // the callback ran...
        #expect(!connection.hasUnreadInput())              // ...but no PUBACK has been written
        handler.gate.open()
        let ack = try await offPool { try connection.readPacket() }
        #expect(ack == .puback(7))

        handler.blocking.store(false, ordering: .relaxed)
        await client.disconnect()
    }

    @Test("QoS 2: PUBREC before delivery; delivery on PUBREL; PUBCOMP only after readPhaseEnded()")
    func qos2Timing() async throws {
        let fake = try FakeBroker()
        let handler = BlockingHandler()
        let (client, connection) = try await connect(handler, to: fake)

        try await offPool { try connection.send(.publish(topic: "t/2", payload: "m2", qos: 2, id: 9)) }
        let pubrec = try await offPool { try connection.readPacket() }
        #expect(pubrec == .pubrec(9))
        // libmosquitto holds the message until PUBREL: nothing delivered, no read phase with messages.
        #expect(handler.received.value.isEmpty)
        #expect(handler.phaseEntered.value == 0)

        try await offPool { try connection.send(.pubrel(9)) }
        try await handler.phaseEntered.wait("readPhaseEnded") { $0 == 1 }
        #expect(handler.received.value == ["m2"])
        #expect(!connection.hasUnreadInput())              // PUBCOMP queued, not written
        handler.gate.open()
        let pubcomp = try await offPool { try connection.readPacket() }
        #expect(pubcomp == .pubcomp(9))

        handler.blocking.store(false, ordering: .relaxed)
        await client.disconnect()
    }

    @Test("One read phase batches several messages; all PUBACKs follow the single readPhaseEnded()")
    func batchAcknowledgedTogether() async throws {
        let fake = try FakeBroker()
        let handler = BlockingHandler()
        let (client, connection) = try await connect(handler, to: fake)

        // One write with three PUBLISHes: they arrive together and form one read phase.
        let bytes = (1...3).flatMap { Packet.publish(topic: "t/b", payload: "b\($0)", qos: 1, id: UInt16(20 + $0)).encoded }
        try await offPool { try connection.send(bytes) }
        try await handler.phaseEntered.wait("readPhaseEnded") { $0 == 1 }
        #expect(handler.received.value == ["b1", "b2", "b3"])
        #expect(!connection.hasUnreadInput())
        handler.gate.open()
        let acks = try await offPool { try (0..<3).map { _ in try connection.readPacket() } }
        #expect(acks == [.puback(21), .puback(22), .puback(23)])

        handler.blocking.store(false, ordering: .relaxed)
        await client.disconnect()
    }

    @Test("readPhaseEnded() throwing drops the connection without acknowledging; redelivery is acknowledged")
    func handlerFailureDropsWithoutAck() async throws {
        let fake = try FakeBroker()
        let handler = BlockingHandler()
        handler.blocking.store(false, ordering: .relaxed)
        handler.failNext.store(true, ordering: .relaxed)
        let (client, connection) = try await connect(handler, to: fake)
        let recorder = EventRecorder(client)

        try await offPool { try connection.send(.publish(topic: "t/f", payload: "f1", qos: 1, id: 11)) }
        let beforeClose = try await offPool { try connection.readUntilClosed() }
        #expect(beforeClose.isEmpty, "no PUBACK may precede the drop, got \(beforeClose)")
        try await recorder.events.wait("connectionLost(messageHandlerFailed)") { events in
            events.contains { if case .connectionLost(let e) = $0 { e.code == .messageHandlerFailed } else { false } }
        }

        // The client reconnects; the broker redelivers (DUP) and this time it is acknowledged.
        let second = try await offPool { try fake.acceptClient(sessionPresent: true) }
        try await offPool { try second.send(.publish(topic: "t/f", payload: "f1", qos: 1, id: 11, dup: true)) }
        let ack = try await offPool { try second.readPacket() }
        #expect(ack == .puback(11))
        #expect(handler.received.value == ["f1", "f1"])
        await client.disconnect()
    }

    @Test("publish() completes only after PUBACK (QoS 1)")
    func publishCompletesOnPuback() async throws {
        let fake = try FakeBroker()
        let (client, connection) = try await connect(nil, to: fake)
        let completed = Observed(false)
        let task = Task {
            try await client.publish(topic: "out/1", payload: Array("p1".utf8), qos: .atLeastOnce)
            completed.update { $0 = true }
        }
        let publish = try await offPool { try connection.readPacket() }
        let content = try #require(publish.publishContent)
        #expect(content.topic == "out/1" && content.payload == "p1")
        // The broker has not answered: whatever the client does, the publish cannot be complete.
        #expect(!completed.value)
        try await offPool { try connection.send(.puback(content.id!)) }
        try await task.value
        #expect(completed.value)
        await client.disconnect()
    }

    @Test("publish() completes only after PUBCOMP (QoS 2)")
    func publishCompletesOnPubcomp() async throws {
        let fake = try FakeBroker()
        let (client, connection) = try await connect(nil, to: fake)
        let completed = Observed(false)
        let task = Task {
            try await client.publish(topic: "out/2", payload: Array("p2".utf8), qos: .exactlyOnce)
            completed.update { $0 = true }
        }
        let publish = try await offPool { try connection.readPacket() }
        let id = try #require(publish.publishContent?.id)
        try await offPool { try connection.send(.pubrec(id)) }
        let pubrel = try await offPool { try connection.readPacket() }
        #expect(pubrel == .pubrel(id))
        #expect(!completed.value)
        try await offPool { try connection.send(.pubcomp(id)) }
        try await task.value
        #expect(completed.value)
        await client.disconnect()
    }

    @Test("The in-flight window bounds unacknowledged publishes")
    func inflightWindow() async throws {
        let fake = try FakeBroker()
        let (client, connection) = try await connect(nil, to: fake, maxInflight: 2)
        let results = Observed<[String]>([])
        for name in ["w1", "w2"] {
            try client.publish(topic: "out/w", payload: Array(name.utf8), qos: .atLeastOnce) { result in
                results.update { $0.append("\(name):\((try? result.get()) != nil)") }
            }
        }
        #expect(client.inflightPublishes == 2)
        let full = #expect(throws: MQTTError.self) {
            try client.publish(topic: "out/w", payload: Array("w3".utf8), qos: .atLeastOnce) { _ in }
        }
        #expect(full?.code == .inflightWindowFull)
        // An async publish waits for a slot instead.
        let third = Task { try await client.publish(topic: "out/w", payload: Array("w3".utf8), qos: .atLeastOnce) }
        let first = try await offPool { try connection.readPacket() }
        let second = try await offPool { try connection.readPacket() }
        #expect([first, second].compactMap { $0.publishContent?.payload } == ["w1", "w2"])
        try await offPool { try connection.send(.puback(first.publishContent!.id!)) }
        let next = try await offPool { try connection.readPacket() }
        #expect(next.publishContent?.payload == "w3")
        try await offPool {
            try connection.send(.puback(second.publishContent!.id!))
            try connection.send(.puback(next.publishContent!.id!))
        }
        try await third.value
        try await results.wait("both callbacks") { $0.count == 2 }
        #expect(results.value == ["w1:true", "w2:true"])
        await client.disconnect()
    }

    @Test("Cancelling a publish that waits for a window slot throws CancellationError and frees nothing twice")
    func cancelWhileWaitingForSlot() async throws {
        let fake = try FakeBroker()
        let (client, connection) = try await connect(nil, to: fake, maxInflight: 1)
        let first = Task { try await client.publish(topic: "out/c", payload: Array("c1".utf8)) }
        let sent = try await offPool { try connection.readPacket() }
        #expect(client.inflightPublishes == 1)
        let waiting = Task { try await client.publish(topic: "out/c", payload: Array("c2".utf8)) }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        try await offPool { try connection.send(.puback(sent.publishContent!.id!)) }
        try await first.value
        #expect(client.inflightPublishes == 0)
        // The window works normally afterwards.
        let third = Task { try await client.publish(topic: "out/c", payload: Array("c3".utf8)) }
        let next = try await offPool { try connection.readPacket() }
        #expect(next.publishContent?.payload == "c3")
        try await offPool { try connection.send(.puback(next.publishContent!.id!)) }
        try await third.value
        await client.disconnect()
    }

    @Test("QoS 2 window: a message between PUBREC and PUBREL is lost if the process restarts (documented)")
    func qos2LostAcrossProcessRestart() async throws {
        let fake = try FakeBroker()
        let clientID = uniqueName("qos2")
        var config = configuration(fake.port, clientID: clientID, version: .v311, cleanSession: false)
        config.reconnect.initialDelay = .seconds(30)   // the first client must not come back by itself
        config.reconnect.maximumDelay = .seconds(30)
        let firstHandler = CollectingHandler()
        let first = try MQTTClient(configuration: config, handler: firstHandler)
        async let accepted = offPool { try fake.acceptClient() }
        try await first.connect()
        let connection = try await accepted
        try await offPool { try connection.send(.publish(topic: "t/q2", payload: "held", qos: 2, id: 5)) }
        let pubrec = try await offPool { try connection.readPacket() }
        #expect(pubrec == .pubrec(5))
        #expect(firstHandler.messages.value.isEmpty)   // libmosquitto holds it in memory only
        // The process "dies": its libmosquitto state is gone. A new client (new handle) takes the
        // session; the broker, having seen PUBREC, only sends PUBREL (MQTT forbids resending PUBLISH).
        await first.disconnect()
        let secondHandler = CollectingHandler()
        let second = try MQTTClient(configuration: config, handler: secondHandler)
        async let acceptedAgain = offPool { try fake.acceptClient(sessionPresent: true) }
        try await second.connect()
        let again = try await acceptedAgain
        try await offPool { try again.send(.pubrel(5)) }
        let pubcomp = try await offPool { try again.readPacket() }
        #expect(pubcomp == .pubcomp(5))                  // libmosquitto completes the unknown id...
        #expect(secondHandler.messages.value.isEmpty)    // ...without ever delivering the message.
        #expect(secondHandler.readPhases.value == 0)
        await second.disconnect()
    }
}
