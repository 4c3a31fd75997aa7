import Logging
import PSPFCore
import PSPFJSON
import PSPFLog
import PSPFRuntime

/// What an input log should produce: results (id → the exact JSON the runtime appends) and
/// dead letters (input partition and offset → reason), computed by ONE pipeline instance fed
/// every input partition in log order (a key lives in one partition, so each key sees its
/// records in the same order as in the runner).
struct ExpectedOutput {
    var results: [String: String] = [:]
    var deadLetters: [Position: String] = [:]
    var processed = 0

    struct Position: Hashable, Comparable, CustomStringConvertible {
        var partition: Int
        var offset: Int64
        static func < (a: Position, b: Position) -> Bool { (a.partition, a.offset) < (b.partition, b.offset) }
        var description: String { "\(partition)@\(offset)" }
    }

    static func compute<Output: ResultEncodable>(
        plan: PipelinePlan<InputRecord, Output>, input: LogTopic, finish: Bool
    ) throws -> ExpectedOutput {
        let sink = ReferenceSink()
        let context = OperatorContext(
            clock: SystemClock(),
            late: { _ in if let at = sink.current { sink.expected.deadLetters[at] = "late" } },
            deadLetter: { event in if let at = sink.current { sink.expected.deadLetters[at] = event.reason.rawValue } })
        let instance = plan.instantiate(context: context) { result in
            sink.writer.reset()
            result.encode(into: &sink.writer)
            let json = String(decoding: sink.writer.bytes, as: UTF8.self)
            precondition(sink.expected.results[result.id] == nil, "reference emitted id \(result.id) twice")
            sink.expected.results[result.id] = json
        }
        for partition in 0..<input.partitionCount {
            try input.reader(partition: partition).read(from: 0) { record in
                sink.current = Position(partition: partition, offset: record.offset)
                instance.process(
                    InputRecord(
                        key: record.key, payload: record.payload, topic: record.topic,
                        eventTime: record.eventTime.map(Timestamp.init(milliseconds:)),
                        appendTime: Timestamp(milliseconds: record.appendTime), partition: partition,
                        offset: record.offset))
                sink.expected.processed += 1
            }
        }
        sink.current = nil
        if finish { instance.finish() }
        return sink.expected
    }
}

private final class ReferenceSink {
    var expected = ExpectedOutput()
    var current: ExpectedOutput.Position?
    var writer = JSONWriter()
}

/// What an output log holds, with duplicates kept visible.
struct ActualOutput {
    /// id → every JSON payload with that id, in log order.
    var results: [String: [String]] = [:]
    var deadLetters: [ExpectedOutput.Position: [String]] = [:]

    static func read(results: LogTopic, deadLetters: LogTopic?) throws -> ActualOutput {
        var actual = ActualOutput()
        for partition in 0..<results.partitionCount {
            try results.reader(partition: partition).read(from: 0) { record in
                let json = String(decoding: record.payload, as: UTF8.self)
                let id = try JSONValue(parsing: record.payload)["id"]?.stringValue ?? "?"
                actual.results[id, default: []].append(json)
            }
        }
        if let deadLetters {
            for partition in 0..<deadLetters.partitionCount {
                try deadLetters.reader(partition: partition).read(from: 0) { record in
                    let value = try JSONValue(parsing: record.payload)
                    let source = value["source"]
                    let position = ExpectedOutput.Position(
                        partition: Int(source?["partition"]?.int64Value ?? -1),
                        offset: source?["offset"]?.int64Value ?? -1)
                    actual.deadLetters[position, default: []].append(value["reason"]?.stringValue ?? "?")
                }
            }
        }
        return actual
    }

    /// Missing, duplicated and wrong results and dead letters against `expected`.
    func compare(with expected: ExpectedOutput) -> Comparison {
        var comparison = Comparison()
        for (id, json) in expected.results {
            guard let found = results[id] else {
                comparison.missing.append(id)
                continue
            }
            if found.count > 1 { comparison.duplicated.append(id) }
            if found.contains(where: { $0 != json }) {
                comparison.wrong.append("\(id): expected \(json), got \(found)")
            }
        }
        for id in results.keys where expected.results[id] == nil { comparison.unexpected.append(id) }
        for (position, reason) in expected.deadLetters {
            guard let found = deadLetters[position] else {
                comparison.missing.append("dead letter \(position)")
                continue
            }
            if found.count > 1 { comparison.duplicated.append("dead letter \(position)") }
            if found.contains(where: { $0 != reason }) {
                comparison.wrong.append("dead letter \(position): expected \(reason), got \(found)")
            }
        }
        for position in deadLetters.keys where expected.deadLetters[position] == nil {
            comparison.unexpected.append("dead letter \(position)")
        }
        return comparison
    }

    struct Comparison: CustomStringConvertible {
        var missing: [String] = []
        var duplicated: [String] = []
        var wrong: [String] = []
        var unexpected: [String] = []
        var isExact: Bool { missing.isEmpty && duplicated.isEmpty && wrong.isEmpty && unexpected.isEmpty }
        var description: String {
            "missing \(missing.count) \(missing.prefix(5)), duplicated \(duplicated.count) \(duplicated.prefix(5)), wrong \(wrong.count) \(wrong.prefix(3)), unexpected \(unexpected.count) \(unexpected.prefix(5))"
        }
    }
}

/// Appends a simulated stream to `topic` (as `pspf simulate-log` does).
@discardableResult
func appendSimulated(_ configuration: DeviceSimulator.Configuration, to topic: LogTopic) async throws -> Int {
    var simulator = DeviceSimulator(configuration: configuration)
    var batch = LogBatch()
    var count = 0
    while let message = simulator.next() {
        batch.append(
            key: message.device, topic: message.topic, payload: String(decoding: message.payload, as: UTF8.self))
        count += 1
    }
    try await topic.appendDurably(batch)
    return count
}
