import PSPFCore
import PSPFJSON
import Testing

@testable import PSPFRuntime

@Suite struct DecodeJSONTests {
    /// Runs raw payloads through `decodeJSON` and returns the decoded readings and dead letters.
    private func decode(_ payloads: [String], maxPayloadBytes: Int = 1024) -> ([SensorReading], [DeadLetterEvent]) {
        let plan = Pipeline("decode").plan(input: InputRecord.self) { records in
            records.decodeJSON(fields: SensorReading.fields, maxPayloadBytes: maxPayloadBytes, SensorReading.decode)
        }
        var readings: [SensorReading] = []
        var deadLetters: [DeadLetterEvent] = []
        let instance = plan.instantiate(context: OperatorContext(deadLetter: { deadLetters.append($0) })) {
            readings.append($0)
        }
        for (offset, payload) in payloads.enumerated() {
            Array(payload.utf8).withUnsafeBytes { bytes in
                let empty = UnsafeRawBufferPointer(start: nil, count: 0)
                instance.process(
                    InputRecord(
                        key: empty, payload: bytes, topic: empty, appendTime: Timestamp(milliseconds: 0), partition: 0,
                        offset: Int64(offset)))
            }
        }
        return (readings, deadLetters)
    }

    @Test func decodesValidReadings() {
        let (readings, deadLetters) = decode([#"{"device":"dev-1","ts":1000,"temp":21.5,"hum":40}"#])
        #expect(deadLetters.isEmpty)
        #expect(readings == [SensorReading(device: "dev-1", ts: Timestamp(milliseconds: 1000), temp: 21.5, hum: 40)])
    }

    @Test(arguments: [
        (#"{"device":"d","ts":1,"temp":2"#, "malformed_input", "invalid JSON"),
        (#"{"device":"d","temp":2}"#, "missing_timestamp", "'ts' is missing"),
        (#"{"device":"d","ts":"soon","temp":2}"#, "missing_timestamp", "is not a number"),
        (#"{"device":"d","ts":1,"temp":"warm"}"#, "schema_violation", "'temp' must be a number, found string"),
        (#"{"ts":1,"temp":2}"#, "schema_violation", "'device' is missing"),
    ])
    func rejectsBadPayloadsWithAReason(payload: String, reason: String, fragment: String) {
        let (readings, deadLetters) = decode([payload])
        #expect(readings.isEmpty)
        #expect(deadLetters.count == 1)
        #expect(deadLetters.first?.reason.rawValue == reason)
        #expect(deadLetters.first?.message.contains(fragment) == true, "\(deadLetters.first?.message ?? "")")
    }

    @Test func oversizedPayloadsAreDeadLettered() {
        let (readings, deadLetters) = decode([#"{"device":"dev-1","ts":1000,"temp":21.5,"hum":40}"#], maxPayloadBytes: 10)
        #expect(readings.isEmpty)
        #expect(deadLetters.map(\.reason) == [.oversized])
    }
}

@Suite struct DeviceSimulatorTests {
    @Test func sameSeedSameTraffic() {
        let configuration = DeviceSimulator.Configuration(devices: 5, readingsPerDevice: 50, seed: 3)
        var a = DeviceSimulator(configuration: configuration)
        var b = DeviceSimulator(configuration: configuration)
        var count = 0
        while let x = a.next() {
            let y = b.next()
            #expect(x.payload == y?.payload && x.deliveryTime == y?.deliveryTime)
            count += 1
        }
        #expect(b.next() == nil)
        #expect(count == 250)
    }

    @Test func generatesEveryKindAndValidJSONForReadings() {
        var simulator = DeviceSimulator(
            configuration: .init(devices: 10, readingsPerDevice: 200, lateRate: 0.02, malformedRate: 0.02, seed: 11))
        var kinds: [DeviceSimulator.Kind: Int] = [:]
        while let message = simulator.next() {
            kinds[message.kind, default: 0] += 1
            if message.kind != .malformed {
                #expect(JSONValidator.isValid(message.payload))
                #expect(message.deliveryTime >= message.eventTime)
            }
        }
        #expect(kinds.values.reduce(0, +) == 2000)
        #expect(kinds[.late, default: 0] > 0 && kinds[.malformed, default: 0] > 0 && kinds[.outOfOrder, default: 0] > 0)
    }

    @Test func base64RoundTrips() {
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + 11) % 256) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
    }
}
