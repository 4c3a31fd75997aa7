import PSPFCore
import PSPFJSON
import PSPFTesting

/// The test element: a device reading with a millisecond event time.
struct Reading: Sendable, Codable, Hashable {
    var device: String
    var ts: Timestamp
    var temp: Double
    var level: Int = 0

    init(_ device: String, _ ms: Int64, _ temp: Double = 1, level: Int = 0) {
        self.device = device
        self.ts = Timestamp(milliseconds: ms)
        self.temp = temp
        self.level = level
    }
}

typealias RowResult = WindowResult<String, AggregateRow>

/// Compact, comparable rendering of a result: `a@0-10:n=2,sum=3`.
func summary(_ r: RowResult) -> String {
    var s = "\(r.key)@\(r.window.start.milliseconds)-\(r.window.end.milliseconds)"
    if let seq = r.window.sequence { s += "#\(seq)" }
    s += ":n=\(r.count)"
    for (name, value) in zip(r.value.names, r.value.values) where name != "count" {
        s += ",\(name)=\(value)"
    }
    return s
}

/// Elements that arrive at processing time = their event time (ms), in the given order; a
/// monotonic clock is kept by never moving back.
func arrivingAtEventTime(_ readings: [Reading]) -> [TimedEvent<Reading>] {
    var clock: Int64 = 0
    return readings.map { r in
        clock = Swift.max(clock, r.ts.milliseconds)
        return TimedEvent(r, at: .milliseconds(clock))
    }
}

/// Elements all arriving at processing time 0 (idle timeouts never trigger).
func arrivingAtZero(_ readings: [Reading]) -> [TimedEvent<Reading>] {
    readings.map { TimedEvent($0, at: .milliseconds(0)) }
}

/// A windowed count+sum pipeline over `Reading`s with event time, all durations in ms.
func sumPlan(
    _ spec: WindowSpec, outOfOrderness: Int64 = 0, lateness: Int64 = 0, idle: Int64? = nil, name: String = "test"
) -> PipelinePlan<Reading, RowResult> {
    Pipeline(name).input(Reading.self)
        .keyBy(\.device)
        .eventTime(
            \.ts, outOfOrderness: .milliseconds(outOfOrderness), allowedLateness: .milliseconds(lateness),
            idleTimeout: idle.map { .milliseconds($0) })
        .window(spec)
        .aggregate(count(), sum(\.temp))
        .plan(input: Reading.self)
}

/// Reading shorthand for tables: "a@12" → device a, ts 12, temp 1.
func parse(_ text: String) -> Reading {
    let parts = text.split(separator: "@")
    let rest = parts[1].split(separator: "=")
    return Reading(String(parts[0]), Int64(rest[0])!, rest.count > 1 ? Double(rest[1])! : 1)
}
