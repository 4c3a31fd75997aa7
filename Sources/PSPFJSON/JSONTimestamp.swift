/// The unit of a numeric epoch timestamp.
///
/// Whether a sensor's `ts` counts seconds or milliseconds is a configuration choice: PSPF never
/// guesses it from the magnitude, because a guess silently turns a wrong setting into wrong windows.
///
/// ```swift
/// EpochUnit.seconds.milliseconds(from: 1_732_406_400)    // 1732406400000
/// EpochUnit.microseconds.milliseconds(from: -1)           // -1 (rounded toward the past)
/// ```
public enum EpochUnit: Hashable, Sendable, CaseIterable {
    case seconds, milliseconds, microseconds, nanoseconds

    /// `value` in this unit as whole milliseconds, rounded toward the past (floor), or `nil` on overflow.
    public func milliseconds(from value: Int64) -> Int64? {
        switch self {
        case .seconds:
            let (result, overflow) = value.multipliedReportingOverflow(by: 1000)
            return overflow ? nil : result
        case .milliseconds: return value
        case .microseconds: return RFC3339.floorDivide(value, 1000)
        case .nanoseconds: return RFC3339.floorDivide(value, 1_000_000)
        }
    }

    /// A JSON number's text (such as `1732406400.123`) in this unit as whole milliseconds, computed from
    /// the decimal digits rather than a rounded `Double`, rounded toward the past; `nil` if `text` is not
    /// one JSON number or the result does not fit in an `Int64`.
    public func milliseconds(fromJSONNumber text: UnsafeRawBufferPointer) -> Int64? {
        guard var scanner = JSONScanner(text),
            scanner.p.pointee == UInt8(ascii: "-") || scanner.p.pointee &- UInt8(ascii: "0") < 10,
            let number = try? scanner.scanNumber(), scanner.p == scanner.end
        else { return nil }
        let shift =
            switch self {
            case .seconds: 3
            case .milliseconds: 0
            case .microseconds: -3
            case .nanoseconds: -6
            }
        return number.floorInt64(shiftingBy: shift)
    }
}

/// How a timestamp field is written in the payload.
public enum JSONTimestampFormat: Hashable, Sendable {
    /// A number of `EpochUnit`s since 1970-01-01T00:00:00Z (integer or decimal).
    case epoch(EpochUnit)
    /// An RFC 3339 string, see ``RFC3339``.
    case rfc3339
}

extension JSONFieldValues {
    /// The field as milliseconds since the Unix epoch, or `nil` if it is missing, of the wrong kind
    /// (a number for `.epoch`, a string for `.rfc3339`), malformed or out of range.
    public func timestampMilliseconds(at field: Int, format: JSONTimestampFormat) -> Int64? {
        let value = self[field]
        switch format {
        case .epoch(let unit):
            guard value.kind == .number else { return nil }
            if unit == .milliseconds, let integer = value.int64Value { return integer }
            return unit.milliseconds(fromJSONNumber: bytes(at: field))
        case .rfc3339:
            guard value.kind == .string else { return nil }
            if value.hasEscapes { return string(at: field).flatMap { RFC3339.parseMilliseconds($0) } }
            return RFC3339.parseMilliseconds(bytes(at: field))
        }
    }
}

extension JSONDecimal {
    /// ⌊value × 10^shift⌋ if it fits in an `Int64`.
    func floorInt64(shiftingBy shift: Int) -> Int64? {
        if digitCount == 0 { return 0 }
        let power = exponent + shift
        var magnitude: UInt64
        var hasFraction = false
        if power >= 0 {
            if isTruncated { return nil }  // dropped digits are integer digits: beyond 19 digits
            magnitude = mantissa
            for _ in 0..<power {
                let (scaled, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                if overflow { return nil }
                magnitude = scaled
            }
        } else if -power > 19 {
            magnitude = 0
            hasFraction = true
        } else {
            var divisor: UInt64 = 1
            for _ in 0..<(-power) { divisor *= 10 }
            magnitude = mantissa / divisor
            hasFraction = mantissa % divisor != 0 || isTruncated
        }
        if isNegative {
            if hasFraction { magnitude += 1 }
            return magnitude <= UInt64(1) << 63 ? Int64(bitPattern: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}
