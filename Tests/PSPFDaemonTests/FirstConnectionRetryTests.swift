import Logging
import PSPFMQTT
import Testing

@testable import PSPFDaemon

@Suite struct FirstConnectionRetryTests {
    @Test func backoffDoublesUpToTheMaximum() {
        var policy = MQTTReconnectPolicy()
        policy.initialDelay = .milliseconds(100)
        policy.maximumDelay = .milliseconds(700)
        let delays = (1...5).map { FirstConnectionRetry.backoff(policy, attempt: $0) }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(700), .milliseconds(700)])
    }

    @Test func retriesUntilAnAttemptSucceeds() async throws {
        var policy = MQTTReconnectPolicy()
        policy.initialDelay = .milliseconds(1)
        policy.maximumDelay = .milliseconds(1)
        let retry = FirstConnectionRetry(policy: policy, logger: Logger(label: "test"), what: "test")
        var attempts = 0
        let value = try await retry.run { () throws -> Int in
            attempts += 1
            if attempts < 3 { throw MQTTError(code: .noConnection, message: "refused") }
            return 42
        }
        #expect(value == 42)
        #expect(attempts == 3)
    }
}
