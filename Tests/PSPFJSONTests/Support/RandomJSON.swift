/// A small, fast, seeded generator (SplitMix64) so that every run tests the same inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes random, valid JSON text: nested objects and arrays, strings with every kind of escape and
/// non-ASCII text, numbers in every spelling, and random whitespace between tokens.
struct RandomJSON {
    var rng: SplitMix64
    /// Object member names come from a small pool so that documents contain duplicates.
    let names = ["a", "b", "c", "dev", "temp", "ts", "x", "meta", "site", ""]
    /// Whether numbers may have exponents near ±308, where some overflow a `Double` (and are rejected).
    var nearLimitExponents = true

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

    mutating func whitespace() -> String {
        guard chance(20) else { return "" }
        return String((0..<Int.random(in: 1...3, using: &rng)).map { _ in [" ", "\t", "\n", "\r"].randomElement(using: &rng)! })
    }

    mutating func document(depth: Int = 0, topLevelObject: Bool = false) -> String {
        whitespace() + (topLevelObject ? object(depth: depth) : value(depth: depth)) + whitespace()
    }

    mutating func value(depth: Int) -> String {
        let choice = Int.random(in: 0..<(depth >= 4 ? 6 : 8), using: &rng)
        switch choice {
        case 0: return "null"
        case 1: return chance(50) ? "true" : "false"
        case 2, 3: return number()
        case 4, 5: return string()
        case 6: return array(depth: depth + 1)
        default: return object(depth: depth + 1)
        }
    }

    mutating func array(depth: Int) -> String {
        let count = Int.random(in: 0...4, using: &rng)
        let elements = (0..<count).map { _ in whitespace() + value(depth: depth) + whitespace() }
        return "[" + (count == 0 ? whitespace() : elements.joined(separator: ",")) + "]"
    }

    mutating func object(depth: Int) -> String {
        let count = Int.random(in: 0...5, using: &rng)
        let members = (0..<count).map { _ in
            whitespace() + memberName() + whitespace() + ":" + whitespace() + value(depth: depth) + whitespace()
        }
        return "{" + (count == 0 ? whitespace() : members.joined(separator: ",")) + "}"
    }

    mutating func memberName() -> String {
        let name = names.randomElement(using: &rng)!
        guard chance(10), let first = name.unicodeScalars.first else { return "\"\(name)\"" }
        // Spell the first letter as an escape: "\u0074emp" is the name "temp".
        let hex = String(first.value, radix: 16)
        return "\"\\u" + String(repeating: "0", count: 4 - hex.count) + hex + String(name.dropFirst()) + "\""
    }

    mutating func string() -> String {
        var text = "\""
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            switch Int.random(in: 0..<12, using: &rng) {
            case 0: text += ["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"].randomElement(using: &rng)!
            case 1:
                // A BMP escape outside the surrogate range, in either case.
                var unit = UInt32.random(in: 0...0xFFFF, using: &rng)
                if (0xD800...0xDFFF).contains(unit) { unit = 0x41 }
                let hex = String(unit, radix: 16, uppercase: chance(50))
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            case 2: text += ["\\ud83d\\ude00", "\\uD834\\uDD1E", "\\uDBFF\\uDFFF", "\\ud800\\udc00"].randomElement(using: &rng)!
            case 3: text += ["é", "€", "😀", "\u{2028}", "\u{FFFD}", "\u{7F}", "日本", "\u{10FFFD}"].randomElement(using: &rng)!
            default:
                let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789 -_.:{}[],")
                text.append(letters.randomElement(using: &rng)!)
            }
        }
        return text + "\""
    }

    mutating func number() -> String {
        var text = chance(30) ? "-" : ""
        if chance(20) {
            text += "0"
        } else {
            text += String(Int.random(in: 1...9, using: &rng))
            for _ in 0..<Int.random(in: 0...(chance(10) ? 24 : 6), using: &rng) { text += String(Int.random(in: 0...9, using: &rng)) }
        }
        if chance(40) {
            text += "."
            for _ in 0..<Int.random(in: 1...(chance(10) ? 24 : 4), using: &rng) { text += String(Int.random(in: 0...9, using: &rng)) }
        }
        if chance(25) {
            text += chance(50) ? "e" : "E"
            text += ["", "+", "-"].randomElement(using: &rng)!
            let exponent = nearLimitExponents && chance(20) ? Int.random(in: 280...340, using: &rng) : Int.random(in: 0...30, using: &rng)
            text += (chance(10) ? "0" : "") + String(exponent)
        }
        return text
    }

    /// A copy of `bytes` with one random edit: most results are invalid, some stay valid.
    mutating func mutate(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let interesting: [UInt8] = Array("{}[]:,\"\\ 0-+.eE1tfnu/*".utf8) + [0x00, 0x09, 0x0A, 0x0C, 0x0D, 0x1F, 0x7F, 0x80, 0xA0, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0 where !bytes.isEmpty: bytes.remove(at: position)
        case 1: bytes.insert(interesting.randomElement(using: &rng)!, at: position)
        case 2 where !bytes.isEmpty: bytes[position] = interesting.randomElement(using: &rng)!
        case 3 where !bytes.isEmpty: bytes.removeSubrange(position...)
        case 4 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int.random(in: 1...6, using: &rng))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)
        }
        return bytes
    }
}
