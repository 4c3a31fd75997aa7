import PSPFJSON

/// Generates realistic sensor traffic: N devices publishing JSON readings at a fixed
/// interval with jitter, a share arriving out of order, a few arriving late, and a few
/// malformed. Deterministic for a given seed, so demos, tests and benchmarks are repeatable.
///
/// ```swift
/// var simulator = DeviceSimulator(configuration: .init(devices: 20, seed: 7))
/// while let message = simulator.next() {
///     print(message.topic, String(decoding: message.payload, as: UTF8.self))
/// }
/// ```
public struct DeviceSimulator: Sendable {
    public struct Configuration: Sendable {
        /// Number of devices, named `dev-0000`, `dev-0001`, …
        public var devices: Int
        /// Readings per device; `nil` generates forever.
        public var readingsPerDevice: Int?
        /// Event-time spacing of one device's readings, in milliseconds.
        public var intervalMilliseconds: Int64
        /// Event time of the first reading, epoch milliseconds.
        public var startMilliseconds: Int64
        /// Maximum event-time jitter added to each reading, in milliseconds.
        public var jitterMilliseconds: Int64
        /// Share of readings delivered out of order, delayed by up to `outOfOrderMilliseconds`.
        public var outOfOrderRate: Double
        public var outOfOrderMilliseconds: Int64
        /// Share of readings delivered far too late (`lateByMilliseconds` after their event time).
        public var lateRate: Double
        public var lateByMilliseconds: Int64
        /// Share of messages that are malformed (bad JSON, missing field, wrong type).
        public var malformedRate: Double
        /// MQTT-style topic prefix; a reading's topic is `<prefix>/<device>/reading`.
        public var topicPrefix: String
        public var seed: UInt64

        public init(
            devices: Int = 10, readingsPerDevice: Int? = nil, intervalMilliseconds: Int64 = 1000,
            startMilliseconds: Int64 = 1_732_406_400_000, jitterMilliseconds: Int64 = 150,
            outOfOrderRate: Double = 0.05, outOfOrderMilliseconds: Int64 = 1500,
            lateRate: Double = 0.002, lateByMilliseconds: Int64 = 60_000, malformedRate: Double = 0.002,
            topicPrefix: String = "sensors", seed: UInt64 = 1
        ) {
            self.devices = devices
            self.readingsPerDevice = readingsPerDevice
            self.intervalMilliseconds = intervalMilliseconds
            self.startMilliseconds = startMilliseconds
            self.jitterMilliseconds = jitterMilliseconds
            self.outOfOrderRate = outOfOrderRate
            self.outOfOrderMilliseconds = outOfOrderMilliseconds
            self.lateRate = lateRate
            self.lateByMilliseconds = lateByMilliseconds
            self.malformedRate = malformedRate
            self.topicPrefix = topicPrefix
            self.seed = seed
        }
    }

    /// What kind of message was generated; tests use it to know what to expect.
    public enum Kind: Sendable, Equatable {
        case reading
        case outOfOrder
        case late
        case malformed
    }

    /// One generated message.
    public struct Message: Sendable {
        public var topic: String
        public var device: String
        public var payload: [UInt8]
        /// Event time written into the payload (for malformed messages: the intended one).
        public var eventTime: Int64
        /// When the message is delivered, in the simulator's time (epoch milliseconds).
        public var deliveryTime: Int64
        public var kind: Kind
    }

    public let configuration: Configuration
    private var random: SplitMix64
    private var deviceNames: [String]
    private var deviceState: [DeviceState]
    private var round = 0
    private var deviceIndex = 0
    /// Messages held back to be delivered later (out-of-order and late ones), by delivery time.
    private var delayed: [Message] = []
    private var writer = JSONWriter(capacity: 128)

    private struct DeviceState: Sendable {
        var temperature: Double
        var humidity: Double
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
        random = SplitMix64(seed: configuration.seed)
        deviceNames = (0..<configuration.devices).map { DeviceSimulator.deviceName($0) }
        deviceState = (0..<configuration.devices).map { index in
            DeviceState(temperature: 18 + Double(index % 10), humidity: 35 + Double(index % 20))
        }
    }

    /// The name of device `index`: `dev-` and four or more digits.
    public static func deviceName(_ index: Int) -> String {
        let digits = String(index)
        return "dev-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The next message in delivery order, or `nil` when every device has sent its readings.
    public mutating func next() -> Message? {
        while true {
            let now = currentTime
            if let index = delayed.firstIndex(where: { $0.deliveryTime <= now }) {
                return delayed.remove(at: index)
            }
            if let limit = configuration.readingsPerDevice, round >= limit {
                guard !delayed.isEmpty else { return nil }
                let index = delayed.indices.min { delayed[$0].deliveryTime < delayed[$1].deliveryTime }!
                return delayed.remove(at: index)
            }
            let message = generate(device: deviceIndex)
            deviceIndex += 1
            if deviceIndex == configuration.devices {
                deviceIndex = 0
                round += 1
            }
            if message.deliveryTime > now {
                delayed.append(message)
                continue
            }
            return message
        }
    }

    /// The simulator's delivery clock: the nominal time of the round being generated.
    public var currentTime: Int64 {
        configuration.startMilliseconds + Int64(round) * configuration.intervalMilliseconds
    }

    private mutating func generate(device index: Int) -> Message {
        let nominal = currentTime
        let jitter = configuration.jitterMilliseconds > 0
            ? Int64(random.next() % UInt64(configuration.jitterMilliseconds + 1)) : 0
        let eventTime = nominal + jitter
        var state = deviceState[index]
        state.temperature += (random.nextUnit() - 0.5) * 0.4
        state.humidity = min(100, max(0, state.humidity + (random.nextUnit() - 0.5) * 0.6))
        deviceState[index] = state

        let roll = random.nextUnit()
        var kind = Kind.reading
        var deliveryTime = eventTime
        if roll < configuration.malformedRate {
            kind = .malformed
        } else if roll < configuration.malformedRate + configuration.lateRate {
            kind = .late
            deliveryTime = eventTime + configuration.lateByMilliseconds
        } else if roll < configuration.malformedRate + configuration.lateRate + configuration.outOfOrderRate {
            kind = .outOfOrder
            deliveryTime = eventTime + 1 + Int64(random.next() % UInt64(max(1, configuration.outOfOrderMilliseconds)))
        }
        let device = deviceNames[index]
        let payload = kind == .malformed
            ? malformedPayload(device: device, eventTime: eventTime)
            : readingPayload(device: device, eventTime: eventTime, state: state)
        return Message(
            topic: configuration.topicPrefix + "/" + device + "/reading", device: device, payload: payload,
            eventTime: eventTime, deliveryTime: deliveryTime, kind: kind)
    }

    private mutating func readingPayload(device: String, eventTime: Int64, state: DeviceState) -> [UInt8] {
        writer.reset()
        writer.beginObject()
        writer.key("device"); writer.string(device)
        writer.key("ts"); writer.number(eventTime)
        writer.key("temp"); writer.number((state.temperature * 100).rounded() / 100)
        writer.key("hum"); writer.number((state.humidity * 10).rounded() / 10)
        writer.endObject()
        return writer.bytes
    }

    private mutating func malformedPayload(device: String, eventTime: Int64) -> [UInt8] {
        let text: String
        switch random.next() % 4 {
        case 0: text = #"{"device":"\#(device)","ts":\#(eventTime),"temp":21.5"#  // truncated
        case 1: text = #"{"device":"\#(device)","temp":21.5}"#  // no timestamp
        case 2: text = #"{"device":"\#(device)","ts":\#(eventTime),"temp":"warm"}"#  // wrong type
        default: text = #"{"device":"\#(device)",,"ts":\#(eventTime)}"#  // invalid JSON
        }
        return Array(text.utf8)
    }
}

/// A small, fast, seedable PRNG (SplitMix64) so generated traffic is identical on every run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly distributed double in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
