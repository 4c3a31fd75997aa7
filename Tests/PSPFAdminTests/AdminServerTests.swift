import Foundation
import Testing

@testable import PSPFAdmin

/// The admin server over real HTTP on 127.0.0.1 and a free port.
@Suite struct AdminServerTests {
    @Test func metricsAreScrapedAndParsed() async throws {
        let provider = FakeStatusProvider(Fixture.status())
        try await withAdminServer(provider: provider) { port in
            let answer = try await get(port, "/metrics")
            #expect(answer.status == 200)
            #expect(answer.contentType == "text/plain; version=0.0.4; charset=utf-8")
            let text = try PrometheusText(answer.body)
            #expect(text["pspf_ingest_messages_total", ["source": "sensors"]] == 1200)
            #expect(text["pspf_log_end_offset", ["topic": "sensors", "partition": "0"]] == 600)
            #expect(text["pspf_dead_letters_total", ["pipeline": "temp-stats", "reason": "schema_violation"]] == 4)
            #expect(
                text["pspf_sink_backlog_records", ["sink": "cloud", "pipeline": "temp-stats", "type": "http"]] == 8)
            #expect(text["pspf_ready"] == 1)

            provider.update { $0.sources[0].messagesReceived = 1234 }
            let again = try PrometheusText(try await get(port, "/metrics").body)
            #expect(again["pspf_ingest_messages_total", ["source": "sensors"]] == 1234)
        }
    }

    @Test func readinessFollowsTheProvider() async throws {
        let provider = FakeStatusProvider(Fixture.status())
        try await withAdminServer(provider: provider) { port in
            var answer = try await get(port, "/readyz")
            #expect(answer.status == 200)
            #expect(answer.contentType == "application/json")
            #expect(try decode(Readiness.self, answer.body) == Readiness(ready: true, reasons: []))

            provider.update { $0.sources[0].connected = false }
            answer = try await get(port, "/readyz")
            #expect(answer.status == 503)
            #expect(
                try decode(Readiness.self, answer.body)
                    == Readiness(ready: false, reasons: ["source sensors: broker local is disconnected"]))
            #expect(try PrometheusText(try await get(port, "/metrics").body)["pspf_ready"] == 0)

            provider.update { $0.sources[0].connected = true }
            answer = try await get(port, "/readyz")
            #expect(answer.status == 200)
        }
    }

    @Test func healthzAnswersOK() async throws {
        try await withAdminServer(provider: FakeStatusProvider(Fixture.status())) { port in
            let answer = try await get(port, "/healthz")
            #expect(answer.status == 200 && answer.body == "ok\n")
        }
    }

    @Test func bearerTokenGuardsEveryRouteButHealthz() async throws {
        let token = "s3cret-admin-token"
        try await withAdminServer(provider: FakeStatusProvider(Fixture.status()), token: token) { port in
            for path in ["/metrics", "/readyz", "/status"] {
                #expect(try await get(port, path).status == 401, "\(path) without a header")
                #expect(try await get(port, path, authorization: "Bearer wrong").status == 401, "\(path) wrong token")
                #expect(
                    try await get(port, path, authorization: "Bearer \(token)x").status == 401, "\(path) longer token")
                #expect(try await get(port, path, authorization: token).status == 401, "\(path) without the scheme")
                #expect(
                    try await get(port, path, authorization: "Bearer \(token)").status == 200, "\(path) right token")
            }
            #expect(try await get(port, "/metrics", authorization: "bearer \(token)").status == 200)
            let refused = try await get(port, "/status")
            #expect(!refused.body.contains(token))
            #expect(try await get(port, "/healthz").status == 200)
        }
    }

    @Test func statusIsTheProvidedStatusAsJSON() async throws {
        let status = Fixture.status()
        try await withAdminServer(provider: FakeStatusProvider(status)) { port in
            let answer = try await get(port, "/status")
            #expect(answer.status == 200)
            #expect(answer.contentType == "application/json")
            #expect(try decode(DaemonStatus.self, answer.body) == status)
        }
    }

    @Test func processFiguresAreSampledFromProc() async throws {
        var status = Fixture.status()
        status.process = ProcessStatus()
        status.takenAtMilliseconds = 0  // the server fills in the time
        try await withAdminServer(provider: FakeStatusProvider(status), sampleProcess: true) { port in
            let decoded = try decode(DaemonStatus.self, try await get(port, "/status").body)
            #expect(decoded.takenAtMilliseconds > Fixture.start)
            #if os(Linux)
                #expect(decoded.process.residentBytes > 1 << 20)
                #expect(decoded.process.openFiles > 3)
                #expect(decoded.process.cpuSeconds > 0)
            #endif
        }
    }

    @Test func adminClientReadsTheStatus() async throws {
        let status = Fixture.status()
        try await withAdminServer(provider: FakeStatusProvider(status), token: "t0ken") { port in
            let client = AdminClient(baseURL: "http://127.0.0.1:\(port)/", token: "t0ken")
            #expect(try await client.status() == status)
            do {
                _ = try await AdminClient(baseURL: "http://127.0.0.1:\(port)", token: "nope").status()
                Issue.record("a wrong token must be refused")
            } catch let failure as AdminClient.Failure {
                #expect(
                    failure.description == "http://127.0.0.1:\(port)/status: 401 unauthorized; the token was refused")
            }
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(body.utf8))
    }
}
