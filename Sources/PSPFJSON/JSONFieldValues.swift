/// Reusable storage for the fields one ``JSONFieldExtractor`` finds in one document.
///
/// Create it once per consumer with ``JSONFieldExtractor/makeValues()`` and pass it to every
/// ``JSONFieldExtractor/extract(from:into:)`` call: extraction overwrites it in place without allocating.
/// Index it with the position of the field in the extractor's list:
///
/// ```swift
/// let extractor = JSONFieldExtractor(fields: ["device", "ts", "temp"])
/// var values = extractor.makeValues()
/// try payload.withUnsafeBytes { bytes in
///     try extractor.extract(from: bytes, into: &values)
///     let device = values.string(at: 0)      // "dev-0042"
///     let ts = values.int64(at: 1)           // 1732406400123
///     let temp = values.double(at: 2)        // 21.53
/// }
/// ```
///
/// Strings and containers refer to the source buffer by offset. The accessors that read bytes
/// (``string(at:)``, ``bytes(at:)``, ``timestampMilliseconds(at:format:)``) use the buffer of the last
/// extraction, so call them only while that buffer is still alive. That is also why this type is not
/// `Sendable`. After a failed extraction the contents are unspecified.
public struct JSONFieldValues {
    @usableFromInline var slots: [JSONFieldValue]
    @usableFromInline var slotOfField: [Int]
    var program: JSONFieldProgram?
    /// The buffer of the last extraction (empty before the first one).
    public internal(set) var source: UnsafeRawBufferPointer

    /// Empty storage; the first extraction sizes it for its extractor.
    public init() {
        slots = []
        slotOfField = []
        program = nil
        source = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    init(program: JSONFieldProgram) {
        slots = Array(repeating: .missing, count: program.slotCount)
        slotOfField = program.slotOfField
        self.program = program
        source = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// The number of configured fields.
    @inlinable public var count: Int { slotOfField.count }

    /// The value of the field at `field`, its position in the extractor's field list.
    @inlinable public subscript(field: Int) -> JSONFieldValue { slots[slotOfField[field]] }

    /// The kind of the field's value (`.missing` if the document does not contain it).
    @inlinable public func kind(at field: Int) -> JSONFieldValue.Kind { self[field].kind }

    /// The field's number as a `Double`, or `nil` if it is not a number.
    @inlinable public func double(at field: Int) -> Double? { self[field].doubleValue }

    /// The field's number as an `Int64` if it is an integer in range, otherwise `nil`.
    @inlinable public func int64(at field: Int) -> Int64? { self[field].int64Value }

    /// The field's `true`/`false`, or `nil` if it is not a boolean.
    @inlinable public func bool(at field: Int) -> Bool? { self[field].boolValue }

    /// The field's string, unescaped, or `nil` if it is not a string. Strings of up to 15 UTF-8 bytes are
    /// stored inline by Swift and do not allocate.
    public func string(at field: Int) -> String? { self[field].string(in: source) }

    /// The field's bytes in the source buffer: a string's content between the quotes (still escaped if
    /// ``JSONFieldValue/hasEscapes``), or any other value's JSON text. Empty when missing.
    @inlinable public func bytes(at field: Int) -> UnsafeRawBufferPointer {
        let value = self[field]
        guard value.kind != .missing else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: source[value.byteRange])
    }

    mutating func prepare(for program: JSONFieldProgram) {
        if self.program !== program {
            self = JSONFieldValues(program: program)
        }
    }
}

@available(*, unavailable, message: "JSONFieldValues refers to the source buffer of the last extraction")
extension JSONFieldValues: Sendable {}
