import PSPFCore
import PSPFJSON
import Testing

struct Reading: Sendable, Codable, Equatable {
    var device: String
    var ts: Timestamp
    var temp: Double
    var hum: Int = 0
}

@Test func smokeTumbling() {
    let plan = Pipeline("p")
        .input(Reading.self)
        .keyBy(\.device)
        .eventTime(\.ts, outOfOrderness: .zero)
        .window(.tumbling(size: .seconds(10)))
        .aggregate(count(), avg(\.temp), min(\.temp), max(\.hum))
        .plan(input: Reading.self)
    var out: [WindowResult<String, AggregateRow>] = []
    let inst = plan.instantiate(context: OperatorContext()) { out.append($0) }
    inst.process(Reading(device: "a", ts: .milliseconds(1000), temp: 1))
    inst.process(Reading(device: "a", ts: .milliseconds(2000), temp: 3))
    inst.process(Reading(device: "a", ts: .milliseconds(10_000), temp: 3))
    #expect(out.count == 1)
    var w = JSONWriter()
    out[0].encode(into: &w)
    print(String(decoding: w.bytes, as: UTF8.self))
}
