/// Validates JSON payloads and picks out a fixed set of fields in the same single pass.
///
/// Compile the extractor once from the configured paths, make one ``JSONFieldValues`` per consumer,
/// and reuse both for every payload; extraction does not allocate.
///
/// ```swift
/// let extractor = JSONFieldExtractor(fields: ["device", "ts", "temp", "meta.site"])
/// var values = extractor.makeValues()
///
/// let payload = Array(#"{"device":"dev-0042","ts":1732406400123,"temp":21.53,"meta":{"site":"b7"}}"#.utf8)
/// try payload.withUnsafeBytes { bytes in
///     try extractor.extract(from: bytes, into: &values)
///     values.string(at: 0)     // "dev-0042"
///     values.int64(at: 1)      // 1732406400123
///     values.double(at: 2)     // 21.53
///     values.string(at: 3)     // "b7"
/// }
/// ```
///
/// The whole document is validated exactly like ``JSONValidator/validate(_:)-(UnsafeRawBufferPointer)``,
/// including the parts that hold no configured field; an invalid document throws a ``JSONError``.
/// When a member name occurs more than once in an object, the last occurrence wins (as with
/// Foundation's `JSONSerialization`): an earlier value, and everything extracted from inside it, is
/// forgotten. Fields are only looked up in objects; if the top-level value or an intermediate
/// member is not an object, the fields below it are `missing`.
public struct JSONFieldExtractor: Sendable {
    /// The configured paths, in the order ``JSONFieldValues`` is indexed.
    public let fields: [JSONFieldPath]
    let program: JSONFieldProgram

    /// Compiles the paths. The same path may be listed twice; both positions then report the same value.
    public init(fields: [JSONFieldPath]) {
        self.fields = fields
        self.program = JSONFieldProgram(fields: fields)
    }

    /// Storage sized for this extractor's fields.
    public func makeValues() -> JSONFieldValues {
        JSONFieldValues(program: program)
    }

    /// The position of `path` in ``fields``, for indexing ``JSONFieldValues``.
    public func index(of path: JSONFieldPath) -> Int? {
        fields.firstIndex(of: path)
    }

    /// Validates `bytes` as one JSON text and fills `values` with the configured fields.
    ///
    /// `values` keeps a reference to `bytes` for its string accessors; see ``JSONFieldValues``.
    public func extract(from bytes: UnsafeRawBufferPointer, into values: inout JSONFieldValues) throws(JSONError) {
        values.prepare(for: program)
        values.source = bytes
        guard var scanner = JSONScanner(bytes) else {
            throw JSONError(code: .unexpectedEnd, offset: 0, reason: "expected a value")
        }
        let program = self.program
        try values.slots.withUnsafeMutableBufferPointer { (slots) throws(JSONError) in
            // Not `.missing`: a static property costs a lazy-initialisation check per access.
            for index in slots.indices { slots[index] = JSONFieldValue(kind: .missing) }
            try scanner.scanDocument(program: program, slots: slots.baseAddress)
        }
    }
}
