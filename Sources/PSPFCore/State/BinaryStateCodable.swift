/// A state type with a hand-rolled binary encoding: the fast path of checkpoints.
///
/// Checkpoints encode every changed key's state, often 100k keys a second, and `Codable`
/// costs microseconds per key in dynamic dispatch. The engine's own state types (window state,
/// the built-in accumulators, ``DDSketch``, ``DynamicColumnsAccumulator``, process-function
/// timers) adopt this protocol and write their fields straight into a ``BinaryStateWriter``.
/// Your own accumulator or process-function state may adopt it too; types that do not are
/// encoded through `Codable`, as before.
///
/// ```swift
/// struct MaxGapAccumulator: Codable, Sendable, BinaryStateCodable {
///     var last: Double?
///     var gap = 0.0
///     func write(to writer: inout BinaryStateWriter) {
///         writer.write(last)
///         writer.write(gap)
///     }
///     init(from reader: inout BinaryStateReader) throws {
///         last = try reader.read()
///         gap = try reader.readDouble()
///     }
/// }
/// ```
///
/// Rules: `init(from:)` reads exactly what `write(to:)` wrote, in the same order, and throws
/// (``BinaryStateReader/corrupt(_:)``) rather than trapping on values it cannot accept. The
/// encoding is positional, without tags, so **changing it changes the stored format**: a
/// checkpoint written before is not readable afterwards. Adopting or changing the fast path
/// of a type therefore needs a new pipeline state (`pspf state rebuild`), like any change of
/// the state's shape.
///
/// The fast path applies when the checkpoint's ``StateCodec`` asks for it
/// (``StateCodec/prefersBinaryState``, as the storage layer's binary codec does); a JSON codec
/// keeps using `Codable`.
public protocol BinaryStateWritable {
    /// Appends the value's encoding.
    func write(to writer: inout BinaryStateWriter)
}

/// The reading half of ``BinaryStateWritable``.
public protocol BinaryStateReadable {
    /// Reads a value written by ``BinaryStateWritable/write(to:)``.
    init(from reader: inout BinaryStateReader) throws
}

/// Both halves of the checkpoint fast path.
public typealias BinaryStateCodable = BinaryStateReadable & BinaryStateWritable

// MARK: Primitives

extension Int64: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.write(self) }
    @inline(__always) public init(from reader: inout BinaryStateReader) throws { self = try reader.readInt64() }
}

extension Int: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.write(Int64(self)) }
    @inline(__always) public init(from reader: inout BinaryStateReader) throws { self = try reader.readInt() }
}

extension Int32: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.write(Int64(self)) }
    public init(from reader: inout BinaryStateReader) throws {
        let value = try reader.readInt64()
        guard let exact = Int32(exactly: value) else { throw reader.corrupt("integer \(value) does not fit Int32") }
        self = exact
    }
}

extension UInt64: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.writeVarint(self) }
    @inline(__always) public init(from reader: inout BinaryStateReader) throws { self = try reader.readVarint() }
}

extension Double: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.write(self) }
    @inline(__always) public init(from reader: inout BinaryStateReader) throws { self = try reader.readDouble() }
}

extension Bool: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.write(self) }
    @inline(__always) public init(from reader: inout BinaryStateReader) throws { self = try reader.readBool() }
}

extension String: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.write(self) }
    @inline(__always) public init(from reader: inout BinaryStateReader) throws { self = try reader.readString() }
}

extension Timestamp: BinaryStateCodable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) { writer.write(milliseconds) }
    @inline(__always) public init(from reader: inout BinaryStateReader) throws {
        self.init(milliseconds: try reader.readInt64())
    }
}

/// `0` for nil, `1` followed by the value.
extension Optional: BinaryStateWritable where Wrapped: BinaryStateWritable {
    @inline(__always) public func write(to writer: inout BinaryStateWriter) {
        if let value = self {
            writer.writeByte(1)
            value.write(to: &writer)
        } else {
            writer.writeByte(0)
        }
    }
}

extension Optional: BinaryStateReadable where Wrapped: BinaryStateReadable {
    @inline(__always) public init(from reader: inout BinaryStateReader) throws {
        switch try reader.readByte() {
        case 0: self = nil
        case 1: self = try Wrapped(from: &reader)
        case let other: throw reader.corrupt("expected an optional's marker (0 or 1), found \(other)")
        }
    }
}

/// A varint element count, then the elements.
extension Array: BinaryStateWritable where Element: BinaryStateWritable {
    public func write(to writer: inout BinaryStateWriter) {
        writer.writeCount(count)
        for element in self { element.write(to: &writer) }
    }
}

extension Array: BinaryStateReadable where Element: BinaryStateReadable {
    public init(from reader: inout BinaryStateReader) throws {
        let count = try reader.readCount(minimumElementBytes: 0)
        self = []
        reserveCapacity(Swift.min(count, reader.buffer.count - reader.position))
        for _ in 0..<count { append(try Element(from: &reader)) }
    }
}

// MARK: The engine's choice of path

/// The fast path for one state type, looked up once (an operator's state type adopts
/// ``BinaryStateCodable`` only when its accumulator or user state does, which generic engine
/// code can only find out at run time). Calls through it cost an indirect call, not a cast.
struct BinaryStateFastPath<Value> {
    let write: (Value, inout BinaryStateWriter) -> Void
    let read: (inout BinaryStateReader) throws -> Value

    /// `nil` when `Value` has no fast path (then `Codable` it is).
    init?(_ type: Value.Type) {
        guard let codable = type as? any BinaryStateCodable.Type else { return nil }
        self = Self.opened(codable)
    }

    private init(write: @escaping (Value, inout BinaryStateWriter) -> Void, read: @escaping (inout BinaryStateReader) throws -> Value) {
        self.write = write
        self.read = read
    }

    /// `Concrete` is `Value` (the cast above proved it), so the bit casts are identities.
    private static func opened<Concrete: BinaryStateCodable>(_: Concrete.Type) -> Self {
        Self(
            write: { value, writer in unsafeBitCast(value, to: Concrete.self).write(to: &writer) },
            read: { reader in unsafeBitCast(try Concrete(from: &reader), to: Value.self) })
    }

    /// Decodes one value spanning all of `bytes`.
    func decode(_ bytes: [UInt8]) throws -> Value {
        try bytes.withUnsafeBytes { buffer in
            var reader = BinaryStateReader(buffer)
            let value = try read(&reader)
            try reader.expectEnd()
            return value
        }
    }
}
