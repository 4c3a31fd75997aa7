import PSPFTesting
import Synchronization
import Testing

@testable import PSPFConnectors

/// Records the delays the sink asks for and returns at once: retries without waiting.
final class RecordingSleeper: Sleeper {
    let delays = Mutex<[Duration]>([])
    func sleep(for duration: Duration) async throws { delays.withLock { $0.append(duration) } }
    var recorded: [Duration] { delays.withLock { $0 } }
}

@Suite struct HTTPSinkTests {
    private func records(_ ids: [String]) -> [SinkRecord] {
        ids.enumerated().map { index, id in
            SinkRecord(partition: 0, offset: Int64(index), id: id, payload: Array(#"{"id":"\#(id)","count":\#(index)}"#.utf8))
        }
    }

    private func sink(
        port: Int, retry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(2), jitter: 0),
        token: String? = nil, sleeper: RecordingSleeper = RecordingSleeper(), timeout: Duration = .seconds(10)
    ) throws -> HTTPSink {
        try HTTPSink(
            configuration: HTTPSinkConfiguration(
                url: "http://127.0.0.1:\(port)/ingest", headers: [("X-Gateway", "gw-1")], bearerToken: token,
                timeout: timeout, retry: retry),
            sleeper: sleeper, randomUnit: { 0.5 }, now: { 1_000_000 })
    }

    @Test func serviceUnavailableIsRetriedWithBackoffThenDelivered() async throws {
        let server = try await HTTPTestServer.start { _, index in .init(status: index < 3 ? 503 : 200) }
        let sleeper = RecordingSleeper()
        let result = try await sink(port: server.port, sleeper: sleeper).deliverRetrying(records(["a", "b"]))
        #expect(result == .delivered(status: 200, attempts: 4))
        #expect(sleeper.recorded == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
        let requests = server.requests
        #expect(requests.count == 4)
        // Every attempt carries the same batch and the same idempotency key.
        #expect(Set(requests.map { $0.headers["idempotency-key"] ?? "" }).count == 1)
        #expect(requests.allSatisfy { $0.bodyText == #"[{"id":"a","count":0},{"id":"b","count":1}]"# })
        #expect(requests.allSatisfy { $0.method == "POST" && $0.uri == "/ingest" && $0.headers["x-gateway"] == "gw-1" })
        #expect(requests[0].headers["content-type"] == "application/json")
        try await server.stop()
    }

    @Test func retryAfterIsHonouredWhenLongerThanTheBackoff() async throws {
        let server = try await HTTPTestServer.start { _, index in
            index == 0 ? .init(status: 429, headers: [("Retry-After", "7")]) : .init(status: 204)
        }
        let sleeper = RecordingSleeper()
        let result = try await sink(port: server.port, sleeper: sleeper).deliverRetrying(records(["x"]))
        #expect(result == .delivered(status: 204, attempts: 2))
        #expect(sleeper.recorded == [.seconds(7)])
        try await server.stop()
    }

    @Test func clientErrorsAreRejectedWithTheStatusAndBody() async throws {
        let server = try await HTTPTestServer.start { _, _ in .init(status: 400, body: "field 'avg_temp' is not allowed") }
        let result = try await sink(port: server.port).deliverRetrying(records(["x"]))
        #expect(result == .rejected(status: 400, bodyExcerpt: "field 'avg_temp' is not allowed", attempts: 1))
        #expect(server.requests.count == 1)
        try await server.stop()
    }

    @Test func attemptsRunOutIntoExhausted() async throws {
        let server = try await HTTPTestServer.start { _, _ in .init(status: 500) }
        let retry = RetryPolicy(initialDelay: .milliseconds(10), jitter: 0, maxAttempts: 3)
        let result = try await sink(port: server.port, retry: retry).deliverRetrying(records(["x"]))
        #expect(result == .exhausted(lastError: "HTTP 500", attempts: 3))
        try await server.stop()
    }

    @Test func connectionErrorsAreRetried() async throws {
        // Nothing listens on the server's port once it stopped.
        let server = try await HTTPTestServer.start { _, _ in .init(status: 200) }
        let port = server.port
        try await server.stop()
        let retry = RetryPolicy(initialDelay: .milliseconds(10), jitter: 0, maxAttempts: 2)
        // AsyncHTTPClient keeps retrying a refused connect until the request deadline.
        let result = try await sink(port: port, retry: retry, timeout: .milliseconds(300)).deliverRetrying(records(["x"]))
        guard case .exhausted(_, let attempts) = result else {
            Issue.record("expected exhausted, got \(result)")
            return
        }
        #expect(attempts == 2)
    }

    @Test func bearerTokenIsSentButNeverPrinted() async throws {
        let server = try await HTTPTestServer.start { _, _ in .init(status: 200) }
        let sink = try sink(port: server.port, token: "s3cr3t-token")
        _ = try await sink.deliverRetrying(records(["x"]))
        #expect(server.requests.first?.headers["authorization"] == "Bearer s3cr3t-token")
        #expect(!String(describing: sink.configuration).contains("s3cr3t-token"))
        try await server.stop()
    }

    @Test func idempotencyKeyDependsOnlyOnTheResultIds() {
        let a = HTTPSink.idempotencyKey(records(["r1", "r2", "r3"]))
        #expect(a == HTTPSink.idempotencyKey(records(["r1", "r2", "r3"])))
        #expect(a != HTTPSink.idempotencyKey(records(["r1", "r2"])))
        #expect(a != HTTPSink.idempotencyKey(records(["r3", "r2", "r1"])))
        #expect(a.hasPrefix("3-r1-r3-"))
    }

    @Test(arguments: [
        (200, nil as String?, HTTPResponseClass.delivered),
        (204, nil, .delivered),
        (400, nil, .rejected),
        (404, nil, .rejected),
        (301, nil, .rejected),
        (408, nil, .retry(after: nil)),
        (429, "3", .retry(after: .seconds(3))),
        (503, "Thu, 01 Jan 1970 00:20:00 GMT", .retry(after: .seconds(200))),
        (502, "soon", .retry(after: nil)),
    ])
    func responseClassification(status: Int, retryAfter: String?, expected: HTTPResponseClass) {
        #expect(HTTPResponseClass(status: status, retryAfter: retryAfter, now: 1_000_000) == expected)
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        let policy = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1), jitter: 0.5)
        #expect(policy.delay(afterAttempt: 1, randomUnit: 0.5) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 4, randomUnit: 0.5) == .milliseconds(800))
        #expect(policy.delay(afterAttempt: 10, randomUnit: 0.5) == .seconds(1))
        #expect(policy.delay(afterAttempt: 1, randomUnit: 0) == .milliseconds(50))
        #expect(policy.delay(afterAttempt: 1, randomUnit: 1) == .milliseconds(150))
        #expect(RetryPolicy(maxAttempts: 3).allowsRetry(afterAttempt: 2))
        #expect(!RetryPolicy(maxAttempts: 3).allowsRetry(afterAttempt: 3))
    }
}
