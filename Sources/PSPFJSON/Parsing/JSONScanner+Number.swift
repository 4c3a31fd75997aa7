/// A JSON number as scanned: `±mantissa × 10^exponent`, keeping the first 19 significant digits.
struct JSONDecimal {
    /// The first `digitCount` significant digits (leading zeros skipped).
    var mantissa: UInt64 = 0
    var exponent: Int = 0
    /// 0 when the number is zero.
    var digitCount: Int = 0
    var isNegative = false
    /// A non-zero digit after the 19th significant digit was dropped.
    var isTruncated = false
    /// Written without fraction or exponent (`12`, not `12.0` or `1.2e1`).
    var isIntegerLiteral = true

    /// Could the value be too large for a `Double`? (The exponent of its leading digit is 308 or more.)
    @inline(__always)
    var mayOverflow: Bool { digitCount > 0 && digitCount - 1 + exponent >= 308 }

    /// The correctly rounded `Double` (infinite when out of range). Exact arithmetic when the digits fit
    /// in 53 bits and the power of ten is exact (Clinger's fast path); otherwise the standard library's
    /// correctly rounding parser on `text`, the number's JSON text.
    @inline(__always)
    func doubleValue(text: UnsafeRawBufferPointer) -> Double {
        if digitCount == 0 { return isNegative ? -0.0 : 0.0 }
        if !isTruncated, let magnitude = exactDouble() {
            return isNegative ? -magnitude : magnitude
        }
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }

    @inline(__always)
    private func exactDouble() -> Double? {
        var digits = mantissa
        var power = exponent
        let limit: UInt64 = 1 << 53
        if digits > limit {
            // Trailing zeros may bring the digits into range (`21.5300000000000000`).
            while digits % 10 == 0 {
                digits /= 10
                power += 1
            }
            if digits > limit { return nil }
        }
        if power == 0 { return Double(digits) }
        if power < 0 {
            return power >= -22 ? Double(digits) / exactPowerOfTen(-power) : nil
        }
        if power <= 22 { return Double(digits) * exactPowerOfTen(power) }
        // 123e25 = 123000 × 10^22, still exact if the digits stay within 53 bits.
        guard power <= 22 + 15 else { return nil }
        let (scaled, overflow) = digits.multipliedReportingOverflow(by: UInt64(exactPowerOfTen(power - 22)))
        guard !overflow, scaled <= limit else { return nil }
        return Double(scaled) * 1e22
    }

    /// The value as an `Int64` if it is an integer in range.
    @inline(__always)
    var int64Value: Int64? {
        if digitCount == 0 { return 0 }
        if isTruncated { return nil }
        var digits = mantissa
        var power = exponent
        while power < 0 {
            guard digits % 10 == 0 else { return nil }
            digits /= 10
            power += 1
        }
        while power > 0 {
            let (scaled, overflow) = digits.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            digits = scaled
            power -= 1
        }
        if isNegative {
            return digits <= UInt64(1) << 63 ? Int64(bitPattern: 0 &- digits) : nil
        }
        return digits <= UInt64(Int64.max) ? Int64(digits) : nil
    }
}

/// 10^power for 0 ≤ power ≤ 22, the powers of ten that a `Double` holds exactly.
@inline(__always)
func exactPowerOfTen(_ power: Int) -> Double {
    switch power {
    case 0: 1e0
    case 1: 1e1
    case 2: 1e2
    case 3: 1e3
    case 4: 1e4
    case 5: 1e5
    case 6: 1e6
    case 7: 1e7
    case 8: 1e8
    case 9: 1e9
    case 10: 1e10
    case 11: 1e11
    case 12: 1e12
    case 13: 1e13
    case 14: 1e14
    case 15: 1e15
    case 16: 1e16
    case 17: 1e17
    case 18: 1e18
    case 19: 1e19
    case 20: 1e20
    case 21: 1e21
    default: 1e22
    }
}

extension JSONScanner {
    /// Scans `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; `p` is at the `-` or first digit.
    @inline(__always)
    mutating func scanNumber() throws(JSONError) -> JSONDecimal {
        var number = JSONDecimal()
        if p.pointee == UInt8(ascii: "-") {
            number.isNegative = true
            p += 1
            guard p < end else { throw error(.unexpectedEnd, "expected a digit after '-'") }
        }
        var digits: UInt64 = 0
        var count = 0
        var exponent = 0
        var digit = p.pointee &- UInt8(ascii: "0")
        if digit == 0 {
            p += 1
            if p < end && p.pointee &- UInt8(ascii: "0") < 10 {
                throw error(.invalidNumber, "leading zeros are not allowed")
            }
        } else if digit < 10 {
            repeat {
                if count < 19 {
                    digits = digits &* 10 &+ UInt64(digit)
                    count += 1
                } else {
                    exponent += 1
                    if digit != 0 { number.isTruncated = true }
                }
                p += 1
                guard p < end else { break }
                digit = p.pointee &- UInt8(ascii: "0")
            } while digit < 10
        } else {
            throw error(.invalidNumber, "expected a digit")
        }

        if p < end && p.pointee == UInt8(ascii: ".") {
            number.isIntegerLiteral = false
            p += 1
            guard p < end else { throw error(.unexpectedEnd, "expected a digit after '.'") }
            digit = p.pointee &- UInt8(ascii: "0")
            guard digit < 10 else { throw error(.invalidNumber, "expected a digit after '.'") }
            repeat {
                if count < 19 {
                    exponent -= 1
                    if count != 0 || digit != 0 {
                        digits = digits &* 10 &+ UInt64(digit)
                        count += 1
                    }
                } else if digit != 0 {
                    number.isTruncated = true
                }
                p += 1
                guard p < end else { break }
                digit = p.pointee &- UInt8(ascii: "0")
            } while digit < 10
        }

        if p < end && p.pointee | 0x20 == UInt8(ascii: "e") {
            number.isIntegerLiteral = false
            p += 1
            var negative = false
            if p < end && (p.pointee == UInt8(ascii: "+") || p.pointee == UInt8(ascii: "-")) {
                negative = p.pointee == UInt8(ascii: "-")
                p += 1
            }
            guard p < end else { throw error(.unexpectedEnd, "expected a digit in the exponent") }
            digit = p.pointee &- UInt8(ascii: "0")
            guard digit < 10 else { throw error(.invalidNumber, "expected a digit in the exponent") }
            var value = 0
            repeat {
                // Saturate: beyond this, the value is zero or infinite anyway.
                if value < 1 << 40 { value = value * 10 + Int(digit) }
                p += 1
                guard p < end else { break }
                digit = p.pointee &- UInt8(ascii: "0")
            } while digit < 10
            exponent += negative ? -value : value
        }
        number.mantissa = digits
        number.digitCount = count
        number.exponent = exponent
        return number
    }
}
