import PSPFJSON

extension DeadLetterEnvelope {
    /// Reads an envelope back from its dead-letter record payload (the JSON written by
    /// ``encode(into:)``); `nil` if the payload is not an envelope.
    public init?(json payload: UnsafeRawBufferPointer) {
        guard let value = try? JSONValue(parsing: payload),
            let reason = value["reason"]?.stringValue,
            let source = value["source"],
            let payloadText = value["payload_base64"]?.stringValue,
            let original = Base64.decode(payloadText)
        else { return nil }
        self.init(
            reason: reason, message: value["message"]?.stringValue ?? "",
            pipeline: value["pipeline"]?.stringValue ?? "", sourceTopic: source["topic"]?.stringValue ?? "",
            partition: Int(source["partition"]?.int64Value ?? 0), offset: source["offset"]?.int64Value ?? 0,
            key: Array((value["key"]?.stringValue ?? "").utf8), appendTime: value["received_ms"]?.int64Value ?? 0,
            payload: original)
    }
}
