import PSPFJSON

/// A pipeline output the runtime can append to an output log: one JSON object per result.
public protocol ResultEncodable {
    /// Writes the result as one JSON object.
    func encode(into writer: inout JSONWriter)
    /// The key the output log partitions by (and sinks may template with, e.g. `agg/{key}`).
    var partitionKey: String { get }
    /// A stable id sinks use for de-duplication.
    var id: String { get }
}

/// A window value that knows how to write its fields into the result object.
///
/// ``AggregateRow`` writes one field per column; other values write a single `"value"` field
/// (via ``JSONValueEncodable``).
public protocol WindowValueEncodable {
    /// Writes this value's fields into the already-open result object (after `count`).
    func encodeFields(into writer: inout JSONWriter)
}

/// A value that encodes as one JSON value.
public protocol JSONValueEncodable: WindowValueEncodable {
    func encodeJSON(into writer: inout JSONWriter)
}

extension JSONValueEncodable {
    public func encodeFields(into writer: inout JSONWriter) {
        writer.key("value")
        encodeJSON(into: &writer)
    }
}

extension AggregateRow: WindowValueEncodable {
    /// Writes one field per column. A column named `count` (only `count()` may use that name)
    /// equals the result's own `count` field and is not written twice.
    public func encodeFields(into writer: inout JSONWriter) {
        for (name, value) in zip(names, values) where name != "count" {
            writer.key(name)
            value.encode(into: &writer)
        }
    }
}

extension AggregateValue: JSONValueEncodable {
    public func encodeJSON(into writer: inout JSONWriter) { encode(into: &writer) }
}

extension Double: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.number(self) } }
extension Float: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.number(Double(self)) } }
extension Int: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.number(self) } }
extension Int64: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.number(self) } }
extension Int32: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.number(Int64(self)) } }
extension String: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.string(self) } }
extension Bool: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.bool(self) } }
extension Timestamp: JSONValueEncodable { public func encodeJSON(into writer: inout JSONWriter) { writer.number(milliseconds) } }
extension Optional: JSONValueEncodable, WindowValueEncodable where Wrapped: JSONValueEncodable {
    public func encodeJSON(into writer: inout JSONWriter) {
        if let self { self.encodeJSON(into: &writer) } else { writer.null() }
    }
}
extension Array: JSONValueEncodable, WindowValueEncodable where Element: JSONValueEncodable {
    public func encodeJSON(into writer: inout JSONWriter) {
        writer.beginArray()
        for element in self { element.encodeJSON(into: &writer) }
        writer.endArray()
    }
}
