import PSPFCore
import PSPFJSON

/// What the dead-letter log stores for one rejected or late record: why, where it came from,
/// and the original bytes (base64), so `pspf dlq replay` can re-inject it unchanged.
///
/// Encoded as one JSON object per dead-letter record:
/// `{"reason":"malformed_input","message":"…","pipeline":"temp-stats","source":{"topic":"…",
///   "partition":0,"offset":42},"key":"dev-0001","received_ms":…,"payload_base64":"…"}`
public struct DeadLetterEnvelope: Sendable, Hashable {
    public var reason: String
    public var message: String
    public var pipeline: String
    public var sourceTopic: String
    public var partition: Int
    public var offset: Int64
    public var key: [UInt8]
    public var appendTime: Int64
    public var payload: [UInt8]

    public init(
        reason: String, message: String, pipeline: String, sourceTopic: String, partition: Int, offset: Int64,
        key: [UInt8], appendTime: Int64, payload: [UInt8]
    ) {
        self.reason = reason
        self.message = message
        self.pipeline = pipeline
        self.sourceTopic = sourceTopic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.appendTime = appendTime
        self.payload = payload
    }

    /// Builds the envelope for the input record being processed right now.
    public init(reason: String, message: String, pipeline: String, record: InputRecord) {
        self.init(
            reason: reason, message: message, pipeline: pipeline, sourceTopic: record.topicString,
            partition: record.partition, offset: record.offset, key: Array(record.key),
            appendTime: record.appendTime.milliseconds, payload: Array(record.payload))
    }

    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("reason"); writer.string(reason)
        writer.key("message"); writer.string(message)
        writer.key("pipeline"); writer.string(pipeline)
        writer.key("source")
        writer.beginObject()
        writer.key("topic"); writer.string(sourceTopic)
        writer.key("partition"); writer.number(partition)
        writer.key("offset"); writer.number(offset)
        writer.endObject()
        writer.key("key"); writer.string(String(decoding: key, as: UTF8.self))
        writer.key("received_ms"); writer.number(appendTime)
        writer.key("payload_base64"); writer.string(Base64.encode(payload))
        writer.endObject()
    }
}

/// Standard base64 (RFC 4648, with padding). Small and allocation-light; dead letters are rare.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = iterator.next()
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            output.append(b1.map { alphabet[Int(($0 & 0x0F) << 2 | (b2 ?? 0) >> 6)] } ?? UInt8(ascii: "="))
            output.append(b2.map { alphabet[Int($0 & 0x3F)] } ?? UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes standard base64; `nil` for malformed input.
    public static func decode(_ text: String) -> [UInt8]? {
        var lookup = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in alphabet.enumerated() { lookup[Int(character)] = UInt8(index) }
        let characters = Array(text.utf8).filter { $0 != UInt8(ascii: "=") }
        var output: [UInt8] = []
        output.reserveCapacity(characters.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in characters {
            let value = lookup[Int(character)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
