/// Reads one field of an element, fast.
///
/// Key-path application costs ~20 ns in Swift; for a stored property of a struct the engine
/// instead loads the value at its fixed byte offset (`MemoryLayout.offset(of:)`, ~1 ns), and
/// falls back to the key path for computed properties and classes.
public struct FieldReader<Root, Value>: Sendable {
    public let keyPath: any KeyPath<Root, Value> & Sendable
    let offset: Int

    public init(_ keyPath: any KeyPath<Root, Value> & Sendable) {
        self.keyPath = keyPath
        self.offset = MemoryLayout<Root>.offset(of: keyPath) ?? -1
    }

    @inline(__always)
    public func read(_ root: Root) -> Value {
        if offset >= 0 {
            return withUnsafeBytes(of: root) { $0.load(fromByteOffset: offset, as: Value.self) }
        }
        return root[keyPath: keyPath]
    }

    /// The default column suffix for this field: `\Reading.temp` → `temp`, `\Reading.a.b` → `a_b`.
    public var fieldName: String {
        let text = String(describing: keyPath)
        guard let dot = text.firstIndex(of: "."), !text.contains("<") else { return "value" }
        let name = text[text.index(after: dot)...].replacingDots()
        return name.isEmpty ? "value" : name
    }
}

extension Substring {
    fileprivate func replacingDots() -> String {
        String(map { $0 == "." ? "_" : $0 })
    }
}
