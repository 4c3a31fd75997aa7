import Foundation
import PSPFMQTT
import PSPFTesting
import Testing

/// Wall-clock check of paused reading against a real broker. libmosquitto's keepalive counts
/// whole seconds from its own monotonic clock and cannot be injected, and its minimum is 5 s,
/// so this test has to let ~3 keepalive intervals pass. It is opt-in
/// (`PSPF_MQTT_SLOW_TESTS=1`); the decision logic itself is covered without waiting by
/// `ReadSchedulerTests`.
@Suite(
    "Paused reading over several keepalive intervals (slow, PSPF_MQTT_SLOW_TESTS=1)",
    .enabled(if: ProcessInfo.processInfo.environment["PSPF_MQTT_SLOW_TESTS"] == "1"))
struct PausedReadingSlowTests {
    @Test("readingPaused keeps the connection alive for 3+ keepalive intervals, then delivers everything")
    func pausedSurvivesKeepalive() async throws {
        let broker = try await BrokerFixture.start()
        defer { broker.cleanUp() }
        let topic = uniqueName("paused")
        let handler = CollectingHandler()
        var subscriberConfiguration = configuration(broker.port, clientID: uniqueName("paused"), cleanSession: false)
        subscriberConfiguration.keepalive = .seconds(5)
        let subscriber = try MQTTClient(configuration: subscriberConfiguration, handler: handler)
        let events = EventRecorder(subscriber)
        try await subscriber.connect()
        try await subscriber.subscribe([MQTTSubscription(topic, qos: .atLeastOnce)])

        subscriber.readingPaused = true
        let publisher = try MQTTClient(configuration: configuration(broker.port))
        try await publisher.connect()
        for index in 0..<50 {
            try await publisher.publish(topic: topic, payload: Array("p\(index)".utf8), qos: .atLeastOnce)
        }
        // The duration is what is under test here, not a condition being waited for.
        try await Task.sleep(for: .seconds(17))
        #expect(subscriber.isConnected)
        #expect(events.count(where: \.isConnectionLost) == 0, "events: \(events.events.value)")

        subscriber.readingPaused = false
        try await handler.messages.wait("all 50 messages") { Set($0.map(\.payload)).count == 50 }
        #expect(Set(handler.payloads) == Set((0..<50).map { "p\($0)" }))
        await publisher.disconnect()
        await subscriber.disconnect()
    }
}
