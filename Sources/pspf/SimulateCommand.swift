import ArgumentParser
import Foundation
import Logging
import PSPFMQTT
import PSPFRuntime

/// `pspf simulate`: simulated devices publishing JSON readings to MQTT at a fixed rate.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Publish simulated sensor readings to <prefix>/<device>/reading at a fixed rate.",
        discussion: """
            Readings look like {"device":"dev-0007","ts":1732406400123,"temp":21.53,"hum":40.1}; event \
            times start now and advance with the rate. A few readings arrive out of order, late or \
            malformed (as DeviceSimulator generates them; deterministic for a --seed). Stops after \
            --count messages (all acknowledged at QoS ≥ 1), or on SIGTERM/SIGINT.
            """)

    @OptionGroup var brokerOptions: BrokerOptions

    @Option(help: "Number of devices.") var devices = 10
    @Option(help: "Messages per second, all devices together.") var rate = 10.0
    @Option(help: "Messages to publish (default: until stopped).") var count: Int?
    @Option(help: "Publish QoS.") var qos = 1
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Topic prefix.") var topicPrefix = "sensors"
    @Option(help: "Share of malformed messages.") var malformedRate = 0.002
    @Option(help: "Share of messages delivered a minute late.") var lateRate = 0.002
    @Option(help: "Log level on stderr.") var logLevel: Logger.Level = .warning

    func validate() throws {
        if devices < 1 { throw ValidationError("--devices must be at least 1") }
        if !(rate > 0) { throw ValidationError("--rate must be positive") }
        if !(0...2).contains(qos) { throw ValidationError("--qos must be 0, 1 or 2") }
        if let count, count < 0 { throw ValidationError("--count must not be negative") }
    }

    func run() async throws {
        let logger = stderrLogger("pspf.simulate", level: logLevel)
        var configuration = try brokerOptions.configuration(defaultClientID: nil, persistent: false)
        configuration.maxInflightPublishes = 1024
        let client = try MQTTClient(configuration: configuration, logger: logger)
        try await client.connect()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let perDevice = count.map { ($0 + devices - 1) / devices }
        let simulation = DeviceSimulator.Configuration(
            devices: devices, readingsPerDevice: perDevice,
            intervalMilliseconds: max(1, Int64((Double(devices) / rate * 1000).rounded())), startMilliseconds: now,
            lateRate: lateRate, malformedRate: malformedRate, topicPrefix: topicPrefix, seed: seed)
        let publisher = WindowedPublisher(client: client)
        let qos = MQTTQoS(rawValue: Int32(qos))!
        let limit = count ?? .max
        let rate = self.rate
        let sent = try await runUntilSignalled {
            var simulator = DeviceSimulator(configuration: simulation)
            let clock = ContinuousClock()
            let start = clock.now
            var sent = 0
            while sent < limit, !Task.isCancelled, let message = simulator.next() {
                let due = start + .seconds(Double(sent) / rate)
                if due - clock.now > .milliseconds(1) {
                    do { try await Task.sleep(until: due, clock: clock) } catch { break }
                }
                try await publisher.publish(topic: message.topic, payload: message.payload, qos: qos)
                sent += 1
            }
            return sent
        }
        await publisher.drain()
        await client.disconnect()
        let failures = publisher.failures
        print(#"{"published":\#(sent),"acknowledged":\#(publisher.acknowledged),"failed":\#(failures.count)}"#)
        if let first = failures.first { throw first }
    }
}
