import Logging
import PSPFMQTT

/// Retries a broker's first connection with the reconnect policy's exponential backoff (no
/// jitter): once connected, `MQTTClient` reconnects by itself, so only the first attempt needs
/// this. Used by the ingest of each source and by the sinks' connection to each broker.
struct FirstConnectionRetry {
    let policy: MQTTReconnectPolicy
    let logger: Logger
    /// What failed, for the log line ("cannot connect to the broker; retrying").
    let what: String

    /// Runs `attempt` until it returns without throwing; nil once the task is cancelled.
    func run<T>(_ attempt: () async throws -> T) async throws -> T? {
        var failures = 0
        while !Task.isCancelled {
            do {
                return try await attempt()
            } catch {
                if Task.isCancelled || error is CancellationError { return nil }
                failures += 1
                let delay = Self.backoff(policy, attempt: failures)
                logger.warning(
                    "\(what); retrying", metadata: ["error": "\(error)", "attempt": "\(failures)", "retry_in": "\(delay)"])
                do { try await Task.sleep(for: delay) } catch { return nil }
            }
        }
        return nil
    }

    /// The policy's delay after `attempt` consecutive failures.
    static func backoff(_ policy: MQTTReconnectPolicy, attempt: Int) -> Duration {
        let factor = Double(1 << min(attempt - 1, 20))
        return min(policy.maximumDelay, policy.initialDelay * factor)
    }
}
