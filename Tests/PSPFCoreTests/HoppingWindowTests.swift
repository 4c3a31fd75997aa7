import PSPFCore
import PSPFTesting
import Testing

@Suite("Hopping windows")
struct HoppingWindowTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var size: Int64 = 10
        var slide: Int64 = 5
        var offset: Int64 = 0
        var outOfOrderness: Int64 = 0
        var input: [String]
        var expected: [String]
        var late: [Int64] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "each record lands in size/slide windows",
            input: ["a@1=1", "a@7=2", "a@12=4"],
            expected: [
                "a@-5-5:n=1,sum_temp=1.0", "a@0-10:n=2,sum_temp=3.0", "a@5-15:n=2,sum_temp=6.0", "a@10-20:n=1,sum_temp=4.0",
            ]),
        Case(
            name: "a record whose earlier windows fired still counts in the open ones",
            input: ["a@1=1", "a@7=2", "a@12=4", "a@3=8", "a@8=16"],
            expected: [
                "a@-5-5:n=1,sum_temp=1.0", "a@0-10:n=2,sum_temp=3.0", "a@5-15:n=3,sum_temp=22.0", "a@10-20:n=1,sum_temp=4.0",
            ],
            late: [3]),
        Case(
            name: "slide equal to size is tumbling",
            slide: 10,
            input: ["a@1", "a@12"],
            expected: ["a@0-10:n=1,sum_temp=1.0", "a@10-20:n=1,sum_temp=1.0"]),
        Case(
            name: "non-divisible slide with offset",
            size: 10, slide: 4, offset: 1,
            input: ["a@6"],
            expected: ["a@-3-7:n=1,sum_temp=1.0", "a@1-11:n=1,sum_temp=1.0", "a@5-15:n=1,sum_temp=1.0"]),
        Case(
            name: "out of order within bound",
            outOfOrderness: 6,
            input: ["a@9", "a@2", "a@14"],
            expected: [
                "a@-5-5:n=1,sum_temp=1.0", "a@0-10:n=2,sum_temp=2.0", "a@5-15:n=2,sum_temp=2.0", "a@10-20:n=1,sum_temp=1.0",
            ]),
    ]

    @Test(arguments: cases)
    func table(_ c: Case) {
        let plan = sumPlan(
            .hopping(size: .milliseconds(c.size), slide: .milliseconds(c.slide), offset: .milliseconds(c.offset)),
            outOfOrderness: c.outOfOrderness)
        let run = TestRunner(plan: plan).run(arrivingAtZero(c.input.map(parse)))
        #expect(run.outputs.map(summary) == c.expected)
        #expect(run.late.map(\.eventTime.milliseconds) == c.late)
        #expect(run.metrics.windowsOpen == 0)
    }
}
