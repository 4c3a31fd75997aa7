/// Whether the daemon is ready, and if not, why: the body of `/readyz`.
///
/// A pure judgement of one ``DaemonStatus`` against a ``ReadinessPolicy``; time is the
/// status's `takenAtMilliseconds`, so the same status always gets the same verdict. The daemon
/// is not ready when
/// - it is stopping,
/// - a source's broker is disconnected,
/// - a pipeline's last checkpoint is older than max(3 × interval, floor), or it has none yet
///   and the grace period after start is over,
/// - a sink has been failing for longer than the limit (default 60 s).
///
/// ```swift
/// let verdict = Readiness(judging: status, policy: ReadinessPolicy())
/// if !verdict.ready { print(verdict.reasons.joined(separator: "\n")) }
/// // source sensors: broker local is disconnected
/// ```
public struct Readiness: Codable, Sendable, Hashable {
    public var ready: Bool
    /// One line per failed check, in status order (sources, pipelines, sinks); empty when ready.
    public var reasons: [String]

    public init(ready: Bool, reasons: [String]) {
        self.ready = ready
        self.reasons = reasons
    }

    public init(judging status: DaemonStatus, policy: ReadinessPolicy = ReadinessPolicy()) {
        let now = status.takenAtMilliseconds
        var reasons: [String] = []
        if status.stopping { reasons.append("daemon is stopping") }
        if policy.requireConnectedSources {
            for source in status.sources where !source.connected {
                reasons.append("source \(source.name): broker \(source.broker) is disconnected")
            }
        }
        let ageLimit = policy.checkpointAgeLimitMilliseconds(intervalSeconds: status.checkpointIntervalSeconds)
        for pipeline in status.pipelines {
            if let last = pipeline.checkpoint.lastCompletedAtMilliseconds {
                let age = now - last
                if age > ageLimit {
                    reasons.append(
                        "pipeline \(pipeline.name): last checkpoint \(Self.seconds(age)) ago (limit \(Self.seconds(ageLimit)))"
                    )
                }
            } else {
                let running = now - status.startedAtMilliseconds
                let grace = policy.firstCheckpointGrace.wholeMilliseconds
                if running > grace {
                    reasons.append(
                        "pipeline \(pipeline.name): no checkpoint \(Self.seconds(running)) after start (grace \(Self.seconds(grace)))"
                    )
                }
            }
        }
        let failingLimit = policy.sinkFailingLimit.wholeMilliseconds
        for sink in status.sinks {
            guard let since = sink.failingSinceMilliseconds else { continue }
            let failing = now - since
            if failing > failingLimit {
                var reason =
                    "sink \(sink.name): failing for \(Self.seconds(failing)) (limit \(Self.seconds(failingLimit)))"
                if let error = sink.lastError { reason += ": \(error)" }
                reasons.append(reason)
            }
        }
        self.init(ready: reasons.isEmpty, reasons: reasons)
    }

    /// `12 s`, `2.5 s`: milliseconds as seconds with at most one decimal (truncated), no Foundation.
    static func seconds(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let ms = milliseconds.magnitude
        let tenths = ms % 1000 / 100
        return sign + "\(ms / 1000)" + (tenths == 0 ? "" : ".\(tenths)") + " s"
    }
}
