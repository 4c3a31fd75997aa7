/// RFC 3339 timestamps (`2024-11-24T00:00:00.123Z`) to and from milliseconds since the Unix epoch.
///
/// ```swift
/// RFC3339.parseMilliseconds("2024-11-24T00:00:00.123Z")        // 1732406400123
/// RFC3339.parseMilliseconds("2024-11-24T02:00:00.123456+02:00") // 1732406400123 (truncated to ms)
/// RFC3339.format(milliseconds: 1732406400123)                   // "2024-11-24T00:00:00.123Z"
/// ```
///
/// Parsing accepts the RFC's `date-time` production: a four-digit year, `T` or `t` (or, as RFC 3339
/// §5.6 permits, a space) between date and time, a fraction of any length (truncated toward the
/// past to whole milliseconds), and `Z`, `z` or a `±hh:mm` offset (`-00:00` means UTC). Days are
/// checked against the month and leap years. A leap second (`:60`) is accepted in any minute and
/// read as the last millisecond of that minute (`23:59:60.5Z` → `23:59:59.999Z`), which keeps time
/// monotonic and the reading in the minute (and window) it belongs to; Unix time has no leap seconds.
public enum RFC3339 {
    /// Milliseconds since 1970-01-01T00:00:00Z, or `nil` if `bytes` is not exactly one RFC 3339 date-time.
    public static func parseMilliseconds(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard bytes.count >= 20 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int? {
            var value = 0
            for index in at..<at + count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard let year = digits(0, 4), bytes[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), bytes[7] == UInt8(ascii: "-"),
            let day = digits(8, 2),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") || bytes[10] == UInt8(ascii: " "),
            let hour = digits(11, 2), bytes[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), bytes[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var index = 19
        var millisecond = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                if index - fractionStart < 3 { millisecond = millisecond * 10 + Int(bytes[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            let fractionDigits = index - fractionStart
            guard fractionDigits > 0 else { return nil }
            for _ in fractionDigits..<max(fractionDigits, 3) { millisecond *= 10 }
        }

        guard index < bytes.count else { return nil }
        var offsetMinutes = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count - index >= 6, let offsetHour = digits(index + 1, 2), bytes[index + 3] == UInt8(ascii: ":"),
                let offsetMinute = digits(index + 4, 2), offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == bytes.count else { return nil }

        if second == 60 { millisecond = 999 }
        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let secondsOfDay = Int64(hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60)
        return (days * 86_400 + secondsOfDay) * 1000 + Int64(millisecond)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z, or `nil` if `text` is not exactly one RFC 3339 date-time.
    public static func parseMilliseconds(_ text: some StringProtocol) -> Int64? {
        if let result = text.utf8.withContiguousStorageIfAvailable({ parseMilliseconds(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(text.utf8).withUnsafeBytes { parseMilliseconds($0) }
    }

    /// The earliest and latest instants with a four-digit year: 0000-01-01T00:00:00.000Z … 9999-12-31T23:59:59.999Z.
    public static let representableMilliseconds: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    /// `milliseconds` as a UTC timestamp with exactly three fraction digits, such as
    /// `2024-11-24T00:00:00.123Z`, or `nil` outside ``representableMilliseconds``.
    public static func format(milliseconds: Int64) -> String? {
        guard representableMilliseconds.contains(milliseconds) else { return nil }
        let days = floorDivide(milliseconds, 86_400_000)
        let millisecondOfDay = Int(milliseconds - days * 86_400_000)
        let (year, month, day) = civilFromDays(Int(days))
        let fields = [
            (year, 4), (month, 2), (day, 2), (millisecondOfDay / 3_600_000, 2), (millisecondOfDay / 60_000 % 60, 2),
            (millisecondOfDay / 1000 % 60, 2), (millisecondOfDay % 1000, 3),
        ]
        let separators: [UInt8] = Array("--T::.Z".utf8)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var index = 0
            for (fieldIndex, (value, width)) in fields.enumerated() {
                var remaining = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                    remaining /= 10
                }
                index += width
                buffer[index] = separators[fieldIndex]
                index += 1
            }
            return index
        }
    }

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}
