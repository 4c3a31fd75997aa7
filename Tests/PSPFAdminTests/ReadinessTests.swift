import Testing

@testable import PSPFAdmin

/// Every readiness transition, judged from hand-built statuses: time is the status's
/// `takenAtMilliseconds`, so nothing sleeps.
@Suite struct ReadinessTests {
    let start: Int64 = 1_000_000

    /// A healthy daemon `seconds` after start: connected, checkpointed 0.5 s ago, sinks healthy.
    func healthy(at seconds: Int64 = 100, interval: Double = 1) -> DaemonStatus {
        let now = start + seconds * 1000
        return DaemonStatus(
            version: "t", startedAtMilliseconds: start, takenAtMilliseconds: now, checkpointIntervalSeconds: interval,
            sources: [SourceStatus(name: "sensors", broker: "local", connected: true)],
            pipelines: [
                PipelineStatus(
                    name: "temp", source: "sensors",
                    checkpoint: CheckpointStatus(count: 1, lastCompletedAtMilliseconds: now - 500))
            ],
            sinks: [SinkStatus(name: "http", pipeline: "temp", type: "http")])
    }

    @Test func healthyIsReady() {
        #expect(Readiness(judging: healthy()) == Readiness(ready: true, reasons: []))
    }

    @Test func stoppingIsNotReady() {
        var status = healthy()
        status.stopping = true
        #expect(Readiness(judging: status) == Readiness(ready: false, reasons: ["daemon is stopping"]))
    }

    @Test func disconnectedSourceAndBack() {
        var status = healthy()
        status.sources[0].connected = false
        #expect(
            Readiness(judging: status)
                == Readiness(ready: false, reasons: ["source sensors: broker local is disconnected"]))
        status.sources[0].connected = true
        #expect(Readiness(judging: status).ready)
    }

    @Test func disconnectedSourceToleratedWhenPolicySaysSo() {
        var status = healthy()
        status.sources[0].connected = false
        #expect(Readiness(judging: status, policy: ReadinessPolicy(requireConnectedSources: false)).ready)
    }

    /// With a 1 s interval the floor (10 s) is the limit; with 5 s it is 3 × 5 s = 15 s.
    @Test(arguments: [
        (1.0, Int64(10_000), true), (1.0, 10_001, false), (5.0, 15_000, true), (5.0, 15_001, false),
    ])
    func checkpointAgeLimit(interval: Double, ageMilliseconds: Int64, ready: Bool) {
        var status = healthy(interval: interval)
        status.pipelines[0].checkpoint.lastCompletedAtMilliseconds = status.takenAtMilliseconds - ageMilliseconds
        #expect(Readiness(judging: status).ready == ready)
    }

    @Test func staleCheckpointReason() {
        var status = healthy()
        status.pipelines[0].checkpoint.lastCompletedAtMilliseconds = status.takenAtMilliseconds - 42_500
        #expect(
            Readiness(judging: status).reasons == ["pipeline temp: last checkpoint 42.5 s ago (limit 10 s)"])
    }

    @Test func noCheckpointYetIsReadyOnlyWithinTheGracePeriod() {
        var status = healthy(at: 30)
        status.pipelines[0].checkpoint = CheckpointStatus()
        #expect(Readiness(judging: status).ready)
        status.takenAtMilliseconds = start + 30_001
        #expect(
            Readiness(judging: status)
                == Readiness(ready: false, reasons: ["pipeline temp: no checkpoint 30 s after start (grace 30 s)"]))
        // Then the first checkpoint arrives.
        status.pipelines[0].checkpoint = CheckpointStatus(count: 1, lastCompletedAtMilliseconds: start + 30_000)
        #expect(Readiness(judging: status).ready)
    }

    @Test func sinkFailingLongerThanTheLimit() {
        var status = healthy()
        let now = status.takenAtMilliseconds
        status.sinks[0].failingSinceMilliseconds = now - 60_000
        status.sinks[0].lastError = "HTTP 503"
        #expect(Readiness(judging: status).ready)  // exactly at the limit: still ready
        status.sinks[0].failingSinceMilliseconds = now - 75_000
        #expect(
            Readiness(judging: status)
                == Readiness(ready: false, reasons: ["sink http: failing for 75 s (limit 60 s): HTTP 503"]))
        status.sinks[0].failingSinceMilliseconds = nil  // delivered again
        #expect(Readiness(judging: status).ready)
    }

    @Test func reasonsComeInStatusOrder() {
        var status = healthy()
        status.stopping = true
        status.sources[0].connected = false
        status.sinks[0].failingSinceMilliseconds = status.takenAtMilliseconds - 61_000
        status.pipelines[0].checkpoint.lastCompletedAtMilliseconds = status.takenAtMilliseconds - 11_000
        #expect(
            Readiness(judging: status).reasons == [
                "daemon is stopping", "source sensors: broker local is disconnected",
                "pipeline temp: last checkpoint 11 s ago (limit 10 s)", "sink http: failing for 61 s (limit 60 s)",
            ])
    }
}
