/// Why a payload is not acceptable JSON, and where.
///
/// Thrown by ``JSONValidator``, ``JSONFieldExtractor`` and ``JSONValue/init(parsing:)-(UnsafeRawBufferPointer)``.
/// Its ``message`` is meant for people (it becomes a dead-letter reason):
///
/// ```swift
/// do {
///     try JSONValidator.validate(#"{"a" 1}"#)
/// } catch {
///     print(error.message)   // invalid JSON at byte 5: expected ':' after object key, found '1'
///     error.code == .unexpectedByte   // true
///     error.offset                    // 5
/// }
/// ```
///
/// Creating an error does not allocate; the message is built only when asked for.
public struct JSONError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem. An extensible set of named values; compare with `==` or match in a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline let rawValue: UInt8

        @inlinable init(_ rawValue: UInt8) { self.rawValue = rawValue }

        /// The input ended inside a value, or contained no value at all.
        public static let unexpectedEnd = Code(1)
        /// A byte that cannot start or continue the expected token (a missing `:` or `,`, a trailing comma,
        /// a comment, an unquoted key, a BOM, a non-JSON whitespace character, …).
        public static let unexpectedByte = Code(2)
        /// A number that breaks the RFC 8259 grammar (leading zero, missing digits after `.`, `-` or `e`).
        public static let invalidNumber = Code(3)
        /// A syntactically valid number whose magnitude does not fit in a `Double` (it would be infinite).
        public static let numberOutOfRange = Code(4)
        /// A backslash escape other than `\" \\ \/ \b \f \n \r \t \uXXXX`.
        public static let invalidEscape = Code(5)
        /// A `\uD800`–`\uDFFF` escape that is not part of a high/low surrogate pair.
        public static let unpairedSurrogate = Code(6)
        /// Bytes that are not well-formed UTF-8 (including overlong forms and encoded surrogates).
        public static let invalidUTF8 = Code(7)
        /// A raw control character (U+0000–U+001F) inside a string; it must be escaped.
        public static let controlCharacter = Code(8)
        /// More than ``JSONValidator/maximumDepth`` nested arrays and objects.
        public static let tooDeep = Code(9)
        /// Something other than whitespace after the top-level value.
        public static let trailingContent = Code(10)

        public var description: String {
            switch rawValue {
            case 1: "unexpectedEnd"
            case 2: "unexpectedByte"
            case 3: "invalidNumber"
            case 4: "numberOutOfRange"
            case 5: "invalidEscape"
            case 6: "unpairedSurrogate"
            case 7: "invalidUTF8"
            case 8: "controlCharacter"
            case 9: "tooDeep"
            case 10: "trailingContent"
            default: "code(\(rawValue))"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// Zero-based offset of the offending byte in the input (the input's length for ``Code/unexpectedEnd``).
    public var offset: Int
    /// The byte found at ``offset``, or `nil` at the end of the input.
    public var found: UInt8?
    @usableFromInline var expectation: StaticString

    /// Creates an error. `reason` says what was expected, e.g. `"expected ':' after object key"`.
    @inlinable
    public init(code: Code, offset: Int, found: UInt8? = nil, reason: StaticString) {
        self.code = code
        self.offset = offset
        self.found = found
        self.expectation = reason
    }

    /// What was expected or what is wrong, e.g. `"expected ':' after object key"`.
    public var reason: String { expectation.description }

    /// A readable one-line message: `invalid JSON at byte 17: expected ':' after object key, found '1'`.
    public var message: String {
        var text = "invalid JSON at byte \(offset): \(reason)"
        switch found {
        case nil:
            if code == .unexpectedEnd { text += ", found end of input" }
        case let byte?:
            if byte >= 0x21 && byte <= 0x7E {
                text += ", found '\(Character(Unicode.Scalar(byte)))'"
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                text += ", found byte 0x\(byte < 16 ? "0" : "")\(hex)"
            }
        }
        return text
    }

    public var description: String { message }

    public static func == (lhs: JSONError, rhs: JSONError) -> Bool {
        lhs.code == rhs.code && lhs.offset == rhs.offset && lhs.found == rhs.found && lhs.reason == rhs.reason
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(offset)
        hasher.combine(found)
    }
}
