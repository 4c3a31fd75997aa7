import Foundation
import PSPFJSON
import Testing

@Suite("Validation agrees with RFC 8259 and Foundation")
struct ValidatorConformanceTests {
    @Test func corpusIsLargeAndCovered() {
        #expect(conformanceCorpus.count >= 150)
        #expect(Set(conformanceCorpus.map(\.name)).count == conformanceCorpus.count, "case names are unique")
        for prefix in ["y_", "n_", "i_"] {
            #expect(conformanceCorpus.contains { $0.name.hasPrefix(prefix) })
        }
    }

    @Test(arguments: conformanceCorpus)
    func corpusCase(_ testCase: CorpusCase) throws {
        let ours = Result { () throws(JSONError) in try JSONValidator.validate(testCase.bytes) }
        switch (ours, testCase.accept) {
        case (.success, true): break
        case (.failure(let error), false):
            if let code = testCase.code { #expect(error.code == code, "\(error.message)") }
            #expect(error.offset >= 0 && error.offset <= testCase.bytes.count)
        case (.success, false): Issue.record("accepted, expected rejection")
        case (.failure(let error), true): Issue.record("rejected: \(error.message)")
        }

        let foundation = FoundationOracle.accepts(testCase.bytes)
        switch testCase.foundation {
        case .agrees: #expect(foundation == testCase.accept, "Foundation disagrees")
        case .accepts: #expect(foundation && !testCase.accept, "documented difference no longer holds")
        }
    }

    /// The extractor validates exactly like the validator, with the same error, whatever it extracts.
    @Test(arguments: conformanceCorpus)
    func extractorValidatesLikeValidator(_ testCase: CorpusCase) {
        let extractor = JSONFieldExtractor(fields: ["a", "a.b", "b", "x", ""])
        var values = extractor.makeValues()
        let validation = Result { () throws(JSONError) in try JSONValidator.validate(testCase.bytes) }
        let extraction = testCase.bytes.withUnsafeBytes { bytes in
            Result { () throws(JSONError) in try extractor.extract(from: bytes, into: &values) }
        }
        switch (validation, extraction) {
        case (.success, .success): break
        case (.failure(let a), .failure(let b)): #expect(a == b)
        default: Issue.record("validator \(validation) vs extractor \(extraction)")
        }
    }

    @Test func randomValidDocumentsAreAcceptedByBoth() {
        var generator = RandomJSON(seed: 0x5EED_0001)
        generator.nearLimitExponents = false
        for _ in 0..<3000 {
            let text = generator.document()
            let bytes = Array(text.utf8)
            #expect(JSONValidator.isValid(bytes), "\(text)")
            #expect(FoundationOracle.accepts(bytes) == JSONValidator.isValid(bytes), "\(text)")
        }
    }

    @Test func randomMutationsAgreeWithFoundation() {
        var generator = RandomJSON(seed: 0x5EED_0002)
        var accepted = 0
        var rejected = 0
        for _ in 0..<8000 {
            var bytes = Array(generator.document().utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator.rng) { bytes = generator.mutate(bytes) }
            let result = Result { () throws(JSONError) in try JSONValidator.validate(bytes) }
            let ours = (try? result.get()) != nil
            let foundation = FoundationOracle.accepts(bytes)
            if case .failure(let error) = result, error.code == .numberOutOfRange {
                // Foundation only notices an out-of-range number when it converts it, which it skips
                // for members overwritten by a duplicate name; PSPF always rejects (docs/json.md).
                #expect(!foundation || FoundationOracle.hasDuplicateNames(bytes), "\(String(decoding: bytes, as: UTF8.self))")
            } else if FoundationOracle.mayBeLenient(bytes) {
                #expect(!ours || foundation, "PSPF accepts what Foundation rejects: \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes)")
            } else {
                #expect(ours == foundation, "PSPF \(ours), Foundation \(foundation): \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes)")
            }
            if ours { accepted += 1 } else { rejected += 1 }
        }
        // The mutations must exercise both outcomes.
        #expect(accepted > 500 && rejected > 4000)
    }

    @Test func randomNumbersAgreeWithFoundation() {
        var generator = RandomJSON(seed: 0x5EED_0003)
        for _ in 0..<5000 {
            var text = generator.number()
            if generator.chance(30) { text = "[" + text + "]" }
            let bytes = Array(text.utf8)
            #expect(JSONValidator.isValid(bytes) == FoundationOracle.accepts(bytes), "\(text)")
        }
    }

    /// Strings are scanned eight bytes at a time: put every kind of special byte at every position of
    /// the word, and end strings at every distance from the end of the buffer.
    @Test func specialBytesAtEveryPositionOfTheWord() throws {
        let specials: [[UInt8]] = [
            Array("\\n".utf8), Array("\\u00e9".utf8), Array("\\\"".utf8), [0x09], [0x00], [0x1F], [0xC3, 0xA9],
            [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xC3], [0xED, 0xA0, 0x80], [0xFF], [0x7F], [0x20], [0x21], [0x5B], Array("\\x".utf8),
        ]
        for prefix in 0..<17 {
            for special in specials {
                for suffix in [0, 1, 7, 8, 9] {
                    for wrapped in [false, true] {
                        let content = [UInt8](repeating: UInt8(ascii: "a"), count: prefix) + special + [UInt8](repeating: UInt8(ascii: "b"), count: suffix)
                        let bytes = wrapped ? Array("[".utf8) + [0x22] + content + [0x22] + Array(",1]".utf8) : [0x22] + content + [0x22]
                        #expect(JSONValidator.isValid(bytes) == FoundationOracle.accepts(bytes) || FoundationOracle.mayBeLenient(bytes), "\(bytes)")
                        if JSONValidator.isValid(bytes), let parsed = FoundationOracle.parse(bytes) {
                            let value = try JSONValue(parsing: bytes)
                            let ours = wrapped ? value[0]?.stringValue : value.stringValue
                            let theirs = wrapped ? (parsed as? [Any])?.first as? String : parsed as? String
                            #expect(ours.map { Array($0.unicodeScalars) } == theirs.map { Array($0.unicodeScalars) })
                        }
                    }
                }
            }
        }
    }

    /// Foundation converts numbers after building the object, so an out-of-range number whose member is
    /// replaced by a later duplicate goes unnoticed. PSPF checks every number where it stands.
    @Test func outOfRangeNumberInOverwrittenMember() {
        let bytes = Array(#"{"a":1e400,"a":1}"#.utf8)
        #expect(FoundationOracle.accepts(bytes))
        #expect(throws: JSONError(code: .numberOutOfRange, offset: 5, found: UInt8(ascii: "1"), reason: "number is too large for a 64-bit float")) {
            try JSONValidator.validate(bytes)
        }
    }
}
