import Foundation
import PSPFJSON
import Testing

@Suite("Field extraction")
struct FieldExtractorTests {
    @Test func sensorPayload() throws {
        let payload = #"{"device":"dev-0042","ts":1732406400123,"temp":21.53,"hum":40.1}"#
        let values = try extract(["device", "ts", "temp", "hum"], from: payload)
        #expect(values == [
            .string("dev-0042", escaped: false), .number(1_732_406_400_123, 1_732_406_400_123),
            .number(21.53, nil), .number(40.1, nil),
        ])
    }

    @Test func accessorsAndByteRanges() throws {
        let extractor = JSONFieldExtractor(fields: ["s", "e", "n", "t", "f", "z", "o", "a", "gone"])
        var values = extractor.makeValues()
        let payload = Array(#"{"s":"plain","e":"a\"b","n":-12.5e1,"t":true,"f":false,"z":null,"o":{"k":[1]},"a":[1,{}]}"#.utf8)
        try payload.withUnsafeBytes { bytes in
            try extractor.extract(from: bytes, into: &values)
            #expect(values.count == 9)
            #expect(values.source.baseAddress == bytes.baseAddress)
            #expect(values.kind(at: 0) == .string)
            #expect(values[0].byteRange == 6..<11, "the content between the quotes")
            #expect(!values[0].hasEscapes)
            #expect(values.string(at: 1) == "a\"b")
            #expect(values[1].hasEscapes)
            #expect(String(decoding: values.bytes(at: 1), as: UTF8.self) == #"a\"b"#)
            #expect(values.double(at: 2) == -125)
            #expect(values.int64(at: 2) == -125)
            #expect(String(decoding: values.bytes(at: 2), as: UTF8.self) == "-12.5e1")
            #expect(values.bool(at: 3) == true)
            #expect(values.bool(at: 4) == false)
            #expect(values.kind(at: 5) == .null)
            #expect(values.bool(at: 5) == nil && values.double(at: 5) == nil && values.string(at: 5) == nil)
            #expect(String(decoding: values.bytes(at: 6), as: UTF8.self) == #"{"k":[1]}"#)
            #expect(String(decoding: values.bytes(at: 7), as: UTF8.self) == "[1,{}]")
            #expect(values.kind(at: 8) == .missing)
            #expect(values.bytes(at: 8).isEmpty)
            #expect(values[8] == .missing)
            #expect(values[0].string(in: bytes) == "plain")
        }
    }

    @Test func nestedPaths() throws {
        let payload = #"{"device":"d","meta":{"site":"b7","geo":{"lat":52.5,"lon":13.4}},"site":"top"}"#
        let values = try extract(["meta.site", "meta.geo.lat", "meta.geo", "site", "meta.missing", "meta.geo.lon.x"], from: payload)
        #expect(values == [
            .string("b7", escaped: false), .number(52.5, nil), .object(#"{"lat":52.5,"lon":13.4}"#),
            .string("top", escaped: false), .missing, .missing,
        ])
    }

    @Test func parentAndChildBothConfigured() throws {
        let values = try extract(["meta", "meta.site"], from: #"{"meta":{"site":"b7"}}"#)
        #expect(values == [.object(#"{"site":"b7"}"#), .string("b7", escaped: false)])
    }

    @Test func pathsOnlyLookInsideObjects() throws {
        #expect(try extract(["meta.site"], from: #"{"meta":5}"#) == [.missing])
        #expect(try extract(["meta.site"], from: #"{"meta":[{"site":1}]}"#) == [.missing])
        #expect(try extract(["meta", "meta.site"], from: #"{"meta":["site"]}"#) == [.array(#"["site"]"#), .missing])
        #expect(try extract(["a"], from: #"[{"a":1}]"#) == [.missing])
        #expect(try extract(["a"], from: #""a""#) == [.missing])
        #expect(try extract(["site"], from: #"{"meta":{"site":"nested only"}}"#) == [.missing])
        #expect(try extract(["a"], from: #"{"x":[{"a":1}],"y":{"z":{"a":2}}}"#) == [.missing])
    }

    /// Foundation keeps the last of repeated names, so does the extractor, including for what an earlier
    /// occurrence held deeper down.
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, ["a"]),
        (#"{"a":1,"b":0,"a":"x"}"#, ["a", "b"]),
        (#"{"meta":{"site":"x"},"meta":{"other":1}}"#, ["meta.site", "meta.other"]),
        (#"{"meta":{"site":"x"},"meta":5}"#, ["meta", "meta.site"]),
        (#"{"meta":{"site":"x"},"meta":{"site":"y"}}"#, ["meta.site"]),
        (#"{"m":{"a":{"b":1},"a":{"c":2}},"m":{"a":{"b":3}}}"#, ["m.a.b", "m.a.c"]),
        (#"{"a":{"b":1,"b":{"c":2}},"a":{"d":3,"b":{"c":4}}}"#, ["a.b", "a.b.c", "a.d"]),
        (#"{"x":{"y":1},"x":{"y":2,"y":3}}"#, ["x.y"]),
    ])
    func duplicateNamesLastWins(payload: String, fields: [String]) throws {
        let values = try extract(fields.map { JSONFieldPath($0) }, from: payload)
        let foundation = try #require(FoundationOracle.parse(Array(payload.utf8)))
        for (index, field) in fields.enumerated() {
            let expected = foundationValue(at: JSONFieldPath(field), in: foundation)
            #expect(agrees(values[index], withFoundation: expected), "\(field): \(values[index]) vs \(expected.map { "\($0)" } ?? "nil")")
        }
    }

    @Test func escapedNamesMatch() throws {
        let values = try extract(["device", "a\"b", "é", "😀"], from: #"{"d\u0065vic\u0065":"x","a\"b":1,"\u00e9":2,"\ud83d\ude00":3}"#)
        #expect(values == [.string("x", escaped: false), .number(1, 1), .number(2, 2), .number(3, 3)])
        // An escaped name must decode to exactly the configured name.
        #expect(try extract(["device"], from: #"{"devic\u0065x":1,"\u0064evic":2}"#) == [.missing])
        #expect(try extract(["ab"], from: #"{"a\u0000b":1}"#) == [.missing])
    }

    @Test func namesAreComparedByCodePointsWithoutNormalisation() throws {
        // "é" precomposed (U+00E9) and decomposed (e + U+0301) are different names (RFC 8259 §8.3).
        #expect(try extract(["caf\u{E9}"], from: "{\"cafe\u{301}\":1}") == [.missing])
        #expect(try extract(["caf\u{E9}"], from: "{\"caf\u{E9}\":1}") == [.number(1, 1)])
    }

    @Test func unusualPaths() throws {
        let values = try extract([JSONFieldPath(components: ["a.b"]), "", "a..b", JSONFieldPath(components: ["", "x"])], from: #"{"a.b":1,"":{"x":2},"a":{"":{"b":3}}}"#)
        #expect(values == [.number(1, 1), .object(#"{"x":2}"#), .number(3, 3), .number(2, 2)])
        #expect(JSONFieldPath("a..b").components == ["a", "", "b"])
        #expect(JSONFieldPath("meta.site").description == "meta.site")
    }

    @Test func sameFieldListedTwice() throws {
        let extractor = JSONFieldExtractor(fields: ["a", "b.c", "a", "b.c"])
        #expect(try extract(extractor, from: Array(#"{"a":1,"b":{"c":2}}"#.utf8)) == [.number(1, 1), .number(2, 2), .number(1, 1), .number(2, 2)])
        #expect(extractor.index(of: "b.c") == 1)
        #expect(extractor.index(of: "nope") == nil)
    }

    @Test func valuesAreResetBetweenDocuments() throws {
        let extractor = JSONFieldExtractor(fields: ["a", "b"])
        var values = extractor.makeValues()
        #expect(try extract(extractor, from: Array(#"{"a":1,"b":"x"}"#.utf8), into: &values) == [.number(1, 1), .string("x", escaped: false)])
        #expect(try extract(extractor, from: Array(#"{"b":null}"#.utf8), into: &values) == [.missing, .null])
        #expect(try extract(extractor, from: Array("[]".utf8), into: &values) == [.missing, .missing])
    }

    @Test func valuesAdaptToAnotherExtractor() throws {
        var values = JSONFieldValues()
        #expect(values.count == 0)
        let first = JSONFieldExtractor(fields: ["a"])
        let second = JSONFieldExtractor(fields: ["b", "a", "c"])
        #expect(try extract(first, from: Array(#"{"a":1,"b":2}"#.utf8), into: &values) == [.number(1, 1)])
        #expect(try extract(second, from: Array(#"{"a":1,"b":2}"#.utf8), into: &values) == [.number(2, 2), .number(1, 1), .missing])
    }

    @Test func invalidDocumentsThrowEvenWhenFieldsWereFound() {
        #expect(throws: JSONError.self) { try extract(["a"], from: #"{"a":1,"b":[1,]}"#) }
        #expect(throws: JSONError.self) { try extract(["a"], from: #"{"a":1} x"#) }
        #expect(throws: JSONError.self) { try extract(["a"], from: #"{"a":1,"b":"\x"}"#) }
        #expect(throws: JSONError.self) { try extract(["a"], from: #"{"a":1E400}"#) }
        #expect(throws: JSONError.self) { try extract(["a"], from: "") }
    }

    @Test func emptyFieldListOnlyValidates() throws {
        #expect(try extract([], from: #"{"a":1}"#) == [])
    }

    /// Random documents with repeated names, escaped names and every kind of value: each configured path
    /// must give what Foundation finds there.
    @Test func randomDocumentsAgreeWithFoundation() throws {
        var generator = RandomJSON(seed: 0x5EED_0010)
        generator.nearLimitExponents = false
        let names = generator.names
        var paths = names.map { JSONFieldPath(components: [$0]) }
        for outer in ["meta", "x", "a", ""] {
            for inner in ["site", "a", "b", ""] { paths.append(JSONFieldPath(components: [outer, inner])) }
        }
        paths.append(JSONFieldPath(components: ["meta", "a", "b"]))
        let extractor = JSONFieldExtractor(fields: paths)
        var values = extractor.makeValues()
        var compared = 0
        for _ in 0..<2000 {
            let bytes = Array(generator.document(topLevelObject: true).utf8)
            let ours = try extract(extractor, from: bytes, into: &values)
            let foundation = try #require(FoundationOracle.parse(bytes))
            for (index, path) in paths.enumerated() {
                let expected = foundationValue(at: path, in: foundation)
                #expect(agrees(ours[index], withFoundation: expected), "\(path): \(ours[index]) vs \(expected.map { "\($0)" } ?? "nil") in \(String(decoding: bytes, as: UTF8.self))")
                if expected != nil { compared += 1 }
            }
        }
        #expect(compared > 3000)
    }
}

/// What Foundation finds at `path`, or `nil` if nothing (a missing member or a non-object on the way).
func foundationValue(at path: JSONFieldPath, in root: Any) -> Any? {
    var current: Any = root
    for component in path.components {
        guard let object = current as? [String: Any], let next = object[component] else { return nil }
        current = next
    }
    return current
}

/// Whether an extracted value matches Foundation's: same kind and value. Foundation cannot tell us
/// escape flags or container text; numbers it keeps as decimals are only checked for their kind, and
/// Foundation's doubles only for their value (the Int64 rule is checked in NumberTests).
func agrees(_ ours: Extracted, withFoundation value: Any?) -> Bool {
    guard let value else { return ours == .missing }
    switch value {
    case is NSNull: return ours == .null
    case let text as String:
        guard case .string(let string, _) = ours else { return false }
        return Array(string.unicodeScalars) == Array(text.unicodeScalars)
    case is [Any]:
        if case .array = ours { return true }
        return false
    case is [String: Any]:
        if case .object = ours { return true }
        return false
    case let number as NSNumber:
        if FoundationOracle.isBool(number) { return ours == .bool(number.boolValue) }
        guard case .number(let double, let integer) = ours else { return false }
        if number is NSDecimalNumber { return true }
        switch String(cString: number.objCType) {
        case "q", "i", "l", "s", "c":
            return integer == number.int64Value && double == Double(number.int64Value)
        case "Q":
            return integer == nil && double == Double(number.uint64Value)
        default:
            return double == number.doubleValue
        }
    default:
        return false
    }
}
