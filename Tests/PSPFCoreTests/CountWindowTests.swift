import PSPFCore
import PSPFTesting
import Testing

@Suite("Count windows")
struct CountWindowTests {
    @Test func firesWhenFullAndFinishEmitsThePartialWindow() {
        let input = (0..<7).map { Reading("a", Int64(100 + $0 * 10), Double($0)) }
        let run = TestRunner(plan: sumPlan(.count(3))).run(arrivingAtZero(input))
        #expect(run.outputs.map(summary) == [
            "a@100-121#0:n=3,sum_temp=3.0", "a@130-151#1:n=3,sum_temp=12.0", "a@160-161#2:n=1,sum_temp=6.0",
        ])
    }

    @Test func startAndEndSpanTheElementsEvenOutOfOrder() {
        let run = TestRunner(plan: sumPlan(.count(3))).run(arrivingAtZero(["a@50", "a@10", "a@30"].map(parse)))
        #expect(run.outputs.map(summary) == ["a@10-51#0:n=3,sum_temp=3.0"])
    }

    @Test func countWindowsNeverDropLateRecords() {
        // Event time far in the past is still counted: count windows have no lateness.
        let run = TestRunner(plan: sumPlan(.count(2))).run(arrivingAtZero(["a@1000", "a@1", "a@5"].map(parse)))
        #expect(run.metrics.late == 0)
        #expect(run.outputs.map(\.count) == [2, 1])
    }

    @Test func sequenceNumbersArePerKey() {
        let run = TestRunner(plan: sumPlan(.count(1))).run(arrivingAtZero(["a@1", "b@1", "a@2"].map(parse)))
        #expect(run.outputs.map { "\($0.key)#\($0.window.sequence!)" } == ["a#0", "b#0", "a#1"])
    }

    @Test func idleTimeoutEmitsThePartialWindow() {
        let session = TestSession(plan: sumPlan(.count(3), idle: 5_000))
        session.feed(parse("a@1"), at: .milliseconds(1_000))
        session.feed(parse("a@2"), at: .milliseconds(2_000))
        session.advance(to: .milliseconds(6_999))
        #expect(session.run.outputs.isEmpty)
        session.advance(to: .milliseconds(7_000))
        #expect(session.run.outputs.map(summary) == ["a@1-3#0:n=2,sum_temp=2.0"])
        session.feed(parse("a@3"), at: .milliseconds(8_000))
        session.finish()
        #expect(session.run.outputs.map(summary).last == "a@3-4#1:n=1,sum_temp=1.0")
    }

    @Test func processingTimeCountWindowsUseArrivalTimes() {
        let plan = Pipeline("p").input(Reading.self).keyBy(\.device).processingTime(idleTimeout: .seconds(1))
            .window(.count(2)).aggregate(count()).plan(input: Reading.self)
        let session = TestSession(plan: plan, start: .milliseconds(0))
        session.feed(parse("a@999999"), at: .milliseconds(10))
        session.feed(parse("a@5"), at: .milliseconds(20))
        session.feed(parse("a@5"), at: .milliseconds(30))
        session.advance(to: .milliseconds(1_030))
        #expect(session.run.outputs.map(summary) == ["a@10-21#0:n=2", "a@30-31#1:n=1"])
    }
}
