/// Durations in configuration files: `500ms`, `10s`, `5m`, `1h`, `7d`, combinations such as
/// `1h30m`, and decimals such as `1.5s`. The bare number `0` is the zero duration. Resolution is
/// one millisecond (the engine's), so `0.5ms` is rejected.
public enum ConfigDuration {
    static let hint = "use a number with a unit: 500ms, 10s, 5m or 1h"

    static let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]

    /// Parses `text` into whole milliseconds; `nil` if it is not a duration.
    public static func milliseconds(parsing text: String) -> Int64? {
        if text == "0" { return 0 }
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return nil }
        var i = 0
        var total: Int64 = 0
        var lastUnitRank = Int.max
        while i < scalars.count {
            guard let literal = DecimalLiteral.scan(scalars, at: &i, maxScale: 1_000_000_000, excess: .reject) else {
                return nil
            }
            let (integer, fraction, scale) = (literal.integer, literal.fraction, literal.scale)
            var unitText = ""
            while i < scalars.count, scalars[i].properties.isAlphabetic {
                unitText.unicodeScalars.append(scalars[i])
                i += 1
            }
            guard let rank = units.firstIndex(where: { $0.0 == unitText }) else { return nil }
            // Units must decrease (1h30m, not 30m1h) and not repeat.
            guard rank < lastUnitRank else { return nil }
            lastUnitRank = rank
            let multiplier = units[rank].1
            let (whole, o1) = integer.multipliedReportingOverflow(by: multiplier)
            if o1 { return nil }
            let scaledFraction = fraction * multiplier
            guard scaledFraction % scale == 0 else { return nil }  // below 1 ms
            let (sum, o2) = total.addingReportingOverflow(whole)
            let (sum2, o3) = sum.addingReportingOverflow(scaledFraction / scale)
            if o2 || o3 { return nil }
            total = sum2
        }
        return total
    }

    /// Parses `text` into a `Duration`; `nil` if it is not a duration.
    public static func parse(_ text: String) -> Duration? {
        milliseconds(parsing: text).map { .milliseconds($0) }
    }

    /// Formats whole milliseconds the way the configuration writes them: `10s`, `1m30s`, `500ms`, `0`.
    public static func format(milliseconds ms: Int64) -> String {
        if ms == 0 { return "0" }
        var rest = ms < 0 ? -ms : ms
        var text = ms < 0 ? "-" : ""
        for (name, value) in units.reversed() where rest >= value {
            text += "\(rest / value)\(name)"
            rest %= value
        }
        return text
    }

    /// Formats a `Duration` (truncated to whole milliseconds).
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return format(milliseconds: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}

extension Duration {
    /// Whole milliseconds (truncated).
    var configMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
