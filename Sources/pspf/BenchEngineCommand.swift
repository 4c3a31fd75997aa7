import ArgumentParser
import PSPFCore
import PSPFJSON
import PSPFRuntime

/// `pspf bench engine`: single-core throughput of the reference pipeline (key by device,
/// event time, tumbling 10 s, count/avg/min/max) over many keys, from decoded records and from
/// JSON payload bytes. Results are encoded to JSON as they would be for the output log.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Measure the stream engine on one core (build with -c release).")

    @Option(help: "Distinct keys (devices).") var keys = 10_000
    @Option(help: "Records per measured run.") var records = 4_000_000
    @Option(help: "Measured runs per case; the median is reported.") var runs = 3

    func run() async throws {
        let readings = makeReadings()
        let decoded = measure { runDecoded(readings) }
        BenchResult(
            name: "engine.decoded", value: decoded, unit: "records/s",
            parameters: parameters(source: "decoded structs")
        ).printLine()

        let payloads = PayloadBuffer(readings: readings)
        let fromJSON = measure { runJSON(payloads) }
        BenchResult(
            name: "engine.json", value: fromJSON, unit: "records/s",
            parameters: parameters(source: "JSON payload bytes, strict validation") + [("payload_bytes", String(payloads.averageBytes))]
        ).printLine()
    }

    private func parameters(source: String) -> [(String, String)] {
        [
            ("keys", String(keys)), ("records", String(records)), ("window", "tumbling 10s"),
            ("aggregates", "count,avg,min,max"), ("source", source), ("cores", "1"),
        ]
    }

    /// One reading per key per second of event time, with up to 500 ms of disorder.
    private func makeReadings() -> [SensorReading] {
        var random = SplitMix64(seed: 7)
        let names = (0..<keys).map(DeviceSimulator.deviceName)
        let start: Int64 = 1_732_406_400_000
        return (0..<records).map { index in
            let second = Int64(index / keys)
            let jitter = Int64(random.next() % 500)
            return SensorReading(
                device: names[index % keys], ts: Timestamp(milliseconds: start + second * 1000 + jitter),
                temp: 15 + Double(random.next() % 2000) / 100, hum: 40 + Double(random.next() % 300) / 10)
        }
    }

    /// Median throughput of `runs` runs, in records per second.
    private func measure(_ body: () -> Int) -> Double {
        var rates: [Double] = []
        for _ in 0..<runs {
            let clock = ContinuousClock()
            var processed = 0
            let elapsed = clock.measure { processed = body() }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            rates.append(Double(processed) / seconds)
        }
        return rates.sorted()[rates.count / 2]
    }

    private func runDecoded(_ readings: [SensorReading]) -> Int {
        let plan = Pipeline("bench").plan(input: SensorReading.self) { stream in
            stream.keyBy(\.device)
                .eventTime(\.ts, outOfOrderness: .seconds(1))
                .window(.tumbling(.seconds(10)))
                .aggregate(count(), avg(\.temp), min(\.temp), max(\.temp))
        }
        drive(plan) { instance in instance.process(contentsOf: readings) }
        return readings.count
    }

    private func runJSON(_ payloads: PayloadBuffer) -> Int {
        let plan = Pipeline("bench").plan(input: InputRecord.self) { records in
            records.decodeJSON(fields: SensorReading.fields, SensorReading.decode)
                .keyBy(\.device)
                .eventTime(\.ts, outOfOrderness: .seconds(1))
                .window(.tumbling(.seconds(10)))
                .aggregate(count(), avg(\.temp), min(\.temp), max(\.temp))
        }
        drive(plan) { instance in payloads.forEachRecord { instance.process($0) } }
        return payloads.count
    }

    /// Runs one instance of `plan` over what `feed` gives it, encoding every result to JSON as
    /// the runner does for the output log.
    private func drive<Input>(
        _ plan: PipelinePlan<Input, WindowResult<String, AggregateRow>>, feed: (PipelineInstance<Input>) -> Void
    ) {
        var writer = JSONWriter(capacity: 256)
        var results = 0
        let instance = plan.instantiate(context: OperatorContext()) { result in
            writer.reset()
            result.encode(into: &writer)
            results += 1
        }
        feed(instance)
        instance.finish()
        precondition(results > 0 && instance.metrics.deadLettered == 0, "the benchmark pipeline produced no results")
    }
}

/// Payloads laid out back to back in one buffer, as a log read chunk holds them.
private final class PayloadBuffer {
    let bytes: UnsafeMutableRawBufferPointer
    var ranges: [(start: Int, count: Int)] = []
    var count: Int { ranges.count }
    var averageBytes: Int { ranges.isEmpty ? 0 : ranges.reduce(0) { $0 + $1.count } / ranges.count }

    init(readings: [SensorReading]) {
        var writer = JSONWriter(capacity: 128)
        var all: [UInt8] = []
        all.reserveCapacity(readings.count * 72)
        for reading in readings {
            writer.reset()
            writer.beginObject()
            writer.key("device"); writer.string(reading.device)
            writer.key("ts"); writer.number(reading.ts.milliseconds)
            writer.key("temp"); writer.number(reading.temp)
            writer.key("hum"); writer.number(reading.hum)
            writer.endObject()
            ranges.append((all.count, writer.bytes.count))
            all.append(contentsOf: writer.bytes)
        }
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: all.count, alignment: 8)
        _ = bytes.initializeMemory(as: UInt8.self, from: all)
    }

    deinit { bytes.deallocate() }

    func forEachRecord(_ body: (InputRecord) -> Void) {
        let base = UnsafeRawBufferPointer(bytes)
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        for (offset, range) in ranges.enumerated() {
            let payload = UnsafeRawBufferPointer(rebasing: base[range.start..<(range.start + range.count)])
            body(InputRecord(
                key: empty, payload: payload, topic: empty, appendTime: Timestamp(milliseconds: 0), partition: 0,
                offset: Int64(offset)))
        }
    }
}
