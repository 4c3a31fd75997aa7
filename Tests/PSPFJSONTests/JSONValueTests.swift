import Foundation
import PSPFJSON
import Testing

@Suite("JSONValue tree")
struct JSONValueTests {
    @Test func parsesAndNavigates() throws {
        let value = try JSONValue(parsing: #"{"device":"dev-1","meta":{"site":"b7"},"temps":[21.5,22],"ok":true,"none":null}"#)
        #expect(value["device"]?.stringValue == "dev-1")
        #expect(value[JSONFieldPath("meta.site")] == .string("b7"))
        #expect(value["temps"]?[1] == .integer(22))
        #expect(value["temps"]?[0]?.doubleValue == 21.5)
        #expect(value["temps"]?[2] == nil)
        #expect(value["ok"]?.boolValue == true)
        #expect(value["none"]?.isNull == true)
        #expect(value["missing"] == nil)
        #expect(value["temps"]?.arrayValue?.count == 2)
        #expect(value.objectValue?.map(\.key) == ["device", "meta", "temps", "ok", "none"])
        #expect(value.jsonText == #"{"device":"dev-1","meta":{"site":"b7"},"temps":[21.5,22],"ok":true,"none":null}"#)
        #expect("\(value)" == value.jsonText)
    }

    @Test(arguments: [
        ("42", JSONValue.integer(42)), ("-0", .integer(0)), ("9223372036854775807", .integer(.max)),
        ("9223372036854775808", .number(9_223_372_036_854_775_808)), ("1.0", .number(1)), ("1e2", .number(100)),
        ("-0.0", .number(-0.0)), ("0.1", .number(0.1)), ("\"\\u00e9\\n\"", .string("é\n")), ("[]", .array([])),
        ("{}", .object([])), ("null", .null), ("false", .bool(false)),
    ])
    func scalarKinds(_ text: String, _ expected: JSONValue) throws {
        let value = try JSONValue(parsing: text)
        #expect(value == expected)
        #expect(try JSONValue(parsing: value.jsonText) == value, "round trip of \(value.jsonText)")
    }

    @Test func numberAccessors() {
        #expect(JSONValue.integer(5).int64Value == 5)
        #expect(JSONValue.number(5).int64Value == 5)
        #expect(JSONValue.number(5.5).int64Value == nil)
        #expect(JSONValue.string("5").doubleValue == nil)
        #expect(JSONValue.number(.nan).jsonText == "null")
    }

    @Test func duplicateNamesKeepFirstPositionAndLastValue() throws {
        let value = try JSONValue(parsing: #"{"a":1,"b":2,"a":{"c":3}}"#)
        #expect(value == .object([("a", .object([("c", .integer(3))])), ("b", .integer(2))]))
        #expect(value != .object([("b", .integer(2)), ("a", .object([("c", .integer(3))]))]))
    }

    @Test func rejectsWhatTheValidatorRejects() {
        for testCase in conformanceCorpus {
            let validation = Result { () throws(JSONError) in try JSONValidator.validate(testCase.bytes) }
            let parse = Result { () throws(JSONError) in try JSONValue(parsing: testCase.bytes) }
            switch (validation, parse) {
            case (.success, .success): break
            case (.failure(let a), .failure(let b)): #expect(a == b, "\(testCase.name)")
            default: Issue.record("\(testCase.name): validator and tree disagree")
            }
        }
    }

    @Test func deepestAllowedNesting() throws {
        let text = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        var value = try JSONValue(parsing: text)
        var depth = 0
        while case .array(let elements) = value, let first = elements.first {
            value = first
            depth += 1
        }
        #expect(depth == 511)
    }

    @Test func randomDocumentsMatchFoundationAndRoundTrip() throws {
        var generator = RandomJSON(seed: 0x5EED_0030)
        generator.nearLimitExponents = false
        for _ in 0..<2000 {
            let text = generator.document()
            let value = try JSONValue(parsing: text)
            let foundation = try #require(FoundationOracle.parse(Array(text.utf8)))
            if let found = difference(value, foundation) { Issue.record("\(found) in \(text)") }
            #expect(try JSONValue(parsing: value.jsonText) == value, "\(text)")
        }
    }
}

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test func writesStructureInOrder() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("device"); writer.string("dev-0042")
        writer.key("temp"); writer.number(21.5)
        writer.key("list"); writer.beginArray(); writer.number(1); writer.null(); writer.bool(true); writer.endArray()
        writer.key("raw"); writer.raw(Array("[1,2]".utf8))
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"device":"dev-0042","temp":21.5,"list":[1,null,true],"raw":[1,2]}"#)
        writer.reset()
        writer.number(Int64(7))
        #expect(writer.bytes == Array("7".utf8))
    }

    @Test(arguments: [
        (Int64.min, "-9223372036854775808"), (.max, "9223372036854775807"), (0, "0"), (-7, "-7"), (1_732_406_400_123, "1732406400123"),
    ])
    func integers(_ value: Int64, _ text: String) {
        var writer = JSONWriter()
        writer.number(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == text)
    }

    @Test(arguments: [
        (21.53, "21.53"), (100.0, "100"), (-0.5, "-0.5"), (1e16, "1e+16"), (.nan, "null"), (.infinity, "null"), (1e-7, "1e-07"),
    ])
    func doubles(_ value: Double, _ text: String) {
        var writer = JSONWriter()
        writer.number(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == text)
        #expect(JSONValidator.isValid(writer.bytes))
    }

    @Test func escapesStrings() throws {
        let text = "q\"b\\n\nr\rt\t\u{1}\u{1F}é😀\u{7F}/"
        var writer = JSONWriter()
        writer.string(text)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #""q\"b\\n\nr\rt\t\u0001\u001fé😀\#u{7F}/""#)
        #expect(try JSONValue(parsing: writer.bytes) == .string(text))
    }
}
