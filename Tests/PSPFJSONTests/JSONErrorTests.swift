import PSPFJSON
import Testing

@Suite("Errors")
struct JSONErrorTests {
    func error(_ text: String) -> JSONError? {
        do { try JSONValidator.validate(text) } catch { return error }
        return nil
    }

    func error(bytes: [UInt8]) -> JSONError? {
        do { try JSONValidator.validate(bytes) } catch { return error }
        return nil
    }

    @Test(arguments: [
        (#"{"a" 1}"#, "invalid JSON at byte 5: expected ':' after object key, found '1'"),
        ("", "invalid JSON at byte 0: expected a value, found end of input"),
        ("[1,]", "invalid JSON at byte 3: expected a value after ',' (trailing commas are not allowed), found ']'"),
        (#"{"a":1,}"#, #"invalid JSON at byte 7: expected '"' to begin an object key (trailing commas are not allowed), found '}'"#),
        ("[1 2]", "invalid JSON at byte 3: expected ',' or ']' after array element, found '2'"),
        (#"{"a":1 "b":2}"#, #"invalid JSON at byte 7: expected ',' or '}' after object member, found '"'"#),
        ("01", "invalid JSON at byte 1: leading zeros are not allowed, found '1'"),
        ("[1.x]", "invalid JSON at byte 3: expected a digit after '.', found 'x'"),
        (#"{"t":1e999}"#, "invalid JSON at byte 5: number is too large for a 64-bit float, found '1'"),
        (#""\q""#, #"invalid JSON at byte 2: invalid escape; expected one of " \ / b f n r t u, found 'q'"#),
        (#"["\ud800"]"#, #"invalid JSON at byte 2: high surrogate escape without a low surrogate, found '\'"#),
        ("\"a\tb\"", "invalid JSON at byte 2: control characters in strings must be escaped, found byte 0x09"),
        ("[1] x", "invalid JSON at byte 4: expected only whitespace after the top-level value, found 'x'"),
        ("[tru]", "invalid JSON at byte 4: expected 'true', 'false' or 'null', found ']'"),
        (#"{"a":"#, "invalid JSON at byte 5: expected a value, found end of input"),
        (#""abc"#, #"invalid JSON at byte 4: expected '"' to end the string, found end of input"#),
        ("[1,\u{00A0}2]", "invalid JSON at byte 3: expected a value, found byte 0xC2"),
    ])
    func messages(_ text: String, _ message: String) throws {
        let found = try #require(error(text))
        #expect(found.message == message)
        #expect(found.description == message)
    }

    @Test func invalidUTF8PointsAtTheSequence() throws {
        let found = try #require(error(bytes: Array(#"{"k":"abc"#.utf8) + [0xE2, 0x28, 0xA1] + Array(#""}"#.utf8)))
        #expect(found.code == .invalidUTF8)
        #expect(found.offset == 9)
        #expect(found.found == 0xE2)
        #expect(found.message == "invalid JSON at byte 9: invalid UTF-8 sequence, found byte 0xE2")
    }

    @Test func tooDeepPointsAtTheFirstContainerBeyondTheLimit() throws {
        let found = try #require(error(String(repeating: "[", count: 600)))
        #expect(found.code == .tooDeep)
        #expect(found.offset == JSONValidator.maximumDepth)
        #expect(JSONValidator.maximumDepth == 512)
    }

    @Test func codesAreDistinctAndNamed() {
        let codes: [JSONError.Code] = [
            .unexpectedEnd, .unexpectedByte, .invalidNumber, .numberOutOfRange, .invalidEscape, .unpairedSurrogate,
            .invalidUTF8, .controlCharacter, .tooDeep, .trailingContent,
        ]
        #expect(Set(codes).count == codes.count)
        #expect(codes.map(\.description) == [
            "unexpectedEnd", "unexpectedByte", "invalidNumber", "numberOutOfRange", "invalidEscape", "unpairedSurrogate",
            "invalidUTF8", "controlCharacter", "tooDeep", "trailingContent",
        ])
    }

    @Test func errorsWorkInCatchPatterns() {
        do {
            try JSONValidator.validate("[1,]")
            Issue.record("expected an error")
        } catch where error.code == .unexpectedByte {
            #expect(error.offset == 3)
            #expect(error.reason == "expected a value after ',' (trailing commas are not allowed)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func validatorConveniences() {
        #expect(JSONValidator.isValid(#"{"a":[1,2,{"b":null}]}"#))
        #expect(!JSONValidator.isValid("{"))
        #expect(JSONValidator.isValid(Array("[]".utf8)))
        #expect(Array("[]".utf8).withUnsafeBytes { JSONValidator.isValid($0) })
        #expect(!JSONValidator.isValid(UnsafeRawBufferPointer(start: nil, count: 0)))
    }
}
