/// Reads what a ``BinaryStateWriter`` wrote, strictly: running past the end, a varint longer
/// than 64 bits, a bool other than `0`/`1`, an unknown tag or a count larger than the bytes left
/// throws ``BinaryStateFormatError`` naming the offset. It never traps on bad input.
///
/// ```swift
/// let state = try BinaryStateReader.read(WindowState.self, from: bytes)   // whole buffer, no trailing bytes
/// ```
///
/// The reader borrows the buffer it reads: use it inside ``read(_:from:)`` or
/// `withUnsafeBytes`, never after.
public struct BinaryStateReader {
    /// The bytes being read.
    public let buffer: UnsafeRawBufferPointer
    /// The offset of the next byte to read.
    public private(set) var position: Int

    /// A reader at the start of `buffer`.
    public init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
        position = 0
    }

    /// Decodes one value that must span all of `bytes`.
    public static func read<Value: BinaryStateReadable>(_ type: Value.Type, from bytes: [UInt8]) throws -> Value {
        try bytes.withUnsafeBytes { buffer in
            var reader = BinaryStateReader(buffer)
            let value = try Value(from: &reader)
            try reader.expectEnd()
            return value
        }
    }

    /// Whether every byte was read.
    public var isAtEnd: Bool { position == buffer.count }

    /// Throws unless every byte was read.
    public func expectEnd() throws {
        guard isAtEnd else { throw corrupt("\(buffer.count - position) trailing bytes after the value") }
    }

    /// An error at the current offset.
    public func corrupt(_ message: String) -> BinaryStateFormatError {
        BinaryStateFormatError(offset: position, message: message)
    }

    // MARK: Primitives

    /// One raw byte.
    @inline(__always)
    public mutating func readByte() throws -> UInt8 {
        guard position < buffer.count else { throw corrupt("unexpected end of data") }
        defer { position += 1 }
        return buffer[position]
    }

    /// An unsigned LEB128 varint.
    @inline(__always)
    public mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw corrupt("varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A zigzag-encoded signed integer.
    @inline(__always)
    public mutating func readInt64() throws -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// The inverse of ``BinaryStateWriter/writeDelta(_:from:)``.
    @inline(__always)
    public mutating func readDelta(from base: Int64) throws -> Int64 { base &+ (try readInt64()) }

    /// A signed integer that must fit `Int`.
    @inline(__always)
    public mutating func readInt() throws -> Int {
        let value = try readInt64()
        guard let result = Int(exactly: value) else { throw corrupt("integer \(value) does not fit Int") }
        return result
    }

    /// A count of elements, each of which takes at least `minimumElementBytes` (so a corrupt
    /// count cannot make a caller reserve more memory than the buffer could describe). With
    /// `0` (elements that may encode to nothing) the count is only bounded by 2^32.
    @inline(__always)
    public mutating func readCount(minimumElementBytes: Int = 1) throws -> Int {
        let raw = try readVarint()
        let left = UInt64(buffer.count - position)
        let limit = minimumElementBytes > 0 ? left / UInt64(minimumElementBytes) : UInt64(UInt32.max)
        guard raw <= limit else { throw corrupt("count \(raw) exceeds what the \(left) bytes left can hold") }
        return Int(raw)
    }

    /// 8 bytes little-endian, an IEEE 754 bit pattern.
    @inline(__always)
    public mutating func readDouble() throws -> Double {
        guard buffer.count - position >= 8 else { throw corrupt("truncated double") }
        let bits = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return Double(bitPattern: bits)
    }

    /// `0` or `1`.
    @inline(__always)
    public mutating func readBool() throws -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other:
            position -= 1
            throw corrupt("expected a bool (0 or 1), found \(other)")
        }
    }

    /// A varint byte count and UTF-8 bytes (invalid UTF-8 is repaired, as `String(decoding:)` does).
    public mutating func readString() throws -> String {
        let count = try readCount()
        let slice = UnsafeRawBufferPointer(rebasing: buffer[position..<(position + count)])
        position += count
        return String(decoding: slice, as: UTF8.self)
    }

    /// A varint byte count and the bytes.
    public mutating func readBytes() throws -> [UInt8] {
        let count = try readCount()
        defer { position += count }
        return Array(buffer[position..<(position + count)])
    }

    /// Any fast-path value (the generic entry point for containers).
    @inline(__always)
    public mutating func read<Value: BinaryStateReadable>(_ type: Value.Type = Value.self) throws -> Value {
        try Value(from: &self)
    }
}

/// Bytes that are not a valid ``BinaryStateReader`` encoding of the expected type (truncated,
/// corrupt, or written by a different type).
public struct BinaryStateFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset where reading failed.
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "binary state at byte \(offset): \(message)" }
}
