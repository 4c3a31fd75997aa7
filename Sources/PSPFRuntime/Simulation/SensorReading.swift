import PSPFCore
import PSPFJSON

/// The reading the simulator publishes, `{"device":"dev-0042","ts":1732406400123,"temp":21.53,"hum":40.1}`,
/// and the reference pipeline the demo and the benchmarks run over it.
public struct SensorReading: Sendable, Hashable, Codable {
    public var device: String
    public var ts: Timestamp
    public var temp: Double
    public var hum: Double

    public init(device: String, ts: Timestamp, temp: Double, hum: Double) {
        self.device = device
        self.ts = ts
        self.temp = temp
        self.hum = hum
    }

    /// The JSON fields ``decode(_:)`` reads, in order.
    public static let fields: [JSONFieldPath] = ["device", "ts", "temp", "hum"]

    /// Builds a reading from extracted fields; missing or mistyped fields throw a dead-letter error.
    @Sendable public static func decode(_ fields: borrowing JSONRecordFields) throws -> SensorReading {
        SensorReading(
            device: try fields.string(0), ts: try fields.timestamp(1), temp: try fields.double(2),
            hum: try fields.optionalDouble(3) ?? .nan)
    }

    /// Per-device temperature statistics: decode, key by device, event time with bounded
    /// out-of-orderness, tumbling windows, count/avg/min/max.
    public static func temperatureStats(
        name: String = "temp-stats", window: Duration = .seconds(10), outOfOrderness: Duration = .seconds(2),
        allowedLateness: Duration = .zero, idleTimeout: Duration? = .seconds(30)
    ) -> PipelinePlan<InputRecord, WindowResult<String, AggregateRow>> {
        Pipeline(name).plan(input: InputRecord.self) { records in
            records
                .decodeJSON(fields: fields, decode)
                .keyBy(\.device)
                .eventTime(
                    \.ts, outOfOrderness: outOfOrderness, allowedLateness: allowedLateness, idleTimeout: idleTimeout)
                .window(.tumbling(window))
                .aggregate(count(), avg(\.temp), min(\.temp), max(\.temp))
        }
    }
}
