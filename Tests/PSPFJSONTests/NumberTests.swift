import PSPFJSON
import Testing

@Suite("Numbers")
struct NumberTests {
    /// The extracted number, or the error for it.
    func number(_ text: String) -> Result<JSONFieldValue, JSONError> {
        let extractor = JSONFieldExtractor(fields: ["x"])
        var values = extractor.makeValues()
        return Array(#"{"x":\#(text)}"#.utf8).withUnsafeBytes { bytes in
            Result { () throws(JSONError) in
                try extractor.extract(from: bytes, into: &values)
                return values[0]
            }
        }
    }

    func checkDouble(_ text: String) {
        let expected = Double(text)!
        switch number(text) {
        case .success(let value):
            #expect(value.kind == .number)
            #expect(value.doubleValue?.bitPattern == expected.bitPattern, "\(text): \(value.doubleValue!) vs \(expected)")
        case .failure(let error):
            #expect(error.code == .numberOutOfRange && expected.isInfinite, "\(text): \(error)")
        }
    }

    @Test(arguments: [
        "0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.2", "0.3", "21.53", "40.1", "1732406400123", "1e23", "8.589973e9",
        "9007199254740992", "9007199254740993", "9007199254740995", "18014398509481993", "1e22", "1e-22", "123e25",
        "9007199254740993e22", "2.2250738585072011e-308", "2.2250738585072014e-308", "4.9406564584124654e-324",
        "2.4703282292062327e-324", "2.4703282292062328e-324", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999",
        "0.30000000000000004", "3.0000000000000004e-1", "7.038531e-26", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124", "1.00000000000000011102230246251565404236316680908203126",
        "100000000000000000000000", "1000000000000000000000000000000000000000e-20", "21.5300000000000000000",
        "0.000000000000000000000000000001", "123456789012345678901234567890e-30", "1e-400", "-1e-400", "1e400",
        "6.6e-1", "4.35679e-10", "45.2e-12", "9.999999999999999e22", "9.9999999999999999e22", "5e-324", "1e-320",
    ])
    func hardDecimals(_ text: String) {
        checkDouble(text)
    }

    /// A large seeded set of decimal strings: every result must equal the standard library's correctly
    /// rounded `Double(String)` bit for bit.
    @Test func randomDecimalsAreCorrectlyRounded() {
        var rng = SplitMix64(seed: 0x5EED_0020)
        var fastPathSized = 0
        for round in 0..<100_000 {
            var text = Bool.random(using: &rng) ? "-" : ""
            let digitCount = round % 4 == 0 ? Int.random(in: 1...25, using: &rng) : Int.random(in: 1...15, using: &rng)
            var digits = (0..<digitCount).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) }
            if digits.count > 1 && digits[0] == "0" { digits[0] = "7" }
            let point = Int.random(in: 0...digitCount, using: &rng)
            if point == 0 || point == digitCount {
                text += String(digits)
            } else {
                text += String(digits[..<point]) + "." + String(digits[point...])
            }
            if Int.random(in: 0..<3, using: &rng) == 0 {
                let exponent = round % 10 == 0 ? Int.random(in: -345...330, using: &rng) : Int.random(in: -30...30, using: &rng)
                text += (Bool.random(using: &rng) ? "e" : "E") + String(exponent)
            }
            if digitCount <= 15 { fastPathSized += 1 }
            checkDouble(text)
        }
        #expect(fastPathSized > 50_000)
    }

    @Test(arguments: [
        ("0", Int64(0)), ("-0", 0), ("42", 42), ("42.0", 42), ("4.2e1", 42), ("420e-1", 42), ("0.42e2", 42),
        ("9223372036854775807", .max), ("-9223372036854775808", .min), ("9.223372036854775807e18", .max),
        ("0e5", 0), ("-0.0e-3", 0), ("100000000000000000000e-2", 1_000_000_000_000_000_000),
        ("1732406400123", 1_732_406_400_123), ("1.732406400123e12", 1_732_406_400_123),
        ("1.0000000000000000000000000", 1),
    ] as [(String, Int64)])
    func integralNumbersHaveInt64(_ text: String, _ expected: Int64) throws {
        let value = try number(text).get()
        #expect(value.int64Value == expected)
        #expect(value.doubleValue == Double(expected))
    }

    @Test(arguments: [
        "0.5", "4.25e1", "9223372036854775808", "-9223372036854775809", "1e19", "-1e19", "1e-400", "1e300",
        "12345678901234567890123e-4", "1.0000000000000000000000001", "18446744073709551616", "0.1e-1000000000",
    ])
    func otherNumbersHaveNoInt64(_ text: String) throws {
        #expect(try number(text).get().int64Value == nil)
    }

    @Test func randomIntegersInEverySpelling() throws {
        var rng = SplitMix64(seed: 0x5EED_0021)
        for _ in 0..<20_000 {
            let value = Int64.random(in: .min ... .max, using: &rng) >> Int64.random(in: 0...62, using: &rng)
            let plain = String(value)
            let digits = String(value.magnitude)
            let sign = value < 0 ? "-" : ""
            let point = Int.random(in: 1...digits.count, using: &rng)
            let shifted = sign + digits.prefix(point) + "." + digits.dropFirst(point) + "0" + "e" + String(digits.count - point)
            for text in [plain, plain + ".000", shifted] + (value == 0 ? [] : [plain + "00e-2"]) {
                let extracted = try number(text).get()
                #expect(extracted.int64Value == value, "\(text)")
                #expect(extracted.doubleValue == Double(value), "\(text)")
            }
        }
    }
}
