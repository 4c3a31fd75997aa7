import Foundation
import PSPFConfig
import PSPFCore
import PSPFJSON
import PSPFMQTT
import PSPFTesting
import Synchronization
import Testing

/// Readings whose windows close deterministically, and the results they must give.
///
/// Each device sends `perWindow` readings into each of the event-time windows `windows` (1 s
/// tumbling, from `base`), in order, then one reading `closingWindow` windows ahead: its event
/// time moves the device's watermark past every window of the load, so they all fire, while
/// its own window stays open. Temperatures are multiples of 0.25, so sums and averages are
/// exact in binary and the expected JSON can be written by hand.
struct Load {
    static let base: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z, a window boundary
    static let size: Int64 = 1000

    var pipeline = "temps"
    var topicPrefix: String
    var devices = ["dev-1", "dev-2", "dev-3", "dev-4"]
    var windows: Range<Int> = 0..<10
    var perWindow = 4
    /// The window of the watermark-advancing reading; `nil` sends none.
    var closingWindow: Int? = 20

    func temperature(device: Int, window: Int, reading: Int) -> Double {
        20 + Double(device) + Double(window % 4) * 0.25 + Double(reading) * 0.5
    }

    func eventTime(window: Int, reading: Int) -> Int64 { Self.base + Int64(window) * Self.size + Int64(reading) * 100 }

    /// Inside its window, but at no event time a reading of the load uses.
    func closingEventTime(_ window: Int) -> Int64 { eventTime(window: window, reading: 0) + 50 }

    func topic(_ device: String) -> String { "\(topicPrefix)/\(device)/reading" }

    /// Per device, its messages in publishing order.
    var messages: [[(topic: String, payload: String)]] {
        devices.enumerated().map { index, device in
            var messages: [(String, String)] = []
            for window in windows {
                for reading in 0..<perWindow {
                    let temp = temperature(device: index, window: window, reading: reading)
                    messages.append((topic(device), Self.payload(device, eventTime(window: window, reading: reading), temp)))
                }
            }
            if let closingWindow {
                messages.append((topic(device), Self.payload(device, closingEventTime(closingWindow), 0)))
            }
            return messages
        }
    }

    var messageCount: Int { messages.reduce(0) { $0 + $1.count } }

    static func payload(_ device: String, _ ts: Int64, _ temp: Double) -> String {
        #"{"device":"\#(device)","ts":\#(ts),"temp":\#(temp)}"#
    }

    /// The result lines of this load, by device then window (count, avg, min, max of `temp`).
    var expected: [ExpectedResult] {
        devices.enumerated().flatMap { index, device in
            windows.map { window in
                let temps = (0..<perWindow).map { temperature(device: index, window: window, reading: $0) }
                return ExpectedResult(
                    pipeline: pipeline, key: device, windowStart: Self.base + Int64(window) * Self.size,
                    windowEnd: Self.base + Int64(window + 1) * Self.size, temps: temps)
            }
        }
    }

    /// Publishes every message at QoS 1 (each device's in order, devices concurrently) and
    /// returns when the broker acknowledged all of them.
    func publish(port: Int, credentials: MQTTCredentials? = nil) async throws {
        let messages = self.messages
        var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port)
        configuration.clientID = "pub-\(UInt32.random(in: 0...UInt32.max))"
        configuration.credentials = credentials
        try await withMQTTClient(configuration: configuration) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for device in messages {
                    group.addTask {
                        for message in device {
                            try await client.publish(topic: message.topic, payload: Array(message.payload.utf8), qos: .atLeastOnce)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// One window's result as the daemon must write it.
struct ExpectedResult: Hashable, Sendable {
    var pipeline: String
    var key: String
    var windowStart: Int64
    var windowEnd: Int64
    var temps: [Double]
    /// Extra readings counted in this window (the closing reading of an earlier run).
    var extra: [Double] = []

    var id: String { stableResultID(pipeline: pipeline, keyDescription: key, windowStartOrSequence: windowStart) }

    /// The JSON object: `id`, `pipeline`, `key`, `window_start`, `window_end`, `count`, then the
    /// configured columns in order.
    var json: String {
        let all = temps + extra
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("id")
        writer.string(id)
        writer.key("pipeline")
        writer.string(pipeline)
        writer.key("key")
        writer.string(key)
        writer.key("window_start")
        writer.number(windowStart)
        writer.key("window_end")
        writer.number(windowEnd)
        writer.key("count")
        writer.number(Int64(all.count))
        writer.key("avg_temp")
        writer.number(all.reduce(0, +) / Double(all.count))
        writer.key("min_temp")
        writer.number(all.min()!)
        writer.key("max_temp")
        writer.number(all.max()!)
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// The `id` of a result JSON line.
func resultID(_ json: String) -> String {
    (try? JSONValue(parsing: Array(json.utf8)))?["id"]?.stringValue ?? "?"
}

/// The ids of a JSON array of results (an HTTP sink batch).
func batchIDs(_ body: [UInt8]) -> [String] {
    guard case .array(let items)? = try? JSONValue(parsing: body) else { return [] }
    return items.map { $0["id"]?.stringValue ?? "?" }
}

/// Collects what a subscriber receives.
final class Subscriber: MQTTMessageHandler {
    struct Message: Sendable, Hashable {
        var topic: String
        var payload: String
    }
    let messages = Observed<[Message]>([])

    func received(_ message: MQTTMessageView) {
        let received = Message(topic: message.topicString, payload: String(decoding: message.payload, as: UTF8.self))
        messages.update { $0.append(received) }
    }

    /// A connected client subscribed to `filter` at QoS 1; disconnect it when done.
    /// `persistentID`: a persistent session under that client id (the broker queues for it
    /// while it is away; a later connect with the same id resumes it).
    static func connect(
        port: Int, filter: String, credentials: MQTTCredentials? = nil, persistentID: String? = nil,
        subscriber: Subscriber = Subscriber()
    ) async throws -> (Subscriber, MQTTClient) {
        var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port)
        configuration.credentials = credentials
        configuration.clientID = persistentID ?? "sub-\(UInt32.random(in: 0...UInt32.max))"
        configuration.cleanSession = persistentID == nil
        let client = try MQTTClient(configuration: configuration, handler: subscriber)
        try await client.connect()
        try await client.subscribe([MQTTSubscription(filter, qos: .atLeastOnce)])
        return (subscriber, client)
    }
}

/// An HTTP endpoint for sink tests: answers each request with `script(index)` and records
/// every exchange (request and the status it got), awaitable.
final class HTTPEndpoint: Sendable {
    struct Exchange: Sendable {
        var request: HTTPTestServer.Request
        var status: Int
        var ids: [String] { batchIDs(request.body) }
        var idempotencyKey: String? { request.headers["idempotency-key"] }
    }

    let exchanges = Observed<[Exchange]>([])
    let script: @Sendable (Int) -> HTTPTestServer.Response
    private let server = Mutex<HTTPTestServer?>(nil)
    /// The port, chosen up front so the configuration can name it before the server listens.
    let port: Int

    init(port: Int? = nil, script: @escaping @Sendable (Int) -> HTTPTestServer.Response = { _ in .init(status: 200) })
        throws
    {
        self.port = try port ?? freeLoopbackPort()
        self.script = script
    }

    var url: String { "http://127.0.0.1:\(port)/results" }

    func start() async throws {
        let exchanges = self.exchanges
        let script = self.script
        let started = try await HTTPTestServer.start(port: port) { request, index in
            let response = script(index)
            exchanges.update { $0.append(Exchange(request: request, status: response.status)) }
            return response
        }
        server.withLock { $0 = started }
    }

    func stop() async throws {
        try await server.withLock { $0 }?.stop()
    }

    /// The ids the server accepted (2xx), in arrival order.
    var acceptedIDs: [String] { exchanges.value.filter { (200..<300).contains($0.status) }.flatMap(\.ids) }

    /// Waits until `count` results were accepted.
    @discardableResult
    func waitForAccepted(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [Exchange] {
        try await exchanges.wait("\(count) results accepted", timeout: timeout) { exchanges in
            exchanges.filter { (200..<300).contains($0.status) }.reduce(0) { $0 + $1.ids.count } >= count
        }
    }
}

/// The daemon configuration of these tests: one broker, one source (2 partitions, keyed by
/// device), one pipeline `temps` (1 s event-time tumbling windows, count/avg/min/max of
/// `temp`), the given sinks, checkpoints every 200 ms and a short drain.
struct DaemonConfig {
    var dataDirectory: String
    var brokerPort: Int
    var topicPrefix: String
    var clientID = "pspf-e2e-\(UInt32.random(in: 0...UInt32.max))"
    /// YAML lines under `brokers.local` beyond host, port and client id.
    var brokerExtra: [String] = []
    /// More YAML lines under `sources.sensors`.
    var sourceExtra: [String] = []
    /// More brokers, as YAML lines (indented 2) under `brokers`.
    var brokers: [String] = []
    /// `name: {…}` YAML lines (indented 2) under `sinks`.
    var sinks: [String]
    var pipelineSinks: [String]
    /// More top-level YAML.
    var extra: [String] = []
    var drainTimeout = "3s"
    var admin = "admin: {enabled: false}"

    var yaml: String {
        var lines = [
            "version: 1",
            "data_dir: \(dataDirectory)",
            "brokers:",
            "  local:",
            "    host: 127.0.0.1",
            "    port: \(brokerPort)",
            "    client_id: \(clientID)",
            "    reconnect: {initial: 50ms, max: 500ms}",
        ]
        lines += brokerExtra.map { "    " + $0 }
        lines += brokers.map { "  " + $0 }
        lines += [
            "sources:",
            "  sensors:",
            "    broker: local",
            "    topics: [\(topicPrefix)/+/reading]",
            "    qos: 1",
            "    key: {topic_segment: 1}",
            "    event_time: {field: ts, format: epoch_ms}",
            "    log: {partitions: 2, fsync: none}",
        ]
        lines += sourceExtra.map { "    " + $0 }
        lines += [
            "pipelines:",
            "  temps:",
            "    source: sensors",
            "    key: {topic_segment: 1}",
            "    timestamp: {field: ts, format: epoch_ms}",
            "    schema: {temp: number}",
            "    window: {type: tumbling, size: 1s}",
            "    aggregates:",
            "      - function: count",
            "      - {function: avg, field: temp}",
            "      - {function: min, field: temp}",
            "      - {function: max, field: temp}",
            "    sinks: [\(pipelineSinks.joined(separator: ", "))]",
            "sinks:",
        ]
        lines += sinks.map { "  " + $0 }
        lines += [
            "checkpoint: {interval: 200ms}",
            "shutdown: {drain_timeout: \(drainTimeout)}",
            admin,
        ]
        lines += extra
        return lines.joined(separator: "\n") + "\n"
    }

    func load(file: String = "e2e.yaml") throws -> PSPFConfiguration {
        try ConfigLoader.load(yaml: yaml, file: file, baseDirectory: dataDirectory)
    }
}

/// A unique topic prefix per test, so parallel tests on one machine never share topics.
func uniquePrefix(_ base: String) -> String { "\(base)-\(UInt32.random(in: 0...UInt32.max))" }

/// Starts a broker, runs `body`, and always cleans the broker up (kills it by its PID).
func withBroker<T>(
    _ options: BrokerFixture.Options = .init(), _ body: (BrokerFixture) async throws -> T
) async throws -> T {
    let broker = try await BrokerFixture.start(options)
    defer { broker.cleanUp() }
    return try await body(broker)
}
