import PSPFJSON

/// One fired window: which pipeline, key and window, how many elements, and the value.
///
/// Encodes (``ResultEncodable``) as one JSON object:
///
/// ```json
/// {"id":"5f0c…","pipeline":"temp-stats","key":"dev-1","window_start":1700000000000,
///  "window_end":1700000010000,"count":12,"avg_temp":21.5,"max_temp":23}
/// ```
///
/// Count windows add `"window_seq"` after `window_end`. Aggregate rows contribute one field per
/// column; other values a single `"value"` field.
public struct WindowResult<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public var pipeline: String
    public var key: Key
    public var window: Window
    /// How many elements the window aggregated.
    public var count: Int64
    public var value: Value

    public init(pipeline: String, key: Key, window: Window, count: Int64, value: Value) {
        self.pipeline = pipeline
        self.key = key
        self.window = window
        self.count = count
        self.value = value
    }

    public var windowStart: Timestamp { window.start }
    public var windowEnd: Timestamp { window.end }

    /// `String(describing: key)`, as used in the id and the JSON.
    public var keyDescription: String { String(describing: key) }

    /// FNV-1a 64 of (pipeline, key, window start — or sequence for count windows), 16 hex digits.
    /// See ``stableResultID(pipeline:keyDescription:windowStartOrSequence:)``.
    public var id: String {
        stableResultID(
            pipeline: pipeline, keyDescription: keyDescription,
            windowStartOrSequence: window.sequence ?? window.start.milliseconds)
    }
}

extension WindowResult: Equatable where Value: Equatable {}
extension WindowResult: Hashable where Value: Hashable {}

extension WindowResult: ResultEncodable where Value: WindowValueEncodable {
    public var partitionKey: String { keyDescription }

    public func encode(into writer: inout JSONWriter) {
        let keyText = keyDescription
        writer.beginObject()
        writer.key("id")
        writer.string(
            stableResultID(
                pipeline: pipeline, keyDescription: keyText,
                windowStartOrSequence: window.sequence ?? window.start.milliseconds))
        writer.key("pipeline")
        writer.string(pipeline)
        writer.key("key")
        writer.string(keyText)
        writer.key("window_start")
        writer.number(window.start.milliseconds)
        writer.key("window_end")
        writer.number(window.end.milliseconds)
        if let sequence = window.sequence {
            writer.key("window_seq")
            writer.number(sequence)
        }
        writer.key("count")
        writer.number(count)
        value.encodeFields(into: &writer)
        writer.endObject()
    }
}
