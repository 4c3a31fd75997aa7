import PSPFCore
import PSPFTesting
import Testing

@Suite("Idle timeout and per-key watermarks")
struct IdleAndWatermarkTests {
    /// Tumbling 10 s, idle timeout 30 s of processing time.
    static func plan() -> PipelinePlan<Reading, RowResult> {
        sumPlan(.tumbling(.seconds(10)), outOfOrderness: 2_000, idle: 30_000)
    }

    @Test func idleTimeoutFiresOpenWindowsAndMakesStragglersLate() {
        let session = TestSession(plan: Self.plan())
        session.feed(Reading("a", 1_000), at: .milliseconds(1_000))
        session.feed(Reading("a", 2_000), at: .milliseconds(2_000))
        session.advance(to: .milliseconds(31_999))
        #expect(session.run.outputs.isEmpty, "not idle yet: 29.999 s since the last reading")
        session.advance(to: .milliseconds(32_000))
        #expect(session.run.outputs.map(summary) == ["a@0-10000:n=2,sum_temp=2.0"])
        // The watermark moved past the fired window: a straggler for it is late, counted.
        session.feed(Reading("a", 5_000), at: .milliseconds(40_000))
        #expect(session.run.metrics.late == 1)
        #expect(session.run.late.first?.watermark == .milliseconds(9_999))
        // A newer reading opens a new window.
        session.feed(Reading("a", 15_000), at: .milliseconds(41_000))
        #expect(session.run.metrics.windowsOpen == 1)
        session.finish()
        #expect(session.run.outputs.map(summary) == ["a@0-10000:n=2,sum_temp=2.0", "a@10000-20000:n=1,sum_temp=1.0"])
    }

    @Test func idleTimeoutFiresAllOpenWindowsInStartOrder() {
        let session = TestSession(plan: sumPlan(.tumbling(.seconds(10)), outOfOrderness: 60_000, idle: 30_000))
        session.feed(Reading("a", 25_000), at: .milliseconds(0))
        session.feed(Reading("a", 5_000), at: .milliseconds(1))
        session.feed(Reading("a", 15_000), at: .milliseconds(2))
        session.advance(to: .seconds(40))
        #expect(session.run.outputs.map(\.window.start.milliseconds) == [0, 10_000, 20_000])
        #expect(session.run.metrics.windowsOpen == 0)
    }

    @Test func idleKeysFireInLastActivityOrder() {
        let session = TestSession(plan: Self.plan())
        session.feed(Reading("b", 1_000), at: .milliseconds(1_000))
        session.feed(Reading("a", 1_000), at: .milliseconds(2_000))
        session.feed(Reading("b", 1_500), at: .milliseconds(3_000))  // b active again, after a
        session.advance(to: .seconds(100))
        #expect(session.run.outputs.map(\.key) == ["a", "b"])
    }

    @Test func advancingTheInstanceDirectlyFiresIdleKeys() {
        let session = TestSession(plan: Self.plan())
        session.feed(Reading("a", 1_000), at: .milliseconds(1_000))
        // Without the session helper: the runtime calls advanceProcessingTime itself.
        session.clock.set(.seconds(50))
        session.instance.advanceProcessingTime(to: .seconds(31))
        #expect(session.run.outputs.count == 1)
    }

    @Test func activityKeepsAKeyAlive() {
        let session = TestSession(plan: Self.plan())
        for s in stride(from: 1, through: 25, by: 1) {
            session.feed(Reading("a", Int64(s) * 100), at: .seconds(Int64(s) * 20))
        }
        // 20 s between readings < 30 s idle timeout: never idle, window [0,10 s) still open.
        #expect(session.run.outputs.isEmpty)
    }

    @Test func aSilentKeyDoesNotHoldOthersBack() {
        let session = TestSession(plan: sumPlan(.tumbling(.seconds(10))))
        session.feed(Reading("silent", 1_000), at: .seconds(1))
        for s in 1...25 { session.feed(Reading("live", Int64(s) * 1_000), at: .seconds(Int64(s))) }
        #expect(session.run.outputs.map(summary) == [
            "live@0-10000:n=9,sum_temp=9.0", "live@10000-20000:n=10,sum_temp=10.0",
        ])
    }

    /// One device buffers an hour of readings offline and publishes them at once, while another
    /// stays live: both get every window right, nothing is late.
    @Test func bufferedHourOfReadingsGetsCorrectWindows() throws {
        let generator = SyntheticStream(
            devices: 2, start: .seconds(0), interval: .seconds(1), duration: .seconds(7_200),
            jitter: .milliseconds(300), offline: [.init(device: 1, from: .seconds(600), to: .seconds(4_200))], seed: 7)
        let events = generator.events()
        let plan = Pipeline("hour").input(SyntheticReading.self)
            .keyBy(\.device)
            .eventTime(\.ts, outOfOrderness: .seconds(1), idleTimeout: .minutes(5))
            .window(.tumbling(.minutes(1)))
            .aggregate(count(), min(\.seq), max(\.seq))
            .plan(input: SyntheticReading.self)
        let run = TestRunner(plan: plan).run(events)
        #expect(run.metrics.late == 0)
        for device in ["dev-0000", "dev-0001"] {
            let windows = run.outputs.filter { $0.key == device }
            #expect(windows.count == 120)
            for (i, w) in windows.enumerated() {
                #expect(w.window.start == .seconds(Int64(i) * 60))
                #expect(w.count == 60)
                #expect(w.value["min_seq"] == .int(Int64(i) * 60))
                #expect(w.value["max_seq"] == .int(Int64(i) * 60 + 59))
            }
        }
        // The live device's windows were emitted while the other one was still offline.
        let firstBuffered = try #require(run.outputs.firstIndex { $0.key == "dev-0001" && $0.window.start == .seconds(600) })
        let liveDuringOutage = run.outputs[..<firstBuffered].filter { $0.key == "dev-0000" }.count
        #expect(liveDuringOutage >= 69)
    }

    @Test func watermarksAreNotSharedAcrossKeys() {
        // b's far-future reading must not make a's in-order readings late.
        let run = TestRunner(plan: sumPlan(.tumbling(.milliseconds(10))))
            .run(arrivingAtZero(["a@1", "b@1000", "a@2", "a@11"].map(parse)))
        #expect(run.metrics.late == 0)
        #expect(run.outputs.map(summary).first == "a@0-10:n=2,sum_temp=2.0")
    }

    @Test func processingTimeWindowsFireWhenProcessingTimePassesTheirEnd() {
        let plan = Pipeline("pt").input(Reading.self).keyBy(\.device).processingTime()
            .window(.tumbling(.seconds(10))).aggregate(count()).plan(input: Reading.self)
        let session = TestSession(plan: plan, start: .seconds(0))
        session.feed(parse("a@0"), at: .seconds(1))
        session.feed(parse("b@0"), at: .seconds(2))
        session.feed(parse("a@0"), at: .milliseconds(9_999))
        session.advance(to: .milliseconds(9_999))
        #expect(session.run.outputs.isEmpty)
        session.advance(to: .seconds(10))
        #expect(session.run.outputs.map(summary) == ["a@0-10000:n=2", "b@0-10000:n=1"])
        session.feed(parse("a@0"), at: .seconds(10))
        session.finish()
        #expect(session.run.outputs.map(summary).last == "a@10000-20000:n=1")
        #expect(session.run.metrics.late == 0)
    }

    @Test func processingTimeSessionsCloseAfterTheGap() {
        let plan = Pipeline("pt").input(Reading.self).keyBy(\.device).processingTime()
            .window(.session(gap: .seconds(5))).aggregate(count()).plan(input: Reading.self)
        let session = TestSession(plan: plan, start: .seconds(0))
        session.feed(parse("a@0"), at: .seconds(1))
        session.feed(parse("a@0"), at: .seconds(4))
        session.advance(to: .milliseconds(8_999))
        #expect(session.run.outputs.isEmpty)
        session.advance(to: .seconds(9))
        #expect(session.run.outputs.map(summary) == ["a@1000-9000:n=2"])
    }
}
