import Foundation
import PSPFJSON
import Testing

@Suite("RFC 3339 and epoch timestamps")
struct TimestampTests {
    @Test(arguments: [
        ("2024-11-24T00:00:00.123Z", Int64(1_732_406_400_123)),
        ("2024-11-24T00:00:00Z", 1_732_406_400_000),
        ("2024-11-24t00:00:00.123z", 1_732_406_400_123),
        ("2024-11-24 00:00:00.123Z", 1_732_406_400_123),
        ("2024-11-24T02:00:00.123+02:00", 1_732_406_400_123),
        ("2024-11-23T19:30:00.123-04:30", 1_732_406_400_123),
        ("2024-11-24T00:00:00.123-00:00", 1_732_406_400_123),
        ("2024-11-24T23:59:00.123+23:59", 1_732_406_400_123),
        ("2024-11-24T00:00:00.123456789Z", 1_732_406_400_123),
        ("2024-11-24T00:00:00.1239999999999999999999Z", 1_732_406_400_123),
        ("2024-11-24T00:00:00.1Z", 1_732_406_400_100),
        ("2024-11-24T00:00:00.12Z", 1_732_406_400_120),
        ("2024-11-24T00:00:00.000Z", 1_732_406_400_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.001Z", 1),
        ("1969-12-31T23:59:59.999Z", -1),
        ("1969-12-31T23:59:59.9999Z", -1),
        ("0000-01-01T00:00:00Z", -62_167_219_200_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
        ("2016-12-31T23:59:59.999Z", 1_483_228_799_999),
        ("2016-12-31T23:59:60Z", 1_483_228_799_999),
        ("2016-12-31T23:59:60.5Z", 1_483_228_799_999),
        ("2017-01-01T01:59:60+02:00", 1_483_228_799_999),
    ])
    func parses(_ text: String, _ milliseconds: Int64) {
        #expect(RFC3339.parseMilliseconds(text) == milliseconds)
        #expect(RFC3339.parseMilliseconds(text[...]) == milliseconds, "Substring")
        #expect(Array(text.utf8).withUnsafeBytes { RFC3339.parseMilliseconds($0) } == milliseconds, "bytes")
    }

    @Test(arguments: [
        "", "2024-11-24", "2024-11-24T00:00:00", "2024-11-24T00:00:00.Z", "2024-11-24T00:00:00.123",
        "2024-11-24T00:00Z", "2024-1-24T00:00:00Z", "2024-11-24T0:00:00Z", "24-11-24T00:00:00Z",
        "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-32T00:00:00Z", "2024-11-24T24:00:00Z",
        "2024-11-24T23:60:00Z", "2024-11-24T23:59:61Z", "2024-11-24T00:00:00+24:00", "2024-11-24T00:00:00+02:60",
        "2024-11-24T00:00:00+0200", "2024-11-24T00:00:00+02", "2024-11-24T00:00:00+02:00:00", " 2024-11-24T00:00:00Z",
        "2024-11-24T00:00:00Z ", "2024-11-24T00:00:00ZZ", "+2024-11-24T00:00:00Z", "2024/11/24T00:00:00Z",
        "2024-11-24X00:00:00Z", "2024-11-24T00:00:00,123Z", "2024-11-24T00:00:00.12a3Z", "２０２４-11-24T00:00:00Z",
        "2024-11-24T00:00:00.123GMT", "2024-11-24T00:00:00 Z", "2024-11-24T00:00:00\u{0}",
    ])
    func rejects(_ text: String) {
        #expect(RFC3339.parseMilliseconds(text) == nil)
    }

    @Test(arguments: [
        (Int64(1_732_406_400_123), "2024-11-24T00:00:00.123Z"), (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"), (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"), (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formats(_ milliseconds: Int64, _ text: String) {
        #expect(RFC3339.format(milliseconds: milliseconds) == text)
    }

    @Test func formatRejectsYearsBeyondFourDigits() {
        #expect(RFC3339.format(milliseconds: -62_167_219_200_001) == nil)
        #expect(RFC3339.format(milliseconds: 253_402_300_800_000) == nil)
        #expect(RFC3339.format(milliseconds: .min) == nil)
        #expect(RFC3339.format(milliseconds: .max) == nil)
    }

    @Test func roundTripsAndMatchesFoundation() {
        var rng = SplitMix64(seed: 0x5EED_0040)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        for round in 0..<20_000 {
            let milliseconds = Int64.random(in: RFC3339.representableMilliseconds, using: &rng)
            let text = RFC3339.format(milliseconds: milliseconds)!
            #expect(RFC3339.parseMilliseconds(text) == milliseconds, "\(text)")
            // Foundation as an independent oracle in the common range (it calls years before 1583 Julian).
            let recent = Int64.random(in: -2_208_988_800_000...4_102_444_800_000, using: &rng)
            let ours = RFC3339.format(milliseconds: recent)!
            let date = Date(timeIntervalSince1970: Double(recent) / 1000)
            if round % 4 == 0 { #expect(ours == formatter.string(from: date), "\(recent)") }
            // The same instant written with a random offset.
            let offsetMinutes = Int.random(in: -(23 * 60 + 59)...(23 * 60 + 59), using: &rng)
            let local = recent + Int64(offsetMinutes) * 60_000
            guard var shifted = RFC3339.format(milliseconds: local) else { continue }
            shifted.removeLast()
            let sign = offsetMinutes < 0 ? "-" : "+"
            let hours = abs(offsetMinutes) / 60
            let minutes = abs(offsetMinutes) % 60
            shifted += sign + (hours < 10 ? "0" : "") + "\(hours):" + (minutes < 10 ? "0" : "") + "\(minutes)"
            #expect(RFC3339.parseMilliseconds(shifted) == recent, "\(shifted)")
        }
    }

    @Test func epochUnitsFromIntegers() {
        #expect(EpochUnit.seconds.milliseconds(from: 1_732_406_400) == 1_732_406_400_000)
        #expect(EpochUnit.seconds.milliseconds(from: .max / 10) == nil)
        #expect(EpochUnit.milliseconds.milliseconds(from: -5) == -5)
        #expect(EpochUnit.microseconds.milliseconds(from: 1_732_406_400_123_999) == 1_732_406_400_123)
        #expect(EpochUnit.microseconds.milliseconds(from: -1) == -1)
        #expect(EpochUnit.nanoseconds.milliseconds(from: 1_732_406_400_123_456_789) == 1_732_406_400_123)
        #expect(EpochUnit.nanoseconds.milliseconds(from: -1_000_001) == -2)
    }

    @Test(arguments: [
        (EpochUnit.seconds, "1732406400.123", Int64?(1_732_406_400_123)), (.seconds, "1732406400.1239", 1_732_406_400_123),
        (.seconds, "1732406400", 1_732_406_400_000), (.seconds, "1.7324064001234e9", 1_732_406_400_123),
        (.seconds, "-0.0001", -1), (.seconds, "-0", 0), (.seconds, "1.5e3", 1_500_000), (.seconds, "1e400", nil),
        (.seconds, "9223372036854776", nil), (.milliseconds, "1732406400123", 1_732_406_400_123),
        (.milliseconds, "1732406400123.9", 1_732_406_400_123), (.milliseconds, "-1.5", -2),
        (.milliseconds, "9223372036854775807", .max), (.milliseconds, "-9223372036854775808", .min),
        (.milliseconds, "-9223372036854775808.5", nil), (.milliseconds, "1e-400", 0), (.milliseconds, "-1e-400", -1),
        (.microseconds, "1732406400123456", 1_732_406_400_123), (.microseconds, "-1", -1),
        (.nanoseconds, "1732406400123456789", 1_732_406_400_123), (.nanoseconds, "1.732406400123456789e18", 1_732_406_400_123),
        (.milliseconds, "12.34567890123456789012345", 12), (.milliseconds, "-12.00000000000000000000001", -13),
        (.seconds, "abc", nil), (.seconds, "1 ", nil), (.seconds, "", nil), (.seconds, "01", nil), (.seconds, "+1", nil),
    ])
    func epochUnitsFromJSONNumberText(_ unit: EpochUnit, _ text: String, _ expected: Int64?) {
        #expect(Array(text.utf8).withUnsafeBytes { unit.milliseconds(fromJSONNumber: $0) } == expected)
    }

    @Test func timestampFields() throws {
        let extractor = JSONFieldExtractor(fields: ["s", "ms", "iso", "escaped", "text", "missing"])
        var values = extractor.makeValues()
        let payload = Array(#"{"s":1732406400.123,"ms":1732406400123,"iso":"2024-11-24T01:00:00.123+01:00","escaped":"2024-11-24T00:00:00\u002E123Z","text":"soon"}"#.utf8)
        try payload.withUnsafeBytes { bytes in
            try extractor.extract(from: bytes, into: &values)
            #expect(values.timestampMilliseconds(at: 0, format: .epoch(.seconds)) == 1_732_406_400_123)
            #expect(values.timestampMilliseconds(at: 1, format: .epoch(.milliseconds)) == 1_732_406_400_123)
            #expect(values.timestampMilliseconds(at: 0, format: .epoch(.milliseconds)) == 1_732_406_400)
            #expect(values.timestampMilliseconds(at: 2, format: .rfc3339) == 1_732_406_400_123)
            #expect(values.timestampMilliseconds(at: 3, format: .rfc3339) == 1_732_406_400_123)
            #expect(values.timestampMilliseconds(at: 4, format: .rfc3339) == nil)
            #expect(values.timestampMilliseconds(at: 1, format: .rfc3339) == nil, "a number is not an RFC 3339 timestamp")
            #expect(values.timestampMilliseconds(at: 2, format: .epoch(.milliseconds)) == nil, "a string is not an epoch")
            #expect(values.timestampMilliseconds(at: 5, format: .epoch(.seconds)) == nil)
        }
    }
}
