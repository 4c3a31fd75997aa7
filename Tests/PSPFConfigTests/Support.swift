import Foundation
import PSPFCore
import PSPFJSON
import PSPFTesting
import Testing

@testable import PSPFConfig

/// An environment with in-memory files and variables, so tests never touch the real machine.
func testEnvironment(variables: [String: String] = [:], files: [String: String] = [:]) -> ConfigEnvironment {
    ConfigEnvironment(
        variables: variables, hostName: "test-host",
        readFile: { path in
            guard let text = files[path] else {
                throw NSError(domain: NSCocoaErrorDomain, code: NSFileReadNoSuchFileError)
            }
            return Array(text.utf8)
        },
        fileExists: { path in files[path] != nil })
}

/// Loads YAML text named `test.yaml`.
func load(_ yaml: String, variables: [String: String] = [:], files: [String: String] = [:]) throws(ConfigErrors)
    -> PSPFConfiguration
{
    try ConfigLoader.load(
        yaml: yaml, file: "test.yaml", environment: testEnvironment(variables: variables, files: files))
}

/// The errors of loading YAML text (empty if it loads).
func loadErrors(_ yaml: String, variables: [String: String] = [:], files: [String: String] = [:]) -> [ConfigError] {
    do {
        _ = try load(yaml, variables: variables, files: files)
        return []
    } catch {
        return error.errors
    }
}

/// A valid configuration around one pipeline body (indented by 4 spaces under `pipelines.p`).
/// The source partitions its log by the pipeline's key, as the validator requires.
func config(pipeline body: String, extra: String = "") -> String {
    let pipelineKey = body.split(separator: "\n").first { $0.hasPrefix("key:") }.map { $0.dropFirst(4).trimmingCharacters(in: .whitespaces) }
    return """
    version: 1
    brokers:
      local: {host: 127.0.0.1, client_id: test}
    sources:
      sensors: {broker: local, topics: [sensors/+/reading], key: \(pipelineKey ?? "device")}
    sinks:
      console: {type: console}
    pipelines:
      p:
    \(body.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
    \(extra)
    """
}

/// Runs a plan over JSON payloads (all on topic `sensors/<device>/reading`), with arrival times,
/// and returns the outputs as JSON lines and the dead letters.
struct PlanRun {
    var lines: [String] = []
    var deadLetters: [DeadLetterEvent] = []
    var late: [LateEvent] = []
    var results: [WindowResult<String, AggregateRow>] = []
}

struct Message {
    var topic: String
    var payload: [UInt8]
    var arrival: Int64

    init(topic: String = "sensors/dev-1/reading", _ payload: String, arrival: Int64 = 0) {
        self.topic = topic
        self.payload = Array(payload.utf8)
        self.arrival = arrival
    }

    init(topic: String, payload: [UInt8], arrival: Int64) {
        self.topic = topic
        self.payload = payload
        self.arrival = arrival
    }
}

final class Collector {
    var run = PlanRun()
}

func run(
    _ plan: PipelinePlan<InputRecord, WindowResult<String, AggregateRow>>, _ messages: [Message],
    start: Int64 = 0, advanceTo: Int64? = nil, finish: Bool = true
) -> PlanRun {
    let clock = ManualClock(.milliseconds(start))
    let collector = Collector()
    let context = OperatorContext(
        partition: 0, clock: clock, late: { collector.run.late.append($0) },
        deadLetter: { collector.run.deadLetters.append($0) })
    let instance = plan.instantiate(context: context) { collector.run.results.append($0) }
    for (offset, message) in messages.enumerated() {
        if message.arrival > clock.now().milliseconds { clock.set(.milliseconds(message.arrival)) }
        instance.advanceProcessingTime(to: clock.now())
        message.payload.withUnsafeBytes { payload in
            Array(message.topic.utf8).withUnsafeBytes { topic in
                instance.process(
                    InputRecord(
                        key: UnsafeRawBufferPointer(start: nil, count: 0), payload: payload, topic: topic,
                        appendTime: clock.now(), partition: 0, offset: Int64(offset)))
            }
        }
    }
    if let advanceTo {
        clock.set(.milliseconds(advanceTo))
        instance.advanceProcessingTime(to: clock.now())
    }
    if finish { instance.finish() }
    var writer = JSONWriter(capacity: 1024)
    collector.run.lines = collector.run.results.map { result in
        writer.reset()
        result.encode(into: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
    return collector.run
}

/// The directory of this repository's `config/` examples.
let exampleConfigDirectory: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config").path
}()
