import PSPFCore
import PSPFJSON

/// Turns one input record into a ``ConfigRow``: size check, JSON extraction of every field the
/// pipeline references (one pass), key, timestamp, schema, computed fields and filter.
/// Rejections throw a ``DeadLetterError`` with a precise reason; a filtered-out record yields
/// `nil`. One decoder per pipeline instance, reused for every record (no allocation per record
/// beyond strings longer than 15 UTF-8 bytes).
struct RowDecoder {
    let program: RowProgram
    private var values: JSONFieldValues
    private var row: ConfigRow

    init(program: RowProgram) {
        self.program = program
        values = program.extractor.makeValues()
        row = ConfigRow(slots: program.slotCount)
    }

    mutating func decode(_ record: InputRecord) throws -> ConfigRow? {
        guard record.payload.count <= program.maxPayloadBytes else {
            throw DeadLetterError(
                .oversized, "payload of \(record.payload.count) bytes exceeds the limit of \(program.maxPayloadBytes)")
        }
        do throws(JSONError) {
            try program.extractor.extract(from: record.payload, into: &values)
        } catch {
            throw DeadLetterError(.malformedInput, error.message)
        }

        // Key.
        switch program.key {
        case .field(let i): row.key = try keyString(field: i)
        case .topicSegment(let n): row.key = try Self.topicSegment(record.topic, n)
        case .topic: row.key = record.topicString
        }

        // Event time.
        if let (i, format) = program.timestamp {
            guard let ms = values.timestampMilliseconds(at: i, format: format) else {
                throw timestampError(field: i, format: format)
            }
            row.time = Timestamp(milliseconds: ms)
        } else {
            row.time = record.appendTime
        }

        // Schema, in declaration order, then every field into its slot.
        for i in program.schemaChecks {
            try check(field: i, program.fieldDecodings[i])
        }
        for i in 0..<program.fieldSlots.count {
            let value: RowValue
            if i == program.keyFieldIndex, values.kind(at: i) == .string {
                value = .string(row.key)  // shares the key's storage
            } else {
                value = convert(field: i, program.fieldDecodings[i])
            }
            row.values[program.fieldSlots[i]] = value
        }

        // Computed fields, with the filter as soon as what it needs is computed.
        for k in 0..<program.computed.count {
            if k == program.filterAfter, let filter = program.filter, !filter(row).isTrue { return nil }
            let value = program.computed[k].evaluate(row)
            row.values[program.computed[k].slot] = value
        }
        if program.filterAfter >= program.computed.count, let filter = program.filter, !filter(row).isTrue {
            return nil
        }
        return row
    }

    private func keyString(field i: Int) throws -> String {
        switch values.kind(at: i) {
        case .string:
            let key = values.string(at: i) ?? ""
            if key.isEmpty { throw DeadLetterError(.missingKey, "key field '\(program.fields[i])' is empty") }
            return key
        case .number: return String(decoding: values.bytes(at: i), as: UTF8.self)
        case .bool: return values.bool(at: i)! ? "true" : "false"
        case .missing, .null: throw DeadLetterError(.missingKey, "key field '\(program.fields[i])' is missing")
        case let kind:
            throw DeadLetterError(
                .missingKey, "key field '\(program.fields[i])' must be a string or a number, found \(kind)")
        }
    }

    /// Segment `n` (from 0) of a `/`-separated topic.
    static func topicSegment(_ topic: UnsafeRawBufferPointer, _ n: Int) throws -> String {
        var segment = 0
        var start = 0
        for (i, byte) in topic.enumerated() where byte == UInt8(ascii: "/") {
            if segment == n { return try nonEmpty(topic, start, i, n) }
            segment += 1
            start = i + 1
        }
        if segment == n { return try nonEmpty(topic, start, topic.count, n) }
        throw DeadLetterError(
            .missingKey, "topic '\(String(decoding: topic, as: UTF8.self))' has no segment \(n) (counting from 0)")
    }

    private static func nonEmpty(_ topic: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ n: Int) throws -> String {
        guard end > start else {
            throw DeadLetterError(
                .missingKey, "segment \(n) of topic '\(String(decoding: topic, as: UTF8.self))' is empty")
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: topic[start..<end]), as: UTF8.self)
    }

    private func timestampError(field i: Int, format: JSONTimestampFormat) -> DeadLetterError {
        let name = program.fields[i]
        let kind = values.kind(at: i)
        switch (kind, format) {
        case (.missing, _), (.null, _):
            return DeadLetterError(.missingTimestamp, "timestamp field '\(name)' is missing")
        case (.string, .rfc3339):
            return DeadLetterError(
                .missingTimestamp,
                "timestamp field '\(name)' is not a valid RFC 3339 time: '\(values.string(at: i) ?? "")'")
        case (.number, .epoch(let unit)):
            return DeadLetterError(
                .timestampOutOfRange,
                "timestamp field '\(name)' is out of range for \(unit): \(String(decoding: values.bytes(at: i), as: UTF8.self))"
            )
        case (_, .epoch(let unit)):
            return DeadLetterError(
                .missingTimestamp,
                "timestamp field '\(name)' is not a number of \(unit) since the epoch (found \(kind))")
        case (_, .rfc3339):
            return DeadLetterError(
                .missingTimestamp, "timestamp field '\(name)' is not an RFC 3339 string (found \(kind))")
        }
    }

    private func check(field i: Int, _ declared: FieldDecoding) throws {
        let kind = values.kind(at: i)
        if kind == .missing || kind == .null {
            if declared.optional { return }
            let name = program.fields[i]
            if kind == .missing { throw DeadLetterError(.schemaViolation, "required field '\(name)' is missing") }
            throw DeadLetterError(
                .schemaViolation, "field '\(name)' must be \(Self.article(declared.type)), found null")
        }
        let ok: Bool =
            switch declared.type {
            case .number: kind == .number
            case .integer: values.int64(at: i) != nil
            case .string: kind == .string
            case .boolean: kind == .bool
            case .dynamic: true
            }
        if !ok {
            let found =
                declared.type == .integer && kind == .number
                ? "\(String(decoding: values.bytes(at: i), as: UTF8.self))" : "\(kind)"
            throw DeadLetterError(
                .schemaViolation, "field '\(program.fields[i])' must be \(Self.article(declared.type)), found \(found)")
        }
    }

    private static func article(_ type: FieldDecoding.Kind) -> String {
        switch type {
        case .number: "a number"
        case .integer: "an integer"
        case .string: "a string"
        case .boolean: "a boolean"
        case .dynamic: "a value"
        }
    }

    @inline(__always)
    private func convert(field i: Int, _ declared: FieldDecoding) -> RowValue {
        let value = values[i]
        switch value.kind {
        case .missing, .null: return .null
        case .number:
            if declared.type == .integer, let v = value.int64Value { return .integer(v) }
            return .number(value.doubleValue!)
        case .string: return values.string(at: i).map(RowValue.string) ?? .null
        case .bool: return .bool(value.boolValue!)
        case .object, .array: return .composite
        }
    }
}

/// How a payload field is checked and decoded: its schema type, or `dynamic` without one.
struct FieldDecoding: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case dynamic, number, integer, string, boolean
    }
    var type: Kind
    var optional: Bool

    init(_ field: SchemaField?) {
        guard let field else {
            self.type = .dynamic
            self.optional = true
            return
        }
        self.type =
            switch field.type {
            case .number: .number
            case .integer: .integer
            case .string: .string
            case .boolean: .boolean
            }
        self.optional = field.optional
    }
}

/// Everything a ``RowDecoder`` needs, compiled once per pipeline and shared by its instances.
struct RowProgram: Sendable {
    enum Key: Sendable {
        case field(Int)
        case topicSegment(Int)
        case topic
    }

    struct Computed: Sendable {
        var slot: Int
        var evaluate: CompiledExpression
    }

    var extractor: JSONFieldExtractor
    var fields: [JSONFieldPath]
    var fieldSlots: [Int]
    /// How each field is decoded (trivial values: no reference counting per record).
    var fieldDecodings: [FieldDecoding]
    var schemaChecks: [Int]
    var key: Key
    var keyFieldIndex: Int?
    var timestamp: (Int, JSONTimestampFormat)?
    var computed: [Computed]
    var filter: CompiledExpression?
    var filterAfter: Int
    var slotCount: Int
    var maxPayloadBytes: Int
}
