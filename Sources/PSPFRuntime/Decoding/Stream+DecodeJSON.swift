import PSPFCore
import PSPFJSON

extension Stream where Element == InputRecord {
    /// Decodes each record's JSON payload into a value with a fast, strict (RFC 8259) field
    /// extractor: the whole payload is validated, only the named fields are read, and nothing
    /// is allocated per record beyond what `build` creates.
    ///
    /// Invalid JSON goes to the dead letters as `malformed_input`, an oversized payload as
    /// `oversized`; `build` reports missing or mistyped fields by throwing (the accessors of
    /// ``JSONRecordFields`` do it for you).
    ///
    /// ```swift
    /// Pipeline("temp-stats").records()
    ///     .decodeJSON(fields: ["device", "ts", "temp"]) { f in
    ///         Reading(device: try f.string(0), ts: try f.timestamp(1), temp: try f.double(2))
    ///     }
    /// ```
    public func decodeJSON<T>(
        fields: [JSONFieldPath], maxPayloadBytes: Int = 256 << 10,
        _ build: @escaping @Sendable (borrowing JSONRecordFields) throws -> T
    ) -> Stream<T> {
        let extractor = JSONFieldExtractor(fields: fields)
        return tryMap(makingTransform: {
            var values = extractor.makeValues()
            return { record in
                guard record.payload.count <= maxPayloadBytes else {
                    throw DeadLetterError(
                        .oversized, "payload of \(record.payload.count) bytes exceeds the limit of \(maxPayloadBytes)")
                }
                do throws(JSONError) {
                    try extractor.extract(from: record.payload, into: &values)
                } catch {
                    throw DeadLetterError(.malformedInput, error.message)
                }
                return try build(JSONRecordFields(values: values, paths: extractor.fields, record: record))
            }
        })
    }
}

/// The extracted fields of one payload, with accessors that throw a ``DeadLetterError``
/// naming the field when it is missing or of the wrong type. Valid only inside the `build`
/// closure of ``Stream/decodeJSON(fields:maxPayloadBytes:_:)``.
public struct JSONRecordFields: ~Copyable {
    public let values: JSONFieldValues
    public let paths: [JSONFieldPath]
    /// The record being decoded (topic, key, offsets).
    public let record: InputRecord

    /// The field's string value.
    public func string(_ field: Int) throws -> String {
        guard let value = values.string(at: field) else { throw mismatch(field, expected: "a string") }
        return value
    }

    /// The field's number.
    public func double(_ field: Int) throws -> Double {
        guard let value = values.double(at: field) else { throw mismatch(field, expected: "a number") }
        return value
    }

    /// The field's number, or `nil` when the field is missing or null.
    public func optionalDouble(_ field: Int) throws -> Double? {
        switch values.kind(at: field) {
        case .missing, .null: return nil
        default: return try double(field)
        }
    }

    /// The field as an integer.
    public func int64(_ field: Int) throws -> Int64 {
        guard let value = values.int64(at: field) else { throw mismatch(field, expected: "an integer") }
        return value
    }

    /// The field as an event time: epoch milliseconds by default, or the given format.
    public func timestamp(_ field: Int, format: JSONTimestampFormat = .epoch(.milliseconds)) throws -> Timestamp {
        guard let milliseconds = values.timestampMilliseconds(at: field, format: format) else {
            let kind = values.kind(at: field)
            if kind == .missing || kind == .null {
                throw DeadLetterError(.missingTimestamp, "timestamp field '\(paths[field])' is missing")
            }
            throw DeadLetterError(
                .missingTimestamp, "timestamp field '\(paths[field])' is not \(Self.describe(format)) (found \(kind))")
        }
        return Timestamp(milliseconds: milliseconds)
    }

    private func mismatch(_ field: Int, expected: String) -> DeadLetterError {
        let kind = values.kind(at: field)
        if kind == .missing {
            return DeadLetterError(.schemaViolation, "required field '\(paths[field])' is missing")
        }
        return DeadLetterError(.schemaViolation, "field '\(paths[field])' must be \(expected), found \(kind)")
    }

    private static func describe(_ format: JSONTimestampFormat) -> String {
        switch format {
        case .epoch(let unit): "a number of \(unit) since the epoch"
        case .rfc3339: "an RFC 3339 string"
        }
    }
}
