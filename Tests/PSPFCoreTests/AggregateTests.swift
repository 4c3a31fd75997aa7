import PSPFCore
import PSPFTesting
import Testing

@Suite("Aggregates")
struct AggregateTests {
    /// temps 3 1 4 1 5 9 2 6 at ts 10..80, arriving out of event-time order.
    static let values: [Double] = [3, 1, 4, 1, 5, 9, 2, 6]
    static let readings: [Reading] = {
        let rs = values.enumerated().map { Reading("a", Int64(10 + 10 * $0.offset), $0.element, level: Int($0.element)) }
        return [rs[2], rs[0], rs[1], rs[7], rs[3], rs[4], rs[6], rs[5]]
    }()

    @Test func allBuiltinsThroughAWindow() throws {
        let plan = Pipeline("agg").input(Reading.self).keyBy(\.device).eventTime(\.ts, outOfOrderness: .seconds(1))
            .window(.tumbling(.seconds(1)))
            .aggregate(
                count(), sum(\.temp), sum(\.level), avg(\.temp), min(\.temp), max(\.level), first(\.temp), last(\.temp),
                stddev(\.temp), variance(\.temp), variance(\.temp, population: true, as: "pvar"), percentile(\.temp, 0.5))
            .plan(input: Reading.self)
        let run = TestRunner(plan: plan).run(arrivingAtZero(Self.readings))
        let row = try #require(run.outputs.first?.value)
        #expect(row.names == [
            "count", "sum_temp", "sum_level", "avg_temp", "min_temp", "max_level", "first_temp", "last_temp",
            "stddev_temp", "variance_temp", "pvar", "p50_temp",
        ])
        #expect(row["count"] == .int(8))
        #expect(row["sum_temp"] == .double(31))
        #expect(row["sum_level"] == .int(31))
        #expect(row["avg_temp"] == .double(3.875))
        #expect(row["min_temp"] == .double(1))
        #expect(row["max_level"] == .int(9))
        #expect(row["first_temp"] == .double(3), "first by event time, not arrival")
        #expect(row["last_temp"] == .double(6), "last by event time, not arrival")
        let variance = 52.875 / 7
        #expect(abs(row["variance_temp"]!.doubleValue! - variance) < 1e-12)
        #expect(abs(row["stddev_temp"]!.doubleValue! - variance.squareRoot()) < 1e-12)
        #expect(abs(row["pvar"]!.doubleValue! - 52.875 / 8) < 1e-12)
        // Exact median (rank ⌊0.5·7⌋ = 3 of 1 1 2 3 4 5 6 9) is 3; within 1 %.
        #expect(abs(row["p50_temp"]!.doubleValue! - 3) <= 0.03)
    }

    @Test func namesDefaultOverriddenAndNested() {
        struct Outer: Sendable { var inner: Inner; struct Inner: Sendable { var v: Double } }
        #expect(avg(\Outer.inner.v).name == "avg_inner_v")
        #expect(avg(\Reading.temp).named("mean").name == "mean")
        #expect(max(\Reading.temp, as: "peak").name == "peak")
        #expect(percentile(\Reading.temp, 0.99).name == "p99_temp")
        #expect(percentile(\Reading.temp, 0.999).name == "p99_9_temp")
        #expect(percentile(\Reading.temp, 0.5).name == "p50_temp")
        #expect((count(as: "n") as Count<Reading>).name == "n")
    }

    @Test func emptyAndDegenerateResultsAreNull() {
        #expect(Average<Reading, Double>(FieldReader(\.temp)).result(AverageAccumulator()) == .null)
        let single = Dispersion<Reading, Double>(FieldReader(\.temp), standardDeviation: true)
        var acc = single.initial()
        single.add(&acc, Reading("a", 0, 5))
        #expect(single.result(acc) == .null, "sample stddev of one value is undefined")
        let minimum = Extremum<Reading, Double>(FieldReader(\.temp), max: false)
        var m = minimum.initial()
        minimum.add(&m, Reading("a", 0, .nan))
        #expect(minimum.result(m) == .null, "NaN is ignored")
    }

    @Test func integerSumSaturates() {
        struct Big: Sendable { var v: Int64 }
        let s = sum(\Big.v)
        var acc = s.initial()
        s.add(&acc, Big(v: .max))
        s.add(&acc, Big(v: 1))
        #expect(s.result(acc) == .int(.max))
    }

    @Test func firstAndLastMergeByTime() {
        let f = first(\Reading.temp)
        var a = f.initial(), b = f.initial()
        f.add(&a, Reading("a", 50, 5), at: .milliseconds(50))
        f.add(&b, Reading("a", 20, 2), at: .milliseconds(20))
        f.merge(&a, b)
        #expect(f.result(a) == .double(2))
        let l = last(\Reading.temp)
        var c = l.initial(), d = l.initial()
        l.add(&c, Reading("a", 50, 5), at: .milliseconds(50))
        l.add(&d, Reading("a", 20, 2), at: .milliseconds(20))
        l.merge(&c, d)
        #expect(l.result(c) == .double(5))
    }

    @Test(arguments: [1, 2, 7, 100, 999])
    func welfordMergeMatchesOnePass(split: Int) {
        var rng = SeededRandom(seed: UInt64(split))
        let xs = (0..<1000).map { _ in Double.random(in: -1e3...1e3, using: &rng) + 1e6 }
        var whole = WelfordAccumulator(), left = WelfordAccumulator(), right = WelfordAccumulator()
        for x in xs { whole.add(x) }
        for x in xs[..<split] { left.add(x) }
        for x in xs[split...] { right.add(x) }
        left.merge(right)
        let mean = xs.reduce(0, +) / Double(xs.count)
        let exact = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)
        #expect(left.count == whole.count)
        #expect(abs(left.mean - whole.mean) / whole.mean < 1e-12)
        #expect(abs(left.variance(population: false)! - exact) / exact < 1e-9)
        #expect(abs(whole.variance(population: false)! - exact) / exact < 1e-9)
    }

    @Test func customAggregatorAndReduce() throws {
        struct Range: Aggregator {
            struct Acc: Codable, Sendable { var lo = Double.infinity; var hi = -Double.infinity }
            func initial() -> Acc { Acc() }
            func add(_ acc: inout Acc, _ r: Reading) { acc.lo = Swift.min(acc.lo, r.temp); acc.hi = Swift.max(acc.hi, r.temp) }
            func merge(_ acc: inout Acc, _ o: Acc) { acc.lo = Swift.min(acc.lo, o.lo); acc.hi = Swift.max(acc.hi, o.hi) }
            func result(_ acc: Acc) -> Double { acc.hi - acc.lo }
        }
        let keyed = Pipeline("c").input(Reading.self).keyBy(\.device).eventTime(\.ts).window(.session(gap: .seconds(1)))
        let ranges = TestRunner(plan: keyed.aggregate(Range()).plan(input: Reading.self)).run(arrivingAtZero(Self.readings))
        #expect(ranges.outputs.map(\.value) == [8])
        let reduced = TestRunner(
            plan: keyed.reduce { a, b in Reading(a.device, Swift.max(a.ts.milliseconds, b.ts.milliseconds), a.temp + b.temp) }
                .plan(input: Reading.self)
        ).run(arrivingAtZero(Self.readings))
        let only = try #require(reduced.outputs.first)
        #expect(only.value.temp == 31)
        #expect(only.value.ts == .milliseconds(80))
        #expect(only.count == 8)
    }

    @Test func singleColumnAggregateProducesARow() {
        let plan = Pipeline("one").input(Reading.self).keyBy(\.device).window(.count(2)).aggregate(avg(\.temp))
            .plan(input: Reading.self)
        let run = TestRunner(plan: plan).run(arrivingAtZero([Reading("a", 1, 1), Reading("a", 2, 2)]))
        #expect(run.outputs.map(\.value) == [AggregateRow(names: ["avg_temp"], values: [.double(1.5)])])
    }
}

@Suite("DDSketch percentiles")
struct DDSketchTests {
    static let quantiles: [Double] = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]

    static func exact(_ sorted: [Double], _ q: Double) -> Double {
        sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    enum Distribution: String, CaseIterable, Sendable {
        case uniformPositive, normalish, mixedSigns, withZeros, heavyTail, constant, tinyAndHuge
    }

    static func sample(_ d: Distribution, _ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { i in
            switch d {
            case .uniformPositive: return Double.random(in: 0.001...1000, using: &rng)
            case .normalish: return (0..<6).map { _ in Double.random(in: -1...1, using: &rng) }.reduce(0, +) * 10 + 21
            case .mixedSigns: return Double.random(in: -500...500, using: &rng)
            case .withZeros: return i % 3 == 0 ? 0 : Double.random(in: -10...10, using: &rng)
            case .heavyTail: return 1 / Swift.max(1e-9, Double.random(in: 0..<1, using: &rng))
            case .constant: return -42.5
            case .tinyAndHuge: return i % 2 == 0 ? Double.random(in: 1e-6...1e-5, using: &rng) : Double.random(in: 1e8...1e9, using: &rng)
            }
        }
    }

    /// |estimate − exact| ≤ α·|exact| for every quantile, α = 1 %.
    @Test(arguments: Distribution.allCases)
    func relativeErrorBound(_ d: Distribution) {
        let xs = Self.sample(d, 5_000, seed: 99)
        var sketch = DDSketch(relativeAccuracy: 0.01)
        for x in xs { sketch.add(x) }
        let sorted = xs.sorted()
        for q in Self.quantiles {
            let exact = Self.exact(sorted, q)
            let estimate = sketch.quantile(q)!
            #expect(abs(estimate - exact) <= 0.01 * abs(exact) + 1e-12, "q=\(q) exact=\(exact) estimate=\(estimate)")
        }
    }

    @Test(arguments: Distribution.allCases)
    func mergeEqualsSinglePass(_ d: Distribution) {
        let xs = Self.sample(d, 3_000, seed: 5)
        var whole = DDSketch(), a = DDSketch(), b = DDSketch()
        for x in xs { whole.add(x) }
        for x in xs.prefix(1_234) { a.add(x) }
        for x in xs.dropFirst(1_234) { b.add(x) }
        a.merge(b)
        for q in Self.quantiles { #expect(a.quantile(q) == whole.quantile(q)) }
        #expect(a.count == whole.count)
    }

    @Test func bucketCountIsBounded() {
        var sketch = DDSketch(relativeAccuracy: 0.01, maxBuckets: 128)
        var x = 1e-300
        while x < 1e300 {
            sketch.add(x)
            sketch.add(-x)
            x *= 1.5
        }
        #expect(sketch.bucketCount <= 256)
        // The high quantiles (largest magnitudes, kept buckets) stay accurate.
        #expect(abs(sketch.quantile(1)! - sketch.max) == 0)
        let p99 = sketch.quantile(0.99)!
        #expect(p99 > 1e280)
    }

    @Test func emptyAndNaN() {
        var sketch = DDSketch()
        #expect(sketch.quantile(0.5) == nil)
        sketch.add(.nan)
        #expect(sketch.count == 0)
        sketch.add(7)
        #expect(abs(sketch.quantile(0.5)! - 7) <= 0.07)
    }

    /// A sketch is a value: copies are independent, equality and hashing go by contents.
    @Test func sketchesAreValuesDespiteTheirBox() {
        var a = DDSketch()
        for x in [1.0, 2, 3] { a.add(x) }
        var b = a
        b.add(1_000)
        #expect(a.count == 3 && b.count == 4)
        #expect(a.max == 3 && b.max == 1_000)
        var c = DDSketch()
        for x in [1.0, 2, 3] { c.add(x) }
        #expect(a == c && a.hashValue == c.hashValue)
        #expect(a != b)
        var merged = a
        merged.merge(b)
        #expect(merged.count == 7 && a.count == 3 && b.count == 4)
        // A window cell holds one reference, not 96 bytes.
        #expect(MemoryLayout<DDSketch>.size == MemoryLayout<Int>.size)
        #expect(MemoryLayout<DynamicColumnsAccumulator.Cell>.stride <= 32)
    }

    @Test func sketchRoundTripsThroughCodable() throws {
        var sketch = DDSketch()
        for x in Self.sample(.mixedSigns, 500, seed: 1) { sketch.add(x) }
        let codec = JSONStateCodec()
        let back = try codec.decode(DDSketch.self, from: codec.encode(sketch))
        #expect(back == sketch)
    }
}
