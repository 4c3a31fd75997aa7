/// What one configured field held in the last document given to ``JSONFieldExtractor/extract(from:into:)``.
///
/// A plain value without references: strings and containers are described by their byte range in the
/// source buffer, so reading a field never allocates. Materialise a string with
/// ``JSONFieldValues/string(at:)`` (or ``string(in:)``) only when you need one.
///
/// ```swift
/// let value = values[2]               // the "temp" field
/// if let temp = value.doubleValue { … }
/// switch value.kind { case .missing, .null: …; default: … }
/// ```
public struct JSONFieldValue: Hashable, Sendable {
    /// The JSON type of a field's value, or `missing` when the document does not contain the field.
    public enum Kind: UInt8, Hashable, Sendable, CustomStringConvertible {
        case missing, null, bool, number, string, object, array

        public var description: String {
            switch self {
            case .missing: "missing"
            case .null: "null"
            case .bool: "bool"
            case .number: "number"
            case .string: "string"
            case .object: "object"
            case .array: "array"
            }
        }
    }

    /// The value's JSON type, or `.missing`.
    @inlinable public var kind: Kind { storedKind }
    @usableFromInline var storedKind: Kind
    @usableFromInline var flags: UInt8
    @usableFromInline var start: Int
    @usableFromInline var end: Int
    @usableFromInline var storedDouble: Double
    @usableFromInline var storedInt64: Int64

    @usableFromInline static let hasEscapesFlag: UInt8 = 1
    @usableFromInline static let hasInt64Flag: UInt8 = 2
    @usableFromInline static let trueFlag: UInt8 = 4

    @inlinable
    init(kind: Kind, flags: UInt8 = 0, start: Int = 0, end: Int = 0, double: Double = 0, int64: Int64 = 0) {
        self.storedKind = kind
        self.flags = flags
        self.start = start
        self.end = end
        self.storedDouble = double
        self.storedInt64 = int64
    }

    /// A field the document does not contain.
    public static let missing = JSONFieldValue(kind: .missing)

    /// Where the value is in the source buffer. For a string, the bytes between the quotes (still escaped
    /// if ``hasEscapes``); for any other kind, the value's JSON text (an object from `{` to `}`);
    /// empty for `missing`.
    @inlinable public var byteRange: Range<Int> { start..<end }

    /// Whether a string value contains backslash escapes, so that its bytes differ from its text.
    @inlinable public var hasEscapes: Bool { flags & Self.hasEscapesFlag != 0 }

    /// The value of a `true` or `false` literal, otherwise `nil`.
    @inlinable public var boolValue: Bool? { kind == .bool ? flags & Self.trueFlag != 0 : nil }

    /// A number's value as the nearest `Double` (correctly rounded; `-0` is `-0.0`), otherwise `nil`.
    @inlinable public var doubleValue: Double? { kind == .number ? storedDouble : nil }

    /// A number's value as an `Int64` when it is an integer in range, whatever its spelling
    /// (`42`, `42.0` and `4.2e1` all give 42), otherwise `nil`.
    @inlinable public var int64Value: Int64? { flags & Self.hasInt64Flag != 0 ? storedInt64 : nil }

    /// A string value as a `String` (unescaped), otherwise `nil`. `source` must be the buffer the value
    /// was extracted from.
    public func string(in source: UnsafeRawBufferPointer) -> String? {
        guard kind == .string else { return nil }
        return JSONString.decode(UnsafeRawBufferPointer(rebasing: source[byteRange]), hasEscapes: hasEscapes)
    }
}
