import PSPFJSON

/// Reads a message's key, event time and de-duplication identity from its topic and payload,
/// with one pass of PSPFJSON's validating extractor over the payload when any of them is a
/// payload field (none at all for a topic-segment key without event time).
///
/// Not thread-safe; the views it returns point into the message (or into its own scratch
/// buffer) and are valid until the next call.
final class IngestFieldReader {
    struct Fields {
        /// The record key.
        var key: UnsafeRawBufferPointer
        var eventTime: Int64?
        /// The identity field's JSON text (``Deduplication/Identity/payloadField(_:)``), if present.
        var identity: UnsafeRawBufferPointer?
    }

    enum Failure: Error {
        /// The key could not be extracted; the text says why.
        case missingKey(String)
    }

    let keySource: IngestKey
    let timeFormat: JSONTimestampFormat?
    private let extractor: JSONFieldExtractor?
    private var values: JSONFieldValues
    private let keyIndex: Int?
    private let timeIndex: Int?
    private let identityIndex: Int?
    /// Holds an unescaped key (a JSON string key with backslash escapes).
    private var scratch: UnsafeMutableRawBufferPointer

    init(configuration: MQTTIngestConfiguration) {
        let fields = configuration.payloadFields
        let extractor = fields.isEmpty ? nil : JSONFieldExtractor(fields: fields)
        self.extractor = extractor
        self.values = extractor?.makeValues() ?? JSONFieldValues()
        self.keySource = configuration.key
        self.timeFormat = configuration.eventTime?.format
        if case .payloadField(let path) = configuration.key { keyIndex = fields.firstIndex(of: path) } else { keyIndex = nil }
        timeIndex = configuration.eventTime.flatMap { fields.firstIndex(of: $0.path) }
        if case .payloadField(let path) = configuration.deduplication.identity {
            identityIndex = fields.firstIndex(of: path)
        } else {
            identityIndex = nil
        }
        scratch = .allocate(byteCount: 256, alignment: 1)
    }

    deinit { scratch.deallocate() }

    /// Reads the fields of one message.
    func read(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> Result<Fields, Failure> {
        var jsonError: JSONError?
        var extracted = false
        if let extractor {
            do {
                try extractor.extract(from: payload, into: &values)
                extracted = true
            } catch {
                jsonError = error
            }
        }
        let key: UnsafeRawBufferPointer
        switch keySource {
        case .topicSegment(let index):
            guard let segment = Self.segment(index, of: topic) else {
                return .failure(.missingKey("topic '\(String(decoding: topic, as: UTF8.self))' has no level \(index)"))
            }
            guard !segment.isEmpty else {
                return .failure(.missingKey("level \(index) of topic '\(String(decoding: topic, as: UTF8.self))' is empty"))
            }
            key = segment
        case .topic:
            guard !topic.isEmpty else { return .failure(.missingKey("the topic is empty")) }
            key = topic
        case .payloadField(let path):
            if let jsonError {
                return .failure(.missingKey("key field '\(path)': the payload is not valid JSON: \(jsonError.message)"))
            }
            switch keyBytes(field: keyIndex!) {
            case .success(let bytes): key = bytes
            case .failure(let reason): return .failure(.missingKey("key field '\(path)' \(reason)"))
            }
        }
        guard key.count <= 0xFFFF else {
            return .failure(.missingKey("the key is \(key.count) bytes; at most 65535 are allowed"))
        }
        var fields = Fields(key: key)
        if extracted {
            if let timeIndex { fields.eventTime = eventTime(field: timeIndex) }
            if let identityIndex, values.kind(at: identityIndex) != .missing, values.kind(at: identityIndex) != .null {
                fields.identity = values.bytes(at: identityIndex)
            }
        }
        return .success(fields)
    }

    /// The identity field's JSON text in a stored payload (for rebuilding the de-duplication
    /// state from the log), or `nil` if the payload has none.
    func identity(inPayload payload: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let extractor, let identityIndex else { return nil }
        do {
            try extractor.extract(from: payload, into: &values)
        } catch {
            return nil
        }
        let kind = values.kind(at: identityIndex)
        guard kind != .missing, kind != .null else { return nil }
        return values.bytes(at: identityIndex)
    }

    private enum KeyFailure: Error, CustomStringConvertible {
        case missing, wrongKind(JSONFieldValue.Kind), empty
        var description: String {
            switch self {
            case .missing: "is missing"
            case .wrongKind(let kind): "is a JSON \(kind); a string or a number is needed"
            case .empty: "is empty"
            }
        }
    }

    private func keyBytes(field: Int) -> Result<UnsafeRawBufferPointer, KeyFailure> {
        let value = values[field]
        switch value.kind {
        case .missing: return .failure(.missing)
        case .string:
            guard value.hasEscapes else {
                let bytes = values.bytes(at: field)
                return bytes.isEmpty ? .failure(.empty) : .success(bytes)
            }
            guard var text = values.string(at: field), !text.isEmpty else { return .failure(.empty) }
            return .success(text.withUTF8 { utf8 in
                if utf8.count > scratch.count {
                    scratch.deallocate()
                    scratch = .allocate(byteCount: utf8.count, alignment: 1)
                }
                scratch.copyMemory(from: UnsafeRawBufferPointer(utf8))
                return UnsafeRawBufferPointer(rebasing: scratch[0..<utf8.count])
            })
        case .number: return .success(values.bytes(at: field))
        default: return .failure(.wrongKind(value.kind))
        }
    }

    private func eventTime(field: Int) -> Int64? {
        if let timeFormat { return values.timestampMilliseconds(at: field, format: timeFormat) }
        switch values.kind(at: field) {
        case .number: return values.timestampMilliseconds(at: field, format: .epoch(.milliseconds))
        case .string: return values.timestampMilliseconds(at: field, format: .rfc3339)
        default: return nil
        }
    }

    /// Level `index` (from 0) of an MQTT topic, as a view into it.
    static func segment(_ index: Int, of topic: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var level = 0
        var start = 0
        let slash = UInt8(ascii: "/")
        for position in 0..<topic.count where topic[position] == slash {
            if level == index { return UnsafeRawBufferPointer(rebasing: topic[start..<position]) }
            level += 1
            start = position + 1
        }
        return level == index ? UnsafeRawBufferPointer(rebasing: topic[start..<topic.count]) : nil
    }
}
