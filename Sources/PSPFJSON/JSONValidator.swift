/// Checks that bytes are one complete JSON text as RFC 8259 defines it, without building anything.
///
/// ```swift
/// try JSONValidator.validate(#"{"device":"dev-0042","temp":21.5}"#)   // fine
/// JSONValidator.isValid(#"[1,2,]"#)                                    // false: trailing comma
/// ```
///
/// Every byte is checked: structure, string escapes, UTF-8 well-formedness, number grammar, and that
/// nothing but whitespace follows the top-level value (which may be any value, not only an object or
/// array). Beyond the RFC grammar, three limits apply (see `docs/json.md`): at most ``maximumDepth``
/// nested arrays and objects, numbers must fit in a `Double`, and `\uXXXX` surrogate escapes must pair up.
/// A byte order mark is rejected, and input must be UTF-8.
public enum JSONValidator {
    /// The deepest nesting of arrays and objects accepted; the same limit as Foundation's `JSONSerialization`.
    public static let maximumDepth = 512

    /// Throws a ``JSONError`` describing the first problem, if any.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(JSONError) {
        guard var scanner = JSONScanner(bytes) else {
            throw JSONError(code: .unexpectedEnd, offset: 0, reason: "expected a value")
        }
        try scanner.scanDocument(program: .empty, slots: nil)
    }

    /// Throws a ``JSONError`` describing the first problem, if any.
    public static func validate(_ bytes: [UInt8]) throws(JSONError) {
        let result: Result<Void, JSONError> = bytes.withUnsafeBytes { raw in Result { () throws(JSONError) in try validate(raw) } }
        try result.get()
    }

    /// Throws a ``JSONError`` describing the first problem in the text's UTF-8 bytes, if any.
    public static func validate(_ text: String) throws(JSONError) {
        var text = text
        let result: Result<Void, JSONError> = text.withUTF8 { utf8 in
            Result { () throws(JSONError) in try validate(UnsafeRawBufferPointer(utf8)) }
        }
        try result.get()
    }

    /// Whether the bytes are valid JSON.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do { try validate(bytes) } catch { return false }
        return true
    }

    /// Whether the bytes are valid JSON.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { isValid($0) }
    }

    /// Whether the text's UTF-8 bytes are valid JSON.
    public static func isValid(_ text: String) -> Bool {
        do { try validate(text) } catch { return false }
        return true
    }
}
