import PSPFCore
import PSPFTesting
import Testing

@Suite("Session windows")
struct SessionWindowTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var gap: Int64 = 10
        var maxLength: Int64? = nil
        var outOfOrderness: Int64 = 0
        var input: [String]
        var expected: [String]
        var late: [Int64] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "gap closes a session",
            input: ["a@0=1", "a@5=2", "a@30=4"],
            expected: ["a@0-15:n=2,sum_temp=3.0", "a@30-40:n=1,sum_temp=4.0"]),
        Case(
            name: "a gap of exactly `gap` starts a new session",
            outOfOrderness: 100,
            input: ["a@0", "a@10"],
            expected: ["a@0-10:n=1,sum_temp=1.0", "a@10-20:n=1,sum_temp=1.0"]),
        Case(
            name: "a record bridging two sessions merges them (accumulators merged)",
            outOfOrderness: 100,
            input: ["a@0=1", "a@18=2", "a@9=4"],
            expected: ["a@0-28:n=3,sum_temp=7.0"]),
        Case(
            name: "a record bridging three sessions",
            outOfOrderness: 100,
            input: ["a@0=1", "a@30=2", "a@15=4", "a@22=8", "a@8=16"],
            expected: ["a@0-40:n=5,sum_temp=31.0"]),
        Case(
            name: "an earlier record extends a session backwards",
            outOfOrderness: 100,
            input: ["a@20=1", "a@12=2"],
            expected: ["a@12-30:n=2,sum_temp=3.0"]),
        Case(
            name: "max length caps a session; the next record starts a new one",
            maxLength: 25,
            input: ["a@0", "a@8", "a@16", "a@24", "a@30"],
            expected: ["a@0-25:n=4,sum_temp=4.0", "a@30-40:n=1,sum_temp=1.0"]),
        Case(
            name: "max length: a record at start+maxLength opens a new session",
            maxLength: 25,
            outOfOrderness: 100,
            input: ["a@0", "a@8", "a@16", "a@25"],
            expected: ["a@0-25:n=3,sum_temp=3.0", "a@25-35:n=1,sum_temp=1.0"]),
        Case(
            name: "max length: a bridge that would be too long joins only the session containing it",
            maxLength: 20,
            outOfOrderness: 100,
            input: ["a@0", "a@9", "a@21", "a@18"],
            expected: ["a@0-20:n=3,sum_temp=3.0", "a@21-31:n=1,sum_temp=1.0"]),
        Case(
            name: "a record for a fired session is late; one that joins an open session is not",
            input: ["a@0", "a@50", "a@5", "a@45"],
            expected: ["a@0-10:n=1,sum_temp=1.0", "a@45-60:n=2,sum_temp=2.0"],
            late: [5]),
        Case(
            name: "keys have separate sessions",
            outOfOrderness: 100,
            input: ["a@0", "b@5", "a@5", "b@30"],
            expected: ["a@0-15:n=2,sum_temp=2.0", "b@5-15:n=1,sum_temp=1.0", "b@30-40:n=1,sum_temp=1.0"]),
    ]

    @Test(arguments: cases)
    func table(_ c: Case) {
        let plan = sumPlan(
            .session(gap: .milliseconds(c.gap), maxLength: c.maxLength.map { .milliseconds($0) }),
            outOfOrderness: c.outOfOrderness)
        let run = TestRunner(plan: plan).run(arrivingAtZero(c.input.map(parse)))
        #expect(run.outputs.map(summary) == c.expected)
        #expect(run.late.map(\.eventTime.milliseconds) == c.late)
        #expect(run.metrics.windowsOpen == 0)
        #expect(run.outputs.map(\.count).reduce(0, +) + run.metrics.late == Int64(c.input.count))
    }

    @Test func mergingCountsOpenWindows() {
        let session = TestSession(plan: sumPlan(.session(gap: .milliseconds(10)), outOfOrderness: 100))
        for r in ["a@0", "a@25", "a@60", "a@12"] { session.feed(parse(r), at: .milliseconds(0)) }
        #expect(session.run.metrics.windowsOpen == 4)  // [0,10) [12,22) [25,35) [60,70)
        session.feed(parse("a@8"), at: .milliseconds(0))
        #expect(session.run.metrics.windowsOpen == 3)  // [0,22) [25,35) [60,70)
        session.feed(parse("a@18"), at: .milliseconds(0))
        #expect(session.run.metrics.windowsOpen == 2)  // [0,35) [60,70)
        session.finish()
        #expect(session.run.outputs.map(summary) == ["a@0-35:n=5,sum_temp=5.0", "a@60-70:n=1,sum_temp=1.0"])
    }
}
