import PSPFJSON

/// An MQTT topic with placeholders filled from each result's JSON fields: `agg/{key}`,
/// `pspf/{pipeline}/{key}`, `sites/{meta.site}/{id}`. Every placeholder names a field of the
/// result object (`id`, `pipeline`, `key`, `window_start`, an aggregate column, or any dotted path).
///
/// Substituted values are sanitised so that a value can never change the topic's shape: `/`,
/// `+`, `#`, NUL and other control characters become `_`, a `$` at the very start of the topic
/// becomes `_` (topics starting with `$` are reserved for the broker), a missing, `null` or
/// empty value renders as `_`, and a value is cut to at most `maxValueBytes` UTF-8 bytes (on a
/// character boundary).
///
/// ```swift
/// let template = try TopicTemplate("agg/{pipeline}/{key}")
/// template.render(payload: #"{"pipeline":"temp","key":"dev/1+#"}"#)   // "agg/temp/dev_1__"
/// ```
public struct TopicTemplate: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case literal([UInt8])
        case field(Int)
    }

    /// The template as written.
    public let template: String
    /// The fields its placeholders name, in order of first appearance.
    public let fields: [JSONFieldPath]
    /// The longest substituted value, in UTF-8 bytes.
    public let maxValueBytes: Int
    let parts: [Part]

    /// Parses `template`. Throws ``ConnectorError/Code/invalidConfiguration`` for an empty
    /// template, unbalanced braces, an empty placeholder, or a wildcard (`+`, `#`) or NUL outside
    /// placeholders.
    public init(_ template: String, maxValueBytes: Int = 128) throws(ConnectorError) {
        func invalid(_ why: String) -> ConnectorError {
            ConnectorError(.invalidConfiguration, "topic template '\(template)': \(why)")
        }
        guard !template.isEmpty else { throw invalid("is empty") }
        guard maxValueBytes >= 1 else { throw invalid("maxValueBytes must be at least 1") }
        var parts: [Part] = []
        var fields: [JSONFieldPath] = []
        var literal: [UInt8] = []
        var name: [UInt8]?
        for byte in template.utf8 {
            if var current = name {
                switch byte {
                case UInt8(ascii: "}"):
                    guard !current.isEmpty else { throw invalid("empty placeholder {}") }
                    let path = JSONFieldPath(String(decoding: current, as: UTF8.self))
                    if !fields.contains(path) { fields.append(path) }
                    parts.append(.field(fields.firstIndex(of: path)!))
                    name = nil
                case UInt8(ascii: "{"):
                    throw invalid("'{' inside a placeholder")
                default:
                    current.append(byte)
                    name = current
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "{"):
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = []
                name = []
            case UInt8(ascii: "}"):
                throw invalid("'}' without '{'")
            case UInt8(ascii: "+"), UInt8(ascii: "#"):
                throw invalid("wildcards (+, #) are not allowed in a topic to publish to")
            case 0:
                throw invalid("NUL is not allowed in a topic")
            default:
                literal.append(byte)
            }
        }
        if name != nil { throw invalid("unclosed '{'") }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        let literalBytes = parts.reduce(0) { total, part in
            if case .literal(let bytes) = part { return total + bytes.count }
            return total
        }
        let placeholders = parts.count { if case .field = $0 { true } else { false } }
        guard literalBytes + placeholders * maxValueBytes <= 65_535 else {
            throw invalid("can render topics longer than MQTT's 65535 bytes; shorten it or lower maxValueBytes")
        }
        self.template = template
        self.fields = fields
        self.parts = parts
        self.maxValueBytes = maxValueBytes
    }

    public var description: String { template }

    public static func == (lhs: TopicTemplate, rhs: TopicTemplate) -> Bool {
        lhs.template == rhs.template && lhs.maxValueBytes == rhs.maxValueBytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(template)
        hasher.combine(maxValueBytes)
    }

    /// The topic for one result (a JSON object). Convenient; a sink uses a ``Renderer``.
    public func render(payload: String) -> String {
        var renderer = Renderer(self)
        var payload = payload
        return payload.withUTF8 { renderer.render(payload: UnsafeRawBufferPointer($0)).topic }
    }

    /// Renders topics without allocating beyond the result string: one per consumer.
    public struct Renderer {
        public let template: TopicTemplate
        private let extractor: JSONFieldExtractor?
        private var values: JSONFieldValues
        private var buffer: [UInt8] = []

        public init(_ template: TopicTemplate) {
            self.template = template
            let extractor = template.fields.isEmpty ? nil : JSONFieldExtractor(fields: template.fields)
            self.extractor = extractor
            self.values = extractor?.makeValues() ?? JSONFieldValues()
            buffer.reserveCapacity(256)
        }

        /// The topic for `payload`, and how many placeholders had no value (rendered `_`).
        public mutating func render(payload: UnsafeRawBufferPointer) -> (topic: String, unresolved: Int) {
            var parsed = false
            if let extractor {
                parsed = (try? extractor.extract(from: payload, into: &values)) != nil
            }
            buffer.removeAll(keepingCapacity: true)
            var unresolved = 0
            for part in template.parts {
                switch part {
                case .literal(let bytes):
                    buffer.append(contentsOf: bytes)
                case .field(let index):
                    let atStart = buffer.isEmpty
                    guard parsed else {
                        unresolved += 1
                        buffer.append(UInt8(ascii: "_"))
                        continue
                    }
                    let value = values[index]
                    switch value.kind {
                    case .missing, .null:
                        unresolved += 1
                        buffer.append(UInt8(ascii: "_"))
                    case .string where value.hasEscapes:
                        var text = values.string(at: index) ?? ""
                        text.withUTF8 { append(sanitising: UnsafeRawBufferPointer($0), atStart: atStart) }
                    default:
                        append(sanitising: values.bytes(at: index), atStart: atStart)
                    }
                }
            }
            return (String(decoding: buffer, as: UTF8.self), unresolved)
        }

        private mutating func append(sanitising value: UnsafeRawBufferPointer, atStart: Bool) {
            var count = Swift.min(value.count, template.maxValueBytes)
            if count < value.count {
                // Cut on a character boundary: drop continuation bytes of a split character.
                while count > 0, value[count] & 0xC0 == 0x80 { count -= 1 }
            }
            guard count > 0 else {
                buffer.append(UInt8(ascii: "_"))
                return
            }
            for index in 0..<count {
                let byte = value[index]
                switch byte {
                case UInt8(ascii: "/"), UInt8(ascii: "+"), UInt8(ascii: "#"), 0..<0x20, 0x7F:
                    buffer.append(UInt8(ascii: "_"))
                case UInt8(ascii: "$") where atStart && index == 0:
                    buffer.append(UInt8(ascii: "_"))
                default:
                    buffer.append(byte)
                }
            }
        }
    }
}
