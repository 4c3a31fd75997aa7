import PSPFJSON

/// What one field held, materialised so that it outlives the source buffer.
enum Extracted: Equatable, CustomStringConvertible {
    case missing
    case null
    case bool(Bool)
    case number(Double, Int64?)
    case string(String, escaped: Bool)
    case object(String)
    case array(String)

    var description: String {
        switch self {
        case .missing: "missing"
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .number(let double, let integer): "number(\(double), \(integer.map(String.init) ?? "nil"))"
        case .string(let text, let escaped): "string(\(text.debugDescription)\(escaped ? ", escaped" : ""))"
        case .object(let text): "object(\(text))"
        case .array(let text): "array(\(text))"
        }
    }

    static func == (lhs: Extracted, rhs: Extracted) -> Bool {
        switch (lhs, rhs) {
        case (.missing, .missing), (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a, let x), .number(let b, let y)): a.bitPattern == b.bitPattern && x == y
        case (.string(let a, let x), .string(let b, let y)): a == b && x == y
        case (.object(let a), .object(let b)), (.array(let a), .array(let b)): a == b
        default: false
        }
    }
}

/// Extracts `fields` from `text` and materialises every value.
func extract(_ fields: [JSONFieldPath], from text: String) throws(JSONError) -> [Extracted] {
    try extract(JSONFieldExtractor(fields: fields), from: Array(text.utf8))
}

func extract(_ extractor: JSONFieldExtractor, from bytes: [UInt8]) throws(JSONError) -> [Extracted] {
    var values = extractor.makeValues()
    return try extract(extractor, from: bytes, into: &values)
}

func extract(_ extractor: JSONFieldExtractor, from bytes: [UInt8], into values: inout JSONFieldValues) throws(JSONError) -> [Extracted] {
    let result: Result<[Extracted], JSONError> = bytes.withUnsafeBytes { raw in
        Result { () throws(JSONError) in
            try extractor.extract(from: raw, into: &values)
            return (0..<values.count).map { index in
                let value = values[index]
                let text = String(decoding: values.bytes(at: index), as: UTF8.self)
                switch value.kind {
                case .missing: return .missing
                case .null: return .null
                case .bool: return .bool(value.boolValue!)
                case .number: return .number(value.doubleValue!, value.int64Value)
                case .string: return .string(values.string(at: index)!, escaped: value.hasEscapes)
                case .object: return .object(text)
                case .array: return .array(text)
                }
            }
        }
    }
    return try result.get()
}
