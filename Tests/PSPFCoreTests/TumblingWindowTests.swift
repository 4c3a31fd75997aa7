import PSPFCore
import PSPFTesting
import Testing

@Suite("Tumbling windows")
struct TumblingWindowTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var outOfOrderness: Int64 = 0
        var lateness: Int64 = 0
        var offset: Int64 = 0
        var input: [String]
        var expected: [String]
        var late: [Int64] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "in order",
            input: ["a@1", "a@5", "a@12", "a@25"],
            expected: ["a@0-10:n=2,sum_temp=2.0", "a@10-20:n=1,sum_temp=1.0", "a@20-30:n=1,sum_temp=1.0"]),
        Case(
            name: "fires exactly when W reaches end-1",
            input: ["a@1", "a@8", "a@9", "a@10"],
            expected: ["a@0-10:n=3,sum_temp=3.0", "a@10-20:n=1,sum_temp=1.0"]),
        Case(
            name: "out of order within bound",
            outOfOrderness: 5,
            input: ["a@1", "a@12", "a@3", "a@15", "a@11"],
            expected: ["a@0-10:n=2,sum_temp=2.0", "a@10-20:n=3,sum_temp=3.0"]),
        Case(
            name: "late beyond out-of-orderness goes to the side output",
            input: ["a@1", "a@12", "a@3", "a@13"],
            expected: ["a@0-10:n=1,sum_temp=1.0", "a@10-20:n=2,sum_temp=2.0"],
            late: [3]),
        Case(
            name: "allowed lateness keeps the window open",
            lateness: 5,
            input: ["a@1", "a@12", "a@3", "a@14", "a@4"],
            expected: ["a@0-10:n=2,sum_temp=2.0", "a@10-20:n=2,sum_temp=2.0"],
            late: [4]),
        Case(
            name: "out-of-orderness and lateness add up",
            outOfOrderness: 3, lateness: 2,
            input: ["a@5", "a@13", "a@0", "a@14", "a@1"],
            expected: ["a@0-10:n=2,sum_temp=2.0", "a@10-20:n=2,sum_temp=2.0"],
            late: [1]),
        Case(
            name: "offset shifts the grid",
            offset: 3,
            input: ["a@1", "a@3", "a@12", "a@13"],
            expected: ["a@-7-3:n=1,sum_temp=1.0", "a@3-13:n=2,sum_temp=2.0", "a@13-23:n=1,sum_temp=1.0"]),
        Case(
            name: "negative timestamps floor correctly",
            input: ["a@-5", "a@-1", "a@0"],
            expected: ["a@-10-0:n=2,sum_temp=2.0", "a@0-10:n=1,sum_temp=1.0"]),
        Case(
            name: "keys are independent",
            input: ["a@1", "b@2", "a@15", "b@3", "a@4"],
            expected: ["a@0-10:n=1,sum_temp=1.0", "b@0-10:n=2,sum_temp=2.0", "a@10-20:n=1,sum_temp=1.0"],
            late: [4]),
        Case(
            name: "a window skipped by the watermark makes its records late",
            input: ["a@1", "a@35", "a@15"],
            expected: ["a@0-10:n=1,sum_temp=1.0", "a@30-40:n=1,sum_temp=1.0"],
            late: [15]),
    ]

    @Test(arguments: cases)
    func table(_ c: Case) {
        let plan = sumPlan(
            .tumbling(size: .milliseconds(10), offset: .milliseconds(c.offset)),
            outOfOrderness: c.outOfOrderness, lateness: c.lateness)
        let run = TestRunner(plan: plan).run(arrivingAtZero(c.input.map(parse)))
        #expect(run.outputs.map(summary) == c.expected)
        #expect(run.late.map(\.eventTime.milliseconds) == c.late)
        #expect(run.metrics.late == Int64(c.late.count))
        #expect(run.metrics.windowsEmitted == Int64(c.expected.count))
        #expect(run.metrics.windowsOpen == 0)
        // Nothing vanishes: every element is in exactly one emitted window or late.
        #expect(run.outputs.map(\.count).reduce(0, +) + run.metrics.late == Int64(c.input.count))
    }

    @Test func lateEventCarriesKeyWatermarkAndWindow() throws {
        let run = TestRunner(plan: sumPlan(.tumbling(.milliseconds(10)), outOfOrderness: 2))
            .run(arrivingAtZero(["k@1", "k@20", "k@7"].map(parse)))
        let late = try #require(run.late.first)
        #expect(late == LateEvent(keyDescription: "k", eventTime: .milliseconds(7), watermark: .milliseconds(18),
            window: Window(start: .milliseconds(0), end: .milliseconds(10))))
    }

    @Test func emitsInStartOrderWhenOneRecordFiresSeveralWindows() {
        let run = TestRunner(plan: sumPlan(.tumbling(.milliseconds(10)), outOfOrderness: 30))
            .run(arrivingAtZero(["a@25", "a@5", "a@15", "a@70"].map(parse)), finish: false)
        #expect(run.outputs.map(summary) == ["a@0-10:n=1,sum_temp=1.0", "a@10-20:n=1,sum_temp=1.0", "a@20-30:n=1,sum_temp=1.0"])
        #expect(run.metrics.windowsOpen == 1)
    }

    @Test func finishFiresEverythingInEndThenKeyOrder() {
        let run = TestRunner(plan: sumPlan(.tumbling(.milliseconds(10)), outOfOrderness: 1000))
            .run(arrivingAtZero(["b@15", "a@15", "b@1", "a@31"].map(parse)))
        #expect(run.outputs.map(summary) == [
            "b@0-10:n=1,sum_temp=1.0", "b@10-20:n=1,sum_temp=1.0", "a@10-20:n=1,sum_temp=1.0", "a@30-40:n=1,sum_temp=1.0",
        ])
    }

    @Test func recordsAfterFinishAreLate() {
        let session = TestSession(plan: sumPlan(.tumbling(.milliseconds(10))))
        session.feed(parse("a@1"), at: .milliseconds(0))
        session.finish()
        session.feed(parse("a@100"), at: .milliseconds(0))
        #expect(session.run.outputs.count == 1)
        #expect(session.run.metrics.late == 1)
    }
}
