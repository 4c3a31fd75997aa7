import Foundation
import Logging
import PSPFConfig
import PSPFConnectors
import PSPFJSON
import PSPFMQTT
import PSPFRuntime
import PSPFTesting
import Testing

@testable import PSPFDaemon

/// Issue #5's acceptance tests: a configuration file's worth of daemon, in-process, against a
/// real mosquitto and an in-process HTTP server. Readings advance each device's watermark
/// deterministically (``Load``), so every expected window result is known by hand.
///
/// Serialized: each test runs a broker and a daemon, and the machine is small.
@Suite(.serialized, .timeLimit(.minutes(2))) struct DaemonEndToEndTests {
    /// The results log of pipeline `temps` under `directory`, in log order.
    static func resultsLog(_ directory: String) throws -> [String] {
        try readTopic(directory + "/log/" + DataLayout.resultsTopic(pipeline: "temps"))
    }

    @Test("a configuration's results reach MQTT ({pipeline}/{key}), a jsonl file (exact contents) and HTTP (bearer token, Idempotency-Key)")
    func resultsReachEverySinkType() async throws {
        try await withBroker { broker in
            try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                let load = Load(topicPrefix: uniquePrefix("sensors"))
                let expected = load.expected
                let http = try HTTPEndpoint()
                try await http.start()
                let (subscriber, subscriberClient) = try await Subscriber.connect(port: broker.port, filter: "temps/+")
                let config = DaemonConfig(
                    dataDirectory: directory, brokerPort: broker.port, topicPrefix: load.topicPrefix,
                    sinks: [
                        #"cloud: {type: mqtt, broker: local, topic: "{pipeline}/{key}"}"#,
                        #"archive: {type: file, path: "\#(directory)/out/{pipeline}.jsonl", fsync: none}"#,
                        #"api: {type: http, url: "\#(http.url)", bearer_token: e2e-token, batch: {max_records: 7}, retry: {initial: 20ms, max: 200ms}}"#,
                    ],
                    pipelineSinks: ["cloud", "archive", "api"])
                let logs = LogCapture()
                let daemon = try await RunningDaemon.start(try config.load(), logs: logs)

                try await load.publish(port: broker.port)
                try await subscriber.messages.wait("\(expected.count) results on MQTT") { $0.count >= expected.count }
                try await http.waitForAccepted(expected.count)
                let fileLines = try await eventually("\(expected.count) lines in the result file") { () -> [String]? in
                    let lines = try Self.resultFileLines(directory + "/out")
                    return lines.count >= expected.count ? lines : nil
                }
                try await daemon.stop()
                await subscriberClient.disconnect()
                try await http.stop()

                // The output log holds each expected result once; per key, windows in order.
                let log = try Self.resultsLog(directory)
                #expect(log.count == expected.count)
                #expect(Set(log) == Set(expected.map(\.json)))
                for device in load.devices {
                    let ids = log.map(resultID).filter { id in expected.contains { $0.key == device && $0.id == id } }
                    #expect(ids == expected.filter { $0.key == device }.map(\.id), "\(device)'s windows in order")
                }

                // MQTT: one message per result, on {pipeline}/{key}, the payload as in the log.
                let messages = subscriber.messages.value
                #expect(messages.count == expected.count)
                #expect(Set(messages.map(\.payload)) == Set(log))
                for message in messages {
                    let key = (try? JSONValue(parsing: Array(message.payload.utf8)))?["key"]?.stringValue ?? "?"
                    #expect(message.topic == "temps/\(key)")
                }

                // File: exactly the log, line by line (the file sink is exactly-once).
                #expect(fileLines == log)
                let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/out")
                    .filter { $0.hasSuffix(".jsonl") }
                #expect(files.allSatisfy { $0.hasPrefix("temps") }, "\(files)")

                // HTTP: every result once, in log order, each request authenticated and keyed.
                #expect(http.acceptedIDs == log.map(resultID))
                for exchange in http.exchanges.value {
                    #expect(exchange.request.method == "POST")
                    #expect(exchange.request.headers["authorization"] == "Bearer e2e-token")
                    #expect(exchange.request.headers["content-type"] == "application/json")
                    #expect(exchange.idempotencyKey?.isEmpty == false)
                    #expect(exchange.ids.count <= 7)
                }
                let posted = http.exchanges.value.flatMap { exchange -> [String] in
                    guard case .array(let items)? = try? JSONValue(parsing: exchange.request.body) else { return [] }
                    return items.map { item in
                        var writer = JSONWriter(capacity: 256)
                        writer.value(item)
                        return String(decoding: writer.bytes, as: UTF8.self)
                    }
                }
                #expect(posted.count == expected.count)
                let status = try await daemon.waitForStatus("the forwarders counted every result") { status in
                    status.sinks.allSatisfy { $0.delivered == Int64(expected.count) }
                }
                #expect(status.sinks.count == 3)
                #expect(status.sinks.allSatisfy { $0.dropped == 0 && $0.failures == 0 })
            }
        }
    }

    @Test("HTTP 503 for the first requests, then 200: every batch arrives in log order, no Idempotency-Key accepted twice")
    func httpRetriesUntilAccepted() async throws {
        try await withBroker { broker in
            try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                let load = Load(topicPrefix: uniquePrefix("sensors"))
                let expected = load.expected
                let failures = 3
                let http = try HTTPEndpoint { index in
                    index < failures ? .init(status: 503, body: "busy") : .init(status: 200)
                }
                try await http.start()
                let config = DaemonConfig(
                    dataDirectory: directory, brokerPort: broker.port, topicPrefix: load.topicPrefix,
                    sinks: [
                        #"api: {type: http, url: "\#(http.url)", batch: {max_records: 4}, retry: {initial: 20ms, max: 100ms}}"#
                    ],
                    pipelineSinks: ["api"])
                let daemon = try await RunningDaemon.start(try config.load(), logs: LogCapture())
                try await load.publish(port: broker.port)
                try await http.waitForAccepted(expected.count)
                // The server answered; the forwarder counts a batch once it has read the answer.
                let status = try #require(
                    try await daemon.waitForStatus("the forwarder counted every result") {
                        $0.sinks.first?.delivered == Int64(expected.count)
                    }.sinks.first)
                try await daemon.stop()
                try await http.stop()

                let log = try Self.resultsLog(directory)
                #expect(Set(log) == Set(expected.map(\.json)))
                let exchanges = http.exchanges.value
                #expect(exchanges.prefix(failures).allSatisfy { $0.status == 503 })
                // In order and complete: the accepted batches, concatenated, are the log.
                #expect(http.acceptedIDs == log.map(resultID))
                // Idempotency: a key that was accepted never comes again.
                let acceptedKeys = exchanges.filter { $0.status == 200 }.compactMap(\.idempotencyKey)
                #expect(acceptedKeys.count == exchanges.filter { $0.status == 200 }.count)
                #expect(Set(acceptedKeys).count == acceptedKeys.count, "\(acceptedKeys)")
                // What was refused with 503 was delivered later.
                let refused = Set(exchanges.filter { $0.status == 503 }.flatMap(\.ids))
                #expect(refused.isSubset(of: Set(http.acceptedIDs)))
                #expect(status.delivered == Int64(expected.count))
                #expect(status.retries >= Int64(failures))
                #expect(status.failures == 0)
            }
        }
    }

    @Test("HTTP 400: the batch goes to the sink's dead letters with status and body; later batches are delivered")
    func httpRejectionIsDeadLettered() async throws {
        try await withBroker { broker in
            try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                let load = Load(topicPrefix: uniquePrefix("sensors"))
                let expected = load.expected
                let http = try HTTPEndpoint { index in
                    index == 1 ? .init(status: 400, body: #"{"error":"unknown column avg_temp"}"#) : .init(status: 200)
                }
                try await http.start()
                let config = DaemonConfig(
                    dataDirectory: directory, brokerPort: broker.port, topicPrefix: load.topicPrefix,
                    sinks: [
                        #"api: {type: http, url: "\#(http.url)", batch: {max_records: 4}, retry: {initial: 20ms, max: 100ms}}"#
                    ],
                    pipelineSinks: ["api"])
                let daemon = try await RunningDaemon.start(try config.load(), logs: LogCapture())
                try await load.publish(port: broker.port)
                let final = try await daemon.waitForStatus("every result delivered or dead-lettered") { status in
                    guard let sink = status.sinks.first else { return false }
                    return sink.delivered + sink.failures >= Int64(expected.count)
                }
                try await daemon.stop()
                try await http.stop()

                let log = try Self.resultsLog(directory)
                #expect(Set(log) == Set(expected.map(\.json)))
                let exchanges = http.exchanges.value
                try #require(exchanges.count >= 3)
                #expect(exchanges[1].status == 400)
                let rejected = exchanges[1].ids
                #expect(!rejected.isEmpty)
                #expect(exchanges.dropFirst(2).contains { $0.status == 200 }, "the forwarder moved on")
                // Delivered: the log without the rejected batch, in order.
                #expect(http.acceptedIDs == log.map(resultID).filter { !rejected.contains($0) })
                let sink = try #require(final.sinks.first)
                #expect(sink.failures == Int64(rejected.count))
                #expect(sink.delivered == Int64(expected.count - rejected.count))

                // The dead letters: one envelope per rejected result, with the reason, the status
                // and the body excerpt, and the result itself.
                let letters = try readTopicBytes(directory + "/log/" + DataLayout.sinkDeadLetters(pipeline: "temps", sink: "api"))
                let envelopes = letters.compactMap { letter in letter.withUnsafeBytes { DeadLetterEnvelope(json: $0) } }
                #expect(envelopes.count == letters.count)
                #expect(envelopes.map { String(decoding: $0.key, as: UTF8.self) } == rejected)
                for envelope in envelopes {
                    #expect(envelope.reason == "sink_rejected")
                    #expect(envelope.message.contains("HTTP 400"), "\(envelope.message)")
                    #expect(envelope.message.contains("unknown column avg_temp"), "\(envelope.message)")
                    #expect(envelope.sourceTopic == DataLayout.resultsTopic(pipeline: "temps"))
                    let payload = String(decoding: envelope.payload, as: UTF8.self)
                    #expect(log.contains(payload))
                    #expect(resultID(payload) == String(decoding: envelope.key, as: UTF8.self))
                }
            }
        }
    }

    @Test("an HTTP sink down for the whole load, then up, receives the backlog complete and in order")
    func httpBacklogIsReplayedInOrder() async throws {
        try await withBroker { broker in
            try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                let load = Load(topicPrefix: uniquePrefix("sensors"))
                let expected = load.expected
                let http = try HTTPEndpoint()  // not listening yet: connections are refused
                let config = DaemonConfig(
                    dataDirectory: directory, brokerPort: broker.port, topicPrefix: load.topicPrefix,
                    sinks: [
                        #"api: {type: http, url: "\#(http.url)", batch: {max_records: 6}, retry: {initial: 20ms, max: 100ms}}"#
                    ],
                    pipelineSinks: ["api"])
                let daemon = try await RunningDaemon.start(try config.load(), logs: LogCapture())
                try await load.publish(port: broker.port)
                try await daemon.waitForStatus("every result written while the sink is down") { status in
                    status.pipelines.first?.resultsEmitted == Int64(expected.count) && (status.sinks.first?.retries ?? 0) > 0
                }
                let down = try #require(await daemon.sink("api"))
                #expect(down.delivered == 0)
                #expect(down.failingSinceMilliseconds != nil)

                try await http.start()
                try await http.waitForAccepted(expected.count)
                let up = try #require(
                    try await daemon.waitForStatus("the forwarder counted every result") {
                        $0.sinks.first?.delivered == Int64(expected.count)
                    }.sinks.first)
                try await daemon.stop()
                try await http.stop()

                let log = try Self.resultsLog(directory)
                #expect(Set(log) == Set(expected.map(\.json)))
                #expect(http.acceptedIDs == log.map(resultID), "complete, in order, once")
                #expect(http.exchanges.value.allSatisfy { $0.status == 200 })
                #expect(up.delivered == Int64(expected.count))
                #expect(up.dropped == 0 && up.failures == 0)
                #expect(up.failingSinceMilliseconds == nil)
            }
        }
    }

    @Test("an MQTT sink whose broker starts after the load receives the backlog complete and in order")
    func mqttBacklogIsReplayedInOrder() async throws {
        try await withBroker { broker in
            // The sink's broker: stopped for the load, restarted after. The test's subscriber
            // has a persistent session there first, so it cannot miss what the sink delivers
            // before it is back.
            try await withBroker(.init(persistence: .onShutdown)) { cloud in
                let subscriberID = "e2e-sub-\(UInt32.random(in: 0...UInt32.max))"
                let subscriber = Subscriber()
                let (_, session) = try await Subscriber.connect(
                    port: cloud.port, filter: "agg/#", persistentID: subscriberID, subscriber: subscriber)
                await session.disconnect()
                try await cloud.stop()
                try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                    let load = Load(topicPrefix: uniquePrefix("sensors"))
                    let expected = load.expected
                    let config = DaemonConfig(
                        dataDirectory: directory, brokerPort: broker.port, topicPrefix: load.topicPrefix,
                        brokers: [
                            "cloud: {host: 127.0.0.1, port: \(cloud.port), client_id: e2e-cloud-\(UInt32.random(in: 0...UInt32.max)), reconnect: {initial: 50ms, max: 200ms}}"
                        ],
                        sinks: [#"up: {type: mqtt, broker: cloud, topic: "agg/{pipeline}/{key}"}"#], pipelineSinks: ["up"])
                    let daemon = try await RunningDaemon.start(try config.load(), logs: LogCapture())
                    try await load.publish(port: broker.port)
                    try await daemon.waitForStatus("every result written while the sink's broker is down") { status in
                        status.pipelines.first?.resultsEmitted == Int64(expected.count)
                    }
                    #expect(await daemon.sink("up")?.delivered == 0)

                    try await cloud.restart()
                    let (_, client) = try await Subscriber.connect(
                        port: cloud.port, filter: "agg/#", persistentID: subscriberID, subscriber: subscriber)
                    try await subscriber.messages.wait("\(expected.count) results at the sink's broker") {
                        Set($0.map(\.payload)).count >= expected.count
                    }
                    try await daemon.stop()
                    await client.disconnect()

                    let log = try Self.resultsLog(directory)
                    #expect(Set(log) == Set(expected.map(\.json)))
                    // At-least-once: a batch whose acknowledgements were lost may come again, but
                    // the first arrival of each result follows the log's order.
                    var firstArrivals: [String] = []
                    for message in subscriber.messages.value where !firstArrivals.contains(message.payload) {
                        firstArrivals.append(message.payload)
                    }
                    #expect(firstArrivals == log)
                }
            }
        }
    }

    @Test("drop_oldest under a tiny quota with the sink down: delivered + dropped == produced, the newest delivered")
    func dropOldestKeepsTheNewest() async throws {
        try await withBroker { broker in
            try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                let load = Load(topicPrefix: uniquePrefix("sensors"))
                let expected = load.expected
                let http = try HTTPEndpoint()  // down during the load
                let config = DaemonConfig(
                    dataDirectory: directory, brokerPort: broker.port, topicPrefix: load.topicPrefix,
                    sinks: [
                        #"api: {type: http, url: "\#(http.url)", batch: {max_records: 100}, retry: {initial: 20ms, max: 100ms}, backlog: {quota_bytes: 1MiB, policy: drop_oldest}}"#
                    ],
                    pipelineSinks: ["api"])
                var configuration = try config.load()
                // The file format's minimum quota is 1 MiB (4096 results); a tiny one keeps the
                // load small: 1 KiB is 4 results at SinkFactory's 256 B per result.
                configuration.sinks[0].backlog.quota = ByteSize(bytes: 1024)
                let quotaRecords = Int(1024 / SinkFactory.estimatedResultBytes)
                let daemon = try await RunningDaemon.start(configuration, logs: LogCapture())
                try await load.publish(port: broker.port)
                let before = try await daemon.waitForStatus("the backlog cut to its quota") { status in
                    guard let sink = status.sinks.first, status.pipelines.first?.resultsEmitted == Int64(expected.count)
                    else { return false }
                    // (The backlog gauge is set before the drop it triggers: wait for both.)
                    return sink.backlog <= Int64(quotaRecords) && sink.dropped + sink.backlog == Int64(expected.count)
                }
                #expect(try #require(before.sinks.first).delivered == 0)

                try await http.start()
                let after = try await daemon.waitForStatus("the rest delivered") { status in
                    guard let sink = status.sinks.first else { return false }
                    return sink.delivered + sink.dropped == Int64(expected.count)
                }
                try await daemon.stop()
                try await http.stop()

                let log = try Self.resultsLog(directory)
                #expect(Set(log) == Set(expected.map(\.json)))
                let sink = try #require(after.sinks.first)
                let delivered = http.acceptedIDs
                #expect(Int64(delivered.count) == sink.delivered)
                #expect(delivered.count + Int(sink.dropped) == expected.count, "delivered + dropped == produced")
                #expect(!delivered.isEmpty && delivered.count <= quotaRecords)
                // Exactly the missing ones were counted as dropped, and the delivered are the newest.
                let missing = log.map(resultID).filter { !delivered.contains($0) }
                #expect(Int64(missing.count) == sink.dropped)
                #expect(delivered == Array(log.map(resultID).suffix(delivered.count)))
            }
        }
    }

    @Test("no secret (broker passwords, bearer token, admin token) appears in trace logs or the status")
    func secretsAreNeverLogged() async throws {
        let brokerPassword = "brokerPW-\(UInt32.random(in: 0...UInt32.max))-x"
        let wrongPassword = "wrongPW-\(UInt32.random(in: 0...UInt32.max))-y"
        let bearerToken = "bearerTK-\(UInt32.random(in: 0...UInt32.max))-z"
        let adminToken = "adminTK-\(UInt32.random(in: 0...UInt32.max))-w"
        let secrets = [brokerPassword, wrongPassword, bearerToken, adminToken]
        try await withBroker(.init(users: ["pspf": brokerPassword])) { broker in
            try await withTemporaryDirectory(prefix: "pspf-e2e-") { directory in
                let load = Load(topicPrefix: uniquePrefix("sensors"))
                let expected = load.expected
                let credentials = MQTTCredentials.literal(username: "pspf", password: brokerPassword)
                let http = try HTTPEndpoint { index in index < 3 ? .init(status: 503) : .init(status: 200) }
                try await http.start()
                try adminToken.write(toFile: directory + "/admin-token", atomically: true, encoding: .utf8)
                let config = DaemonConfig(
                    dataDirectory: directory, brokerPort: broker.port, topicPrefix: load.topicPrefix,
                    brokerExtra: ["username: pspf", "password: \(brokerPassword)"],
                    // The same broker with a wrong password: the MQTT sink fails to connect, over and over.
                    brokers: [
                        "wrong: {host: 127.0.0.1, port: \(broker.port), client_id: e2e-wrong, username: pspf, password: \(wrongPassword), reconnect: {initial: 50ms, max: 200ms}}"
                    ],
                    sinks: [
                        #"api: {type: http, url: "\#(http.url)", bearer_token: \#(bearerToken), batch: {max_records: 5}, retry: {initial: 20ms, max: 100ms}}"#,
                        #"cloud: {type: mqtt, broker: wrong, topic: "agg/{key}"}"#,
                    ],
                    pipelineSinks: ["api", "cloud"], admin: "admin: {enabled: false, token_file: admin-token}")
                let configuration = try config.load()
                #expect(configuration.admin.token?.reveal() == adminToken)
                let logs = LogCapture()
                let daemon = try await RunningDaemon.start(configuration, logs: logs, level: .trace)
                try await load.publish(port: broker.port, credentials: credentials)
                try await http.waitForAccepted(expected.count)
                try await logs.wait(for: "cannot connect to the broker for sinks", count: 2)
                let status = await daemon.status()
                try await daemon.stop()
                try await http.stop()

                // The secrets were in use…
                #expect(http.exchanges.value.allSatisfy { $0.request.headers["authorization"] == "Bearer \(bearerToken)" })
                #expect(http.exchanges.value.contains { $0.status == 503 })
                #expect(logs.text.contains("level=trace") || logs.text.contains("level=debug"), "trace logging was on")
                // …and never written anywhere an operator looks.
                let statusJSON = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
                for secret in secrets {
                    #expect(!logs.text.contains(secret), "a secret in the logs")
                    #expect(!statusJSON.contains(secret), "a secret in the status")
                }
                #expect(!"\(configuration)".contains(brokerPassword))
            }
        }
    }

    /// Result files of a file sink directory (not its hidden state file), lines in file order.
    static func resultFileLines(_ directory: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".jsonl") && !$0.hasPrefix(".") }.sorted()
        return try files.flatMap { file in
            try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
                .split(separator: "\n").map(String.init)
        }
    }
}
