/// Digits with an optional fraction (`12`, `1.5`), as sizes and durations are written: the one
/// scanner behind ``ByteSize`` and ``ConfigDuration``.
struct DecimalLiteral {
    var integer: Int64
    /// The fraction's digits as an integer: `1.25` → 25 with `scale` 100.
    var fraction: Int64
    /// 10 to the number of fraction digits kept; 1 without a fraction.
    var scale: Int64

    /// What to do with fraction digits beyond `maxScale`.
    enum Excess { case truncate, reject }

    /// Scans a literal starting at `index` and moves `index` past it; `nil` when there are no
    /// digits, the integer overflows, a `.` has no digits after it, or (with `.reject`) the
    /// fraction is finer than `maxScale`.
    static func scan(_ scalars: [Unicode.Scalar], at index: inout Int, maxScale: Int64, excess: Excess) -> DecimalLiteral? {
        var integer: Int64 = 0
        var digits = 0
        while index < scalars.count, let digit = Self.digit(scalars[index]) {
            let (shifted, o1) = integer.multipliedReportingOverflow(by: 10)
            let (sum, o2) = shifted.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            integer = sum
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        var fraction: Int64 = 0
        var scale: Int64 = 1
        if index < scalars.count, scalars[index] == "." {
            index += 1
            var fractionDigits = 0
            while index < scalars.count, let digit = Self.digit(scalars[index]) {
                if scale < maxScale {
                    fraction = fraction * 10 + digit
                    scale *= 10
                } else if excess == .reject {
                    return nil
                }
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0 else { return nil }
        }
        return DecimalLiteral(integer: integer, fraction: fraction, scale: scale)
    }

    private static func digit(_ scalar: Unicode.Scalar) -> Int64? {
        scalar.isASCII && ("0"..."9").contains(scalar) ? Int64(scalar.value - 48) : nil
    }
}
