import Foundation
import Logging
import PSPFAdmin
import PSPFConfig
import PSPFTesting
import Testing

@testable import PSPFDaemon

/// `/readyz` of a real daemon follows its broker: down makes it fail with the reason, back up
/// makes it pass. Transitions are awaited through the daemon's connection events and the admin
/// server's bound port, never by sleeping.
@Suite(.serialized) struct DaemonHealthTests {
    @Test func readinessFollowsTheBrokerConnection() async throws {
        let broker = try await BrokerFixture.start()
        defer { broker.cleanUp() }
        try await withTemporaryDirectory { directory in
            let yaml = """
                version: 1
                data_dir: \(directory)
                brokers:
                  local: {host: 127.0.0.1, port: \(broker.port), client_id: health-test, reconnect: {initial: 100ms, max: 200ms}}
                sources:
                  sensors: {broker: local, topics: [sensors/+/reading], key: {topic_segment: 1}, log: {partitions: 1}}
                pipelines:
                  p:
                    source: sensors
                    key: {topic_segment: 1}
                    timestamp: {field: ts}
                    window: {type: tumbling, size: 10s}
                    sinks: [console]
                sinks:
                  console: {type: console}
                checkpoint: {interval: 100ms}
                admin: {token_file: \(directory)/admin-token}
                """
            try "health-token\n".write(toFile: directory + "/admin-token", atomically: true, encoding: .utf8)
            var configuration = try ConfigLoader.load(yaml: yaml, file: "health.yaml")
            configuration.admin.port = 0
            let port = Observed<Int?>(nil)
            let connected = Observed<[Bool]>([])
            let daemon = Daemon(
                configuration: configuration, logger: Logger(label: "test"), consoleWrite: { _ in },
                handleSignals: false, serveAdmin: true, onAdminRunning: { bound in port.update { $0 = bound } })
            let run = Task { try await daemon.run() }
            await daemon.waitUntilStarted()
            daemon.observeConnections { _, isConnected in connected.update { $0.append(isConnected) } }
            let bound = try await port.wait("the admin port") { $0 != nil }!
            let client = AdminClient(baseURL: "http://127.0.0.1:\(bound)", token: "health-token")

            try await connected.wait("first connection") { $0.contains(true) }
            // Checkpoints run every 100 ms, so readiness only waits for the broker.
            #expect(try await readiness(client).ready)

            try await broker.stop()
            try await connected.wait("connection lost") { $0.last == false }
            let down = try await readiness(client)
            #expect(!down.ready)
            #expect(down.reasons.contains { $0 == "source sensors: broker local is disconnected" }, "\(down.reasons)")

            let events = connected.value.count
            try await broker.restart()
            try await connected.wait("reconnected") { $0.count > events && $0.last == true }
            #expect(try await readiness(client).ready)

            await daemon.shutdown()
            try await run.value
        }
    }

    private struct ReadinessBody: Decodable {
        var ready: Bool
        var reasons: [String]
    }

    /// `/readyz` answers 200 or 503 with the same JSON body; the client returns 503 as an error
    /// carrying the body, so read it either way.
    private func readiness(_ client: AdminClient) async throws -> ReadinessBody {
        do {
            return try JSONDecoder().decode(ReadinessBody.self, from: Data(try await client.get("/readyz")))
        } catch let failure as AdminClient.Failure {
            guard let start = failure.description.firstIndex(of: "{") else { throw failure }
            return try JSONDecoder().decode(ReadinessBody.self, from: Data(failure.description[start...].utf8))
        }
    }
}
