import PSPFCore
import PSPFTesting
import PropertyBased
import Testing

/// Windowed aggregates over random streams against a brute-force reference that buffers
/// everything and computes windows naively.
@Suite("Properties: engine = brute force")
struct PropertyTests {
    static let outOfOrderness: Int64 = 20

    /// One generated step: key index, how far the stream's clock moves, how far this record
    /// lags behind the clock (always < out-of-orderness, so nothing is late), and a value.
    typealias Step = (key: Int, advance: Int, lag: Int, value: Int)

    static let steps = zip(
        Gen.int(in: 0...3), Gen.int(in: 0...15), Gen.int(in: 0...Int(outOfOrderness - 1)), Gen.int(in: -50...50)
    ).array(of: 1...120)

    static func readings(_ steps: [(Int, Int, Int, Int)], lagScale: Int = 1) -> [Reading] {
        var clock: Int64 = 0
        return steps.map { key, advance, lag, value in
            clock += Int64(advance)
            return Reading("k\(key)", clock - Int64(lag * lagScale), Double(value))
        }
    }

    struct Row: Hashable, Comparable, CustomStringConvertible {
        var key: String, start: Int64, end: Int64, count: Int64, sum: Double, min: Double, max: Double
        static func < (a: Row, b: Row) -> Bool { (a.key, a.start, a.end) < (b.key, b.start, b.end) }
        var description: String { "\(key)[\(start),\(end)) n=\(count) sum=\(sum) min=\(min) max=\(max)" }
    }

    static func row(_ key: String, _ start: Int64, _ end: Int64, _ xs: [Reading]) -> Row {
        Row(key: key, start: start, end: end, count: Int64(xs.count), sum: xs.map(\.temp).reduce(0, +),
            min: xs.map(\.temp).min()!, max: xs.map(\.temp).max()!)
    }

    /// The naive reference: which windows each reading belongs to, then group.
    static func reference(_ readings: [Reading], _ spec: Spec) -> [Row] {
        var rows: [Row] = []
        for key in Set(readings.map(\.device)) {
            let mine = readings.filter { $0.device == key }
            switch spec {
            case let .tumbling(size), let .hopping(size, _):
                let slide = if case let .hopping(_, s) = spec { s } else { size }
                var windows: [Int64: [Reading]] = [:]
                for r in mine {
                    let t = r.ts.milliseconds
                    var start = t - ((t % slide) + slide) % slide
                    while start > t - size {
                        windows[start, default: []].append(r)
                        start -= slide
                    }
                }
                rows += windows.map { row(key, $0.key, $0.key + size, $0.value) }
            case let .session(gap):
                let sorted = mine.sorted { $0.ts < $1.ts }
                var current: [Reading] = []
                for r in sorted {
                    if let last = current.last, r.ts.milliseconds - last.ts.milliseconds >= gap {
                        rows.append(row(key, current[0].ts.milliseconds, last.ts.milliseconds + gap, current))
                        current = []
                    }
                    current.append(r)
                }
                if let last = current.last { rows.append(row(key, current[0].ts.milliseconds, last.ts.milliseconds + gap, current)) }
            }
        }
        return rows.sorted()
    }

    enum Spec: Sendable, CustomTestStringConvertible {
        case tumbling(Int64), hopping(Int64, Int64), session(Int64)
        var window: WindowSpec {
            switch self {
            case let .tumbling(size): .tumbling(.milliseconds(size))
            case let .hopping(size, slide): .hopping(size: .milliseconds(size), slide: .milliseconds(slide))
            case let .session(gap): .session(gap: .milliseconds(gap))
            }
        }
        var testDescription: String { "\(window)" }
    }

    static func engine(_ readings: [Reading], _ spec: Spec) -> TestRun<RowResult> {
        let plan = Pipeline("prop").input(Reading.self).keyBy(\.device)
            .eventTime(\.ts, outOfOrderness: .milliseconds(outOfOrderness))
            .window(spec.window)
            .aggregate(count(), sum(\.temp), min(\.temp), max(\.temp))
            .plan(input: Reading.self)
        return TestRunner(plan: plan).run(arrivingAtZero(readings))
    }

    @Test(arguments: [Spec.tumbling(10), .tumbling(37), .hopping(30, 10), .hopping(25, 7), .session(8), .session(25)])
    func windowedAggregatesMatchBruteForce(_ spec: Spec) async {
        await propertyCheck(input: Self.steps) { steps in
            let readings = Self.readings(steps.map { ($0.0, $0.1, $0.2, $0.3) })
            let run = Self.engine(readings, spec)
            let got = run.outputs.map {
                Row(key: $0.key, start: $0.window.start.milliseconds, end: $0.window.end.milliseconds, count: $0.count,
                    sum: $0.value["sum_temp"]!.doubleValue!, min: $0.value["min_temp"]!.doubleValue!,
                    max: $0.value["max_temp"]!.doubleValue!)
            }
            #expect(run.metrics.late == 0)
            #expect(got.sorted() == Self.reference(readings, spec))
            #expect(Set(got.map { "\($0.key)@\($0.start)" }).count == got.count, "each window fires once")
        }
    }

    /// With arbitrary disorder (records up to 4× the bound behind), every record is either in
    /// exactly one emitted tumbling window or reported late, and the emitted windows agree with
    /// the brute force over the records that were not late.
    @Test func nothingVanishesUnderArbitraryDisorder() async {
        await propertyCheck(input: Self.steps) { steps in
            let readings = Self.readings(steps.map { ($0.0, $0.1, $0.2, $0.3) }, lagScale: 4)
            let run = Self.engine(readings, .tumbling(10))
            #expect(run.outputs.map(\.count).reduce(0, +) + run.metrics.late == Int64(readings.count))
            #expect(run.late.count == Int(run.metrics.late))
            // A late record arrives after any on-time record with the same key and time (whose
            // window had not fired yet), so drop the latest-arriving match.
            var remaining = readings
            for late in run.late.reversed() {
                let i = remaining.lastIndex { $0.device == late.keyDescription && $0.ts == late.eventTime }!
                remaining.remove(at: i)
            }
            let got = run.outputs.map { Row(key: $0.key, start: $0.window.start.milliseconds, end: $0.window.end.milliseconds,
                count: $0.count, sum: $0.value["sum_temp"]!.doubleValue!, min: $0.value["min_temp"]!.doubleValue!,
                max: $0.value["max_temp"]!.doubleValue!) }
            #expect(got.sorted() == Self.reference(remaining, .tumbling(10)))
        }
    }
}
