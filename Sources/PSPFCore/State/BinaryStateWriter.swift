/// A growable byte buffer that ``BinaryStateWritable`` values write themselves into: the
/// hand-rolled fast path of checkpoint encoding (no `Codable` dispatch, no tags, no field names).
///
/// Reuse one writer for many values: ``removeAll()`` keeps its capacity, so encoding a key's
/// state allocates nothing but the exact-size copy taken with ``copyBytes()``.
///
/// ```swift
/// var writer = BinaryStateWriter()
/// writer.write(Int64(42))          // zigzag LEB128
/// writer.write(21.5)               // 8 bytes, IEEE 754, little-endian
/// writer.write("dev-1")            // LEB128 byte count, UTF-8
/// let bytes = writer.copyBytes()
/// ```
///
/// Primitives: unsigned integers as LEB128 varints, signed ones zigzag-encoded first (small
/// magnitudes of either sign take one byte), `Double` as its bit pattern (exact, NaN payloads
/// included), `Bool` as one byte `0`/`1`, strings and byte arrays as a varint length and the bytes.
/// ``writeDelta(_:from:)`` writes the difference to a related value (a watermark relative to the
/// maximum timestamp, a window end relative to its start), which is what keeps epoch-millisecond
/// timestamps at one to three bytes instead of six; wrapping arithmetic makes it exact for every
/// `Int64`, sentinels such as `Int64.min` included.
public struct BinaryStateWriter: Sendable {
    /// The bytes written since the last ``removeAll()``.
    public private(set) var bytes: [UInt8]

    /// A writer with room for `capacity` bytes before it grows.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Number of bytes written.
    public var count: Int { bytes.count }

    /// Forgets what was written, keeping the capacity.
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// A copy of the written bytes in an array of exactly their size (the writer keeps its buffer).
    public func copyBytes() -> [UInt8] {
        bytes.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: source.count) { target, initialized in
                if let base = source.baseAddress, source.count > 0 {
                    target.baseAddress!.initialize(from: base, count: source.count)
                }
                initialized = source.count
            }
        }
    }

    /// Moves the written bytes out and leaves the writer empty with room for `capacity` bytes
    /// (a snapshot batch takes the values of all changed keys this way, without a copy).
    public mutating func takeBytes(reservingCapacity capacity: Int) -> [UInt8] {
        var taken: [UInt8] = []
        taken.reserveCapacity(capacity)
        swap(&taken, &bytes)
        return taken
    }

    // MARK: Primitives

    /// One raw byte (tags, flags).
    @inline(__always)
    public mutating func writeByte(_ byte: UInt8) { bytes.append(byte) }

    /// An unsigned LEB128 varint (1 byte below 128, at most 10).
    @inline(__always)
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    /// A signed integer, zigzag-encoded into a varint.
    @inline(__always)
    public mutating func write(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// `value − base` (wrapping), zigzag-encoded: small when the two are close.
    @inline(__always)
    public mutating func writeDelta(_ value: Int64, from base: Int64) { write(value &- base) }

    /// A signed integer (as `Int64`).
    @inline(__always)
    public mutating func write(_ value: Int) { write(Int64(value)) }

    /// A count or length (non-negative), as a varint.
    @inline(__always)
    public mutating func writeCount(_ count: Int) { writeVarint(UInt64(count)) }

    /// The IEEE 754 bit pattern, 8 bytes little-endian.
    @inline(__always)
    public mutating func write(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// `0` or `1`.
    @inline(__always)
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Varint byte count, then the UTF-8 bytes.
    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeCount(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// Varint byte count, then the bytes.
    public mutating func write(bytes value: some Collection<UInt8>) {
        writeCount(value.count)
        bytes.append(contentsOf: value)
    }

    /// Any fast-path value (the generic entry point for containers).
    @inline(__always)
    public mutating func write<Value: BinaryStateWritable>(_ value: Value) { value.write(to: &self) }
}
