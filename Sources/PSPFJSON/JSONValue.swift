/// A parsed JSON document as a tree, for configuration, tests and displaying dead letters.
///
/// Not meant for the record hot path (use ``JSONFieldExtractor`` there): it allocates per node.
/// Parsing accepts exactly what ``JSONValidator`` accepts.
///
/// ```swift
/// let value = try JSONValue(parsing: #"{"device":"dev-1","meta":{"site":"b7"},"temps":[21.5,22]}"#)
/// value["device"]?.stringValue            // "dev-1"
/// value[JSONFieldPath("meta.site")]       // .string("b7")
/// value["temps"]?[1]                      // .integer(22)
/// value.jsonText                          // compact JSON again
/// ```
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in an `Int64` (`42`, `-0`).
    case integer(Int64)
    /// Any other number, correctly rounded (`21.5`, `1e2`, `18446744073709551616`).
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order. A name that occurs more than once keeps the position of its first
    /// occurrence and the value of its last, like the "last one wins" rule of ``JSONFieldExtractor``.
    case object([(key: String, value: JSONValue)])

    /// Parses one JSON text.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(JSONError) {
        try JSONValidator.validate(bytes)
        var scanner = JSONScanner(bytes)!
        self = scanner.buildValue()
    }

    /// Parses one JSON text.
    public init(parsing bytes: [UInt8]) throws(JSONError) {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONError) in try JSONValue(parsing: raw) }
        }
        self = try result.get()
    }

    /// Parses one JSON text from the string's UTF-8 bytes.
    public init(parsing text: String) throws(JSONError) {
        var text = text
        let result: Result<JSONValue, JSONError> = text.withUTF8 { utf8 in
            Result { () throws(JSONError) in try JSONValue(parsing: UnsafeRawBufferPointer(utf8)) }
        }
        self = try result.get()
    }

    /// The value of the member named `key` if this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The element at `index` if this is an array that long.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The value at a dotted path through nested objects, as ``JSONFieldExtractor`` would find it.
    public subscript(path: JSONFieldPath) -> JSONValue? {
        var current: JSONValue? = self
        for component in path.components { current = current?[component] }
        return current
    }

    public var isNull: Bool { self == .null }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Either kind of number as a `Double`.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// Either kind of number as an `Int64` if it is an integer in range.
    public var int64Value: Int64? {
        switch self {
        case .integer(let value): value
        case .number(let value): Int64(exactly: value)
        default: nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [(key: String, value: JSONValue)]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Compact JSON text for this value.
    public var jsonText: String {
        var writer = JSONWriter()
        writer.value(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    public var description: String { jsonText }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }
}

extension JSONScanner {
    /// Builds the value at `p` from a document that has already been validated.
    mutating func buildValue() -> JSONValue {
        skipWhitespace()
        let first = p
        switch p.pointee {
        case UInt8(ascii: "\""):
            p += 1
            let escaped = try! scanString()
            return .string(JSONString.decode(UnsafeRawBufferPointer(start: first + 1, count: p - 1 - (first + 1)), hasEscapes: escaped))
        case UInt8(ascii: "t"):
            p += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            p += 5
            return .bool(false)
        case UInt8(ascii: "n"):
            p += 4
            return .null
        case UInt8(ascii: "["):
            p += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if p.pointee == UInt8(ascii: "]") {
                p += 1
                return .array(elements)
            }
            while true {
                elements.append(buildValue())
                skipWhitespace()
                let separator = p.pointee
                p += 1
                if separator == UInt8(ascii: "]") { return .array(elements) }
            }
        case UInt8(ascii: "{"):
            p += 1
            var members: [(key: String, value: JSONValue)] = []
            var positions: [String: Int] = [:]
            skipWhitespace()
            if p.pointee == UInt8(ascii: "}") {
                p += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard case .string(let key) = buildValue() else { preconditionFailure("validated object key") }
                skipWhitespace()
                p += 1  // ':'
                let value = buildValue()
                if let position = positions[key] {
                    members[position].value = value
                } else {
                    positions[key] = members.count
                    members.append((key, value))
                }
                skipWhitespace()
                let separator = p.pointee
                p += 1
                if separator == UInt8(ascii: "}") { return .object(members) }
            }
        default:
            let number = try! scanNumber()
            if number.isIntegerLiteral, let integer = number.int64Value { return .integer(integer) }
            return .number(number.doubleValue(text: UnsafeRawBufferPointer(start: first, count: p - first)))
        }
    }
}
