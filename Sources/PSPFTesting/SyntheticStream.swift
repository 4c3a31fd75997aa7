import PSPFCore
import PSPFRuntime

/// The test kit's seeded generator: the runtime's SplitMix64 (same seed, same sequence, on
/// every platform).
public typealias SeededRandom = SplitMix64

/// A synthetic sensor reading.
public struct SyntheticReading: Sendable, Codable, Hashable {
    public var device: String
    public var ts: Timestamp
    public var temp: Double
    public var humidity: Int
    /// Per-device sequence number (generation order).
    public var seq: Int

    public init(device: String, ts: Timestamp, temp: Double, humidity: Int = 50, seq: Int = 0) {
        self.device = device
        self.ts = ts
        self.temp = temp
        self.humidity = humidity
        self.seq = seq
    }
}

/// Generates device readings with realistic disorder, deterministically from a seed.
///
/// Each device emits one reading every `interval` of event time from `start` for `duration`.
/// A reading normally arrives (processing time) `0...jitter` after its event time; a fraction
/// arrives up to `maxDisorder` later (out of order, within bound), a fraction `lateDelay` later
/// (meant to exceed out-of-orderness + allowed lateness), and readings inside an
/// ``OfflineBurst`` are buffered and all arrive, in order, when the device reconnects.
///
/// ```swift
/// var gen = SyntheticStream(devices: 5, seed: 42)
/// gen.offline = [.init(device: 0, from: .seconds(60), to: .seconds(3660))]
/// let events = gen.events()       // sorted by arrival
/// ```
public struct SyntheticStream: Sendable {
    /// A device is offline for `[from, to)` (event time offsets from `start`) and publishes
    /// everything it buffered at `to`.
    public struct OfflineBurst: Sendable, Hashable {
        public var device: Int
        public var from: Duration
        public var to: Duration
        public init(device: Int, from: Duration, to: Duration) {
            self.device = device
            self.from = from
            self.to = to
        }
    }

    public var devices: Int
    public var start: Timestamp
    public var interval: Duration
    public var duration: Duration
    public var jitter: Duration
    public var outOfOrderFraction: Double
    public var maxDisorder: Duration
    public var lateFraction: Double
    public var lateDelay: Duration
    public var offline: [OfflineBurst]
    public var seed: UInt64

    public init(
        devices: Int = 10, start: Timestamp = .seconds(1_700_000_000), interval: Duration = .seconds(1),
        duration: Duration = .minutes(5), jitter: Duration = .milliseconds(200), outOfOrderFraction: Double = 0,
        maxDisorder: Duration = .seconds(2), lateFraction: Double = 0, lateDelay: Duration = .minutes(2),
        offline: [OfflineBurst] = [], seed: UInt64 = 1
    ) {
        self.devices = devices
        self.start = start
        self.interval = interval
        self.duration = duration
        self.jitter = jitter
        self.outOfOrderFraction = outOfOrderFraction
        self.maxDisorder = maxDisorder
        self.lateFraction = lateFraction
        self.lateDelay = lateDelay
        self.offline = offline
        self.seed = seed
    }

    /// Device names: `dev-0000`, `dev-0001`, …
    public static func deviceName(_ index: Int) -> String {
        let digits = String(index)
        return "dev-" + String(repeating: "0", count: Swift.max(0, 4 - digits.count)) + digits
    }

    /// All readings, sorted by arrival time (ties in generation order).
    public func events() -> [TimedEvent<SyntheticReading>] {
        var rng = SeededRandom(seed: seed)
        let step = interval.pspfMilliseconds
        let steps = Int(duration.pspfMilliseconds / Swift.max(step, 1))
        let jitterMs = jitter.pspfMilliseconds
        var generated: [(arrival: Int64, order: Int, reading: SyntheticReading)] = []
        generated.reserveCapacity(devices * steps)
        var order = 0
        for i in 0..<steps {
            for d in 0..<devices {
                let offset = Int64(i) * step
                let ts = start.milliseconds + offset
                let base = 20.0 + Double(d % 7) + 5 * sin01(Double(i) / 60)
                let temp = (base + Double.random(in: -0.5...0.5, using: &rng) * 10).rounded() / 10
                var delay = jitterMs > 0 ? Int64.random(in: 0...jitterMs, using: &rng) : 0
                let roll = Double.random(in: 0..<1, using: &rng)
                if roll < lateFraction {
                    delay += lateDelay.pspfMilliseconds
                } else if roll < lateFraction + outOfOrderFraction {
                    delay += Int64.random(in: 0...Swift.max(0, maxDisorder.pspfMilliseconds), using: &rng)
                }
                var arrival = ts + delay
                for burst in offline where burst.device == d {
                    let from = burst.from.pspfMilliseconds, to = burst.to.pspfMilliseconds
                    if offset >= from && offset < to { arrival = Swift.max(arrival, start.milliseconds + to) }
                }
                let reading = SyntheticReading(
                    device: Self.deviceName(d), ts: Timestamp(milliseconds: ts), temp: temp,
                    humidity: 40 + Int.random(in: 0...20, using: &rng), seq: i)
                generated.append((arrival, order, reading))
                order += 1
            }
        }
        generated.sort { ($0.arrival, $0.order) < ($1.arrival, $1.order) }
        return generated.map { TimedEvent($0.reading, at: Timestamp(milliseconds: $0.arrival)) }
    }
}

/// A cheap smooth periodic function in [-1, 1] (a parabolic sine approximation; avoids Foundation).
private func sin01(_ x: Double) -> Double {
    let t = x - (x / 2).rounded(.down) * 2  // [0, 2)
    let u = t < 1 ? t : t - 1
    let v = 4 * u * (1 - u)
    return t < 1 ? v : -v
}
