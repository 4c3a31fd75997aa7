extension JSONScanner {
    /// Scans a string's content; `p` is just after the opening quote and ends just after the closing one.
    /// Checks escapes, surrogate pairs, raw control characters and UTF-8 well-formedness.
    /// Returns whether the content contains escapes.
    @inline(__always)
    mutating func scanString() throws(JSONError) -> Bool {
        var escaped = false
        while true {
            #if _endian(little)
            // Eight bytes at a time while none of them is '"', '\\', a control character or non-ASCII.
            while end - p >= 8 {
                let word = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let highs: UInt64 = 0x8080_8080_8080_8080
                let quote = word ^ (ones &* 0x22)
                let backslash = word ^ (ones &* 0x5C)
                let special =
                    ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (word &- ones &* 0x20) | word
                let mask = special & highs
                if mask == 0 {
                    p += 8
                } else {
                    // The lowest flagged byte is a real hit (borrows only run upwards). Most often it is
                    // the closing quote: take it from the word rather than loading it again.
                    let shift = UInt64(mask.trailingZeroBitCount) &- 7
                    p += Int(shift >> 3)
                    if UInt8(truncatingIfNeeded: word >> shift) == UInt8(ascii: "\"") {
                        p += 1
                        return escaped
                    }
                    break
                }
            }
            #endif
            guard p < end else { throw error(.unexpectedEnd, "expected '\"' to end the string") }
            let byte = p.pointee
            if byte == UInt8(ascii: "\"") {
                p += 1
                return escaped
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                try scanEscape()
            } else if byte < 0x20 {
                throw error(.controlCharacter, "control characters in strings must be escaped")
            } else if byte >= 0x80 {
                try scanUTF8Sequence()
            } else {
                p += 1
            }
        }
    }

    /// Scans one escape; `p` is at the backslash.
    mutating func scanEscape() throws(JSONError) {
        let backslash = p
        p += 1
        guard p < end else { throw error(.unexpectedEnd, "expected an escaped character after '\\'") }
        switch p.pointee {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            p += 1
        case UInt8(ascii: "u"):
            p += 1
            let unit = try scanHex4()
            if unit & 0xFC00 == 0xD800 {
                // A high surrogate must be followed by an escaped low surrogate.
                guard end - p >= 2, p[0] == UInt8(ascii: "\\"), p[1] == UInt8(ascii: "u") else {
                    throw error(.unpairedSurrogate, at: backslash, "high surrogate escape without a low surrogate")
                }
                p += 2
                let low = try scanHex4()
                guard low & 0xFC00 == 0xDC00 else {
                    throw error(.unpairedSurrogate, at: backslash, "high surrogate escape without a low surrogate")
                }
            } else if unit & 0xFC00 == 0xDC00 {
                throw error(.unpairedSurrogate, at: backslash, "low surrogate escape without a high surrogate")
            }
        default:
            throw error(.invalidEscape, "invalid escape; expected one of \" \\ / b f n r t u")
        }
    }

    @inline(__always)
    mutating func scanHex4() throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard p < end else { throw error(.unexpectedEnd, "expected 4 hexadecimal digits after '\\u'") }
            guard let digit = hexValue(p.pointee) else {
                throw error(.invalidEscape, "expected 4 hexadecimal digits after '\\u'")
            }
            value = value << 4 | digit
            p += 1
        }
        return value
    }

    /// Checks one multi-byte UTF-8 sequence (Unicode Table 3-7: no overlong forms, no surrogates,
    /// nothing above U+10FFFF); `p` is at its first byte.
    mutating func scanUTF8Sequence() throws(JSONError) {
        let lead = p.pointee
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw error(.invalidUTF8, "invalid UTF-8 lead byte")
        }
        guard end - p >= length else { throw error(.invalidUTF8, "truncated UTF-8 sequence") }
        guard p[1] >= low && p[1] <= high else { throw error(.invalidUTF8, "invalid UTF-8 sequence") }
        for index in 2..<length where p[index] & 0xC0 != 0x80 {
            throw error(.invalidUTF8, "invalid UTF-8 sequence")
        }
        p += length
    }
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte &- UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte &- UInt8(ascii: "a") &+ 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte &- UInt8(ascii: "A") &+ 10)
    default: nil
    }
}

/// Decoding of string content that the scanner has already validated.
enum JSONString {
    /// Calls `body` with each UTF-8 byte of the unescaped content; stops early when it returns `false`.
    /// Returns `false` if stopped early.
    @inline(__always)
    static func forEachUnescapedByte(_ content: UnsafeRawBufferPointer, _ body: (UInt8) -> Bool) -> Bool {
        var index = 0
        let count = content.count
        while index < count {
            let byte = content[index]
            guard byte == UInt8(ascii: "\\") else {
                if !body(byte) { return false }
                index += 1
                continue
            }
            let kind = content[index + 1]
            index += 2
            var scalar: UInt32
            switch kind {
            case UInt8(ascii: "b"): scalar = 0x08
            case UInt8(ascii: "f"): scalar = 0x0C
            case UInt8(ascii: "n"): scalar = 0x0A
            case UInt8(ascii: "r"): scalar = 0x0D
            case UInt8(ascii: "t"): scalar = 0x09
            case UInt8(ascii: "u"):
                scalar = hex4(content, index)
                index += 4
                if scalar & 0xFC00 == 0xD800 {
                    let low = hex4(content, index + 2)
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
            default: scalar = UInt32(kind)  // " \ /
            }
            var keepGoing = true
            UTF8.encode(Unicode.Scalar(scalar)!) { unit in
                if keepGoing { keepGoing = body(unit) }
            }
            if !keepGoing { return false }
        }
        return true
    }

    @inline(__always)
    static func hex4(_ content: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 { value = value << 4 | hexValue(content[index + offset])! }
        return value
    }

    /// The text of validated string content (the bytes between the quotes).
    static func decode(_ content: UnsafeRawBufferPointer, hasEscapes: Bool) -> String {
        guard hasEscapes else { return String(decoding: content, as: UTF8.self) }
        // Unescaping never makes the content longer.
        return String(unsafeUninitializedCapacity: content.count) { buffer in
            var count = 0
            _ = forEachUnescapedByte(content) { byte in
                buffer[count] = byte
                count += 1
                return true
            }
            return count
        }
    }

    /// Whether escaped, validated content unescapes to exactly `name`'s bytes.
    static func escapedEquals(_ content: UnsafeRawBufferPointer, _ name: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let complete = forEachUnescapedByte(content) { byte in
            guard index < name.count, name[index] == byte else { return false }
            index += 1
            return true
        }
        return complete && index == name.count
    }
}
