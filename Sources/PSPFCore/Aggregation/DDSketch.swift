#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mergeable quantile sketch with relative-error guarantees (Masson, Rim, Lee: "DDSketch",
/// VLDB 2019).
///
/// Values are counted in logarithmic buckets: with `γ = (1 + α) / (1 − α)`, a positive `x` goes
/// to bucket `⌈log_γ x⌉`, which covers `(γ^(i−1), γ^i]` and is reported as `2γ^i / (γ + 1)`,
/// within `α·x` of every value in it. Negative values use a mirrored store, zeros (and values
/// smaller in magnitude than `Double.leastNormalMagnitude`) a counter, so the guarantee is:
///
/// > `quantile(q)` returns `v̂` with `|v̂ − v| ≤ α·|v|`, where `v` is the exact element of rank
/// > `⌊q·(n−1)⌋` (0-based) of the values added, as long as each store spans at most
/// > `maxBuckets` buckets — a ratio of largest to smallest magnitude of `γ^maxBuckets`
/// > (≈ 10^17 for α = 1 %, 2048 buckets).
///
/// Beyond that the lowest-magnitude buckets are collapsed together (memory stays bounded at
/// `maxBuckets` counters per sign) and only quantiles among those smallest magnitudes lose
/// accuracy. NaNs are ignored. Results are clamped to the exact min and max.
public struct DDSketch: Codable, Sendable, Hashable {
    /// The sketch's counters live in a box with copy-on-write, so a `DDSketch` value is one
    /// reference. Inline (96 bytes) it set the size of every cell of
    /// ``DynamicColumnsAccumulator`` — each window of each key paid 96 bytes per aggregate
    /// column, percentile or not (docs/benchmarks.md, RSS). Updated in place (the columns take
    /// the sketch out of its cell first), the box is uniquely referenced and never copied.
    private final class Box: @unchecked Sendable {  // mutated only when uniquely referenced
        var state: DDSketchState
        init(_ state: DDSketchState) { self.state = state }
    }

    private var box: Box

    public init(relativeAccuracy: Double = 0.01, maxBuckets: Int = 2048) {
        box = Box(DDSketchState(relativeAccuracy: relativeAccuracy, maxBuckets: maxBuckets))
    }

    init(state: DDSketchState) { box = Box(state) }

    public var relativeAccuracy: Double { box.state.relativeAccuracy }
    public var maxBuckets: Int { box.state.maxBuckets }
    public var zeroCount: Int64 { box.state.zeroCount }
    public var count: Int64 { box.state.count }
    public var min: Double { box.state.min }
    public var max: Double { box.state.max }
    /// The number of buckets in use (both signs).
    public var bucketCount: Int { box.state.bucketCount }

    /// Adds one value (NaN is ignored).
    public mutating func add(_ x: Double) {
        makeUnique()
        box.state.add(x)
    }

    /// Adds every value counted in `other` (which must use the same accuracy).
    public mutating func merge(_ other: DDSketch) {
        makeUnique()
        box.state.merge(other.box.state)
    }

    /// The estimated `q`-quantile (`0...1`), or `nil` for an empty sketch.
    public func quantile(_ q: Double) -> Double? { box.state.quantile(q) }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.state) }
    }

    // The same encoding as before the box: the state's fields, synthesized.
    public init(from decoder: any Decoder) throws { box = Box(try DDSketchState(from: decoder)) }
    public func encode(to encoder: any Encoder) throws { try box.state.encode(to: encoder) }

    public static func == (lhs: DDSketch, rhs: DDSketch) -> Bool { lhs.box === rhs.box || lhs.box.state == rhs.box.state }
    public func hash(into hasher: inout Hasher) { hasher.combine(box.state) }
}

/// The counters of a ``DDSketch`` (a value type, boxed by it).
struct DDSketchState: Codable, Sendable, Hashable {
    let relativeAccuracy: Double
    let maxBuckets: Int
    let gamma: Double
    let multiplier: Double
    var positive = BucketStore()
    var negative = BucketStore()
    var zeroCount: Int64 = 0
    var count: Int64 = 0
    var min: Double = .infinity
    var max: Double = -.infinity

    init(relativeAccuracy: Double, maxBuckets: Int) {
        precondition(relativeAccuracy > 0 && relativeAccuracy < 1, "relative accuracy must be in (0, 1)")
        precondition(maxBuckets >= 16, "a sketch needs at least 16 buckets")
        self.relativeAccuracy = relativeAccuracy
        self.maxBuckets = maxBuckets
        gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
        multiplier = 1 / log(gamma)
    }


    func index(_ magnitude: Double) -> Int32 {
        let i = (log(magnitude) * multiplier).rounded(.up)
        return Int32(Swift.max(Swift.min(i, 1e9), -1e9))
    }


    func value(ofBucket index: Int32) -> Double {
        2 * pow(gamma, Double(index)) / (gamma + 1)
    }

    /// Adds one value (NaN is ignored).

    mutating func add(_ x: Double) {
        if x.isNaN { return }
        count &+= 1
        if x < min { min = x }
        if x > max { max = x }
        let magnitude = abs(x)
        if magnitude < Double.leastNormalMagnitude {
            zeroCount &+= 1
        } else if x > 0 {
            positive.add(index(magnitude), 1, maxBuckets: maxBuckets)
        } else {
            negative.add(index(magnitude), 1, maxBuckets: maxBuckets)
        }
    }

    /// Adds every value counted in `other` (which must use the same accuracy).
    mutating func merge(_ other: DDSketchState) {
        guard other.count > 0 else { return }
        precondition(other.gamma == gamma, "cannot merge sketches of different accuracy")
        count &+= other.count
        zeroCount &+= other.zeroCount
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        for (i, c) in other.positive.counts.enumerated() where c > 0 {
            positive.add(other.positive.offset + Int32(i), c, maxBuckets: maxBuckets)
        }
        for (i, c) in other.negative.counts.enumerated() where c > 0 {
            negative.add(other.negative.offset + Int32(i), c, maxBuckets: maxBuckets)
        }
    }

    /// The estimated `q`-quantile (`0...1`), or `nil` for an empty sketch.
    func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Double(count - 1) * Swift.min(Swift.max(q, 0), 1)
        var cumulative: Int64 = 0
        var estimate: Double? = nil
        // Ascending order: most negative first (highest negative index), zeros, then positives.
        for i in stride(from: negative.counts.count - 1, through: 0, by: -1) {
            cumulative += negative.counts[i]
            if Double(cumulative) > rank { estimate = -value(ofBucket: negative.offset + Int32(i)); break }
        }
        if estimate == nil {
            cumulative += zeroCount
            if Double(cumulative) > rank { estimate = 0 }
        }
        if estimate == nil {
            for i in 0..<positive.counts.count {
                cumulative += positive.counts[i]
                if Double(cumulative) > rank { estimate = value(ofBucket: positive.offset + Int32(i)); break }
            }
        }
        return Swift.min(Swift.max(estimate ?? max, min), max)
    }

    /// The number of buckets in use (both signs).
    var bucketCount: Int { positive.counts.count + negative.counts.count }
}

/// Dense counters for the contiguous bucket indices `offset ..< offset + counts.count`.

struct BucketStore: Codable, Sendable, Hashable {
    var offset: Int32 = 0
    var counts: [Int64] = []

    init() {}

    /// Adds `n` to bucket `index`, growing the range; if it would exceed `maxBuckets`, the
    /// lowest indices (smallest magnitudes) are collapsed into the lowest kept bucket.

    mutating func add(_ index: Int32, _ n: Int64, maxBuckets: Int) {
        if counts.isEmpty {
            offset = index
            counts.append(n)
            return
        }
        let lo = Int(offset)
        let hi = lo + counts.count - 1
        let i = Int(index)
        if i >= lo && i <= hi {
            counts[i - lo] &+= n
        } else if i > hi {
            let newLo = Swift.max(lo, i - maxBuckets + 1)
            if newLo > lo {
                // Collapse [lo, newLo] into newLo.
                let drop = Swift.min(newLo - lo, counts.count)
                var collapsed: Int64 = 0
                for k in 0..<drop { collapsed &+= counts[k] }
                counts.removeFirst(drop)
                offset = Int32(newLo)
                if counts.isEmpty { counts.append(0) }
                counts[0] &+= collapsed
            }
            let newHi = i
            let currentHi = Int(offset) + counts.count - 1
            if newHi > currentHi { counts.append(contentsOf: repeatElement(0, count: newHi - currentHi)) }
            counts[i - Int(offset)] &+= n
        } else {
            let target = Swift.max(i, hi - maxBuckets + 1)
            if target < lo {
                counts.insert(contentsOf: repeatElement(0, count: lo - target), at: 0)
                offset = Int32(target)
            }
            counts[target - Int(offset)] &+= n
        }
    }
}

// MARK: Checkpoint fast path

// Here rather than in a `DDSketch+BinaryState.swift`: the box is private to this file.

/// `relativeAccuracy` (8 bytes), `maxBuckets`, `zeroCount`, `count` (varints), `min`, `max`
/// (8 bytes each), then the positive and the negative store. `gamma` and the log multiplier are
/// derived from the accuracy, so they are recomputed (as a fresh sketch computes them, which
/// keeps restored and fresh sketches mergeable) instead of stored.
extension DDSketch: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {
        let state = box.state
        writer.write(state.relativeAccuracy)
        writer.write(state.maxBuckets)
        writer.write(state.zeroCount)
        writer.write(state.count)
        writer.write(state.min)
        writer.write(state.max)
        state.positive.write(to: &writer)
        state.negative.write(to: &writer)
    }

    public init(from reader: inout BinaryStateReader) throws {
        let accuracy = try reader.readDouble()
        let maxBuckets = try reader.readInt()
        guard accuracy > 0 && accuracy < 1, maxBuckets >= 16 else {
            throw reader.corrupt("invalid sketch parameters (accuracy \(accuracy), \(maxBuckets) buckets)")
        }
        var state = DDSketchState(relativeAccuracy: accuracy, maxBuckets: maxBuckets)
        state.zeroCount = try reader.readInt64()
        state.count = try reader.readInt64()
        state.min = try reader.readDouble()
        state.max = try reader.readDouble()
        state.positive = try BucketStore(from: &reader)
        state.negative = try BucketStore(from: &reader)
        self.init(state: state)
    }
}

/// `offset` (zigzag varint), the number of counters, the counters (varints).
extension BucketStore: BinaryStateCodable {
    func write(to writer: inout BinaryStateWriter) {
        writer.write(Int64(offset))
        writer.writeCount(counts.count)
        for count in counts { writer.write(count) }
    }

    init(from reader: inout BinaryStateReader) throws {
        self.init()
        offset = try Int32(from: &reader)
        let n = try reader.readCount()
        guard Int(offset) + n <= Int(Int32.max) else { throw reader.corrupt("sketch buckets run past Int32.max") }
        counts.reserveCapacity(n)
        for _ in 0..<n { counts.append(try reader.readInt64()) }
    }
}
