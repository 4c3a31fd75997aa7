import PSPFCore

/// The engine's ``PSPFCore/StateCodec`` for checkpoints: a compact, tagged binary encoding of
/// `Codable` values (not JSON), about 3–4× smaller and an order of magnitude faster to produce.
///
/// ```swift
/// let codec = BinaryStateCodec()
/// let bytes = try codec.encode(["dev-1": 21.5])
/// let value = try codec.decode([String: Double].self, from: bytes)
/// ```
///
/// **Format (version 1).** Every value starts with a one-byte tag:
///
/// | tag | value | payload |
/// | --- | --- | --- |
/// | `0x00` | nil | — |
/// | `0x01` / `0x02` | false / true | — |
/// | `0x03` | signed integer (any width) | zigzag LEB128 |
/// | `0x04` | unsigned integer (any width) | LEB128 |
/// | `0x05` | `Double` | 8 bytes, IEEE 754 bit pattern, little-endian |
/// | `0x06` | `Float` | 4 bytes, little-endian |
/// | `0x07` | `String` | LEB128 byte count, UTF-8 |
/// | `0x09` | unkeyed container (array) | u32 LE element count, the elements |
/// | `0x0A` | key | LEB128 byte count, UTF-8; precedes a nested container of a keyed container |
/// | `0x0C` | `[UInt8]` | LEB128 byte count, the bytes |
/// | `0x0D` | dictionary with `String`/`Int` keys | u32 LE entry count; per entry the key (LEB128 byte count, UTF-8), the value's byte count (LEB128) and the value |
///
/// Keyed containers (structs) write nothing of their own, no field names and no marker: their
/// fields follow **by position**, which is what synthesized `Codable` conformances do
/// (declaration order for both). Optional fields are written as `0x00` when nil (never
/// skipped), so positions stay aligned. The one place a key is
/// written is before a nested container (`nestedContainer(keyedBy:forKey:)`): that is how
/// synthesized enums with associated values encode their case, and `allKeys` reads it back.
/// Dictionaries with `String` or `Int` keys (which the standard library encodes as keyed
/// containers whose keys are data) are written as maps (`0x0D`); other dictionaries go through
/// the standard library as arrays of alternating keys and values.
///
/// A mismatch between what was written and what is read (a changed type, a corrupt value)
/// throws `DecodingError.dataCorrupted` naming the offset, never a silent misreading of a
/// primitive. Not supported: conformances that decode fields in a different order than they
/// encode them, or that branch on `contains(_:)` for fields they sometimes omit.
///
/// A codec instance keeps its encoder and decoder (and their container caches) between calls,
/// so it is not `Sendable`: give each task its own (the runner has one per partition task).
public final class BinaryStateCodec: StateCodec {
    /// The format version this codec writes (recorded with the pipeline in each checkpoint and
    /// compared on recovery: a checkpoint of another version is refused, never misread).
    ///
    /// * 1: every value through `Codable` (the tagged format above).
    /// * 2: keys and states whose type adopts ``PSPFCore/BinaryStateCodable`` (the engine's window
    ///   and process state, the built-in and dynamic accumulators, `String` keys) in their
    ///   hand-rolled encoding (``prefersBinaryState``); other types as in 1.
    public static let formatVersion = 2

    /// Yes: types with a hand-rolled encoding use it (format 2).
    public var prefersBinaryState: Bool { true }

    private let encoder = BinaryStateEncoder(capacity: 0)
    private let decoder = BinaryStateDecoder(UnsafeRawBufferPointer(start: nil, count: 0))
    private var busy = false

    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        // Re-entrant use (a value whose encoding calls this codec) gets a fresh encoder.
        if busy { return try Self.encodeFresh(value) }
        busy = true
        defer { busy = false }
        encoder.reset(capacity: 128)
        try encoder.encodeValue(value)
        return encoder.bytes
    }

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { buffer in
            let decoder: BinaryStateDecoder
            if busy {
                decoder = BinaryStateDecoder(buffer)
            } else {
                decoder = self.decoder
                decoder.reset(buffer)
                busy = true
            }
            defer {
                if decoder === self.decoder {
                    decoder.reset(UnsafeRawBufferPointer(start: nil, count: 0))
                    busy = false
                }
            }
            let value = try decoder.decodeValue(T.self)
            guard decoder.position == buffer.count else {
                throw decoder.corrupt("\(buffer.count - decoder.position) trailing bytes after the value")
            }
            return value
        }
    }

    private static func encodeFresh<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = BinaryStateEncoder(capacity: 64)
        try encoder.encodeValue(value)
        return encoder.bytes
    }
}

/// Tags of ``BinaryStateCodec``'s format.
enum BinaryTag {
    static let null: UInt8 = 0x00
    static let `false`: UInt8 = 0x01
    static let `true`: UInt8 = 0x02
    static let signed: UInt8 = 0x03
    static let unsigned: UInt8 = 0x04
    static let double: UInt8 = 0x05
    static let float: UInt8 = 0x06
    static let string: UInt8 = 0x07
    // 0x08 is reserved (format 1 writes no marker for keyed containers).
    static let unkeyed: UInt8 = 0x09
    static let key: UInt8 = 0x0A
    static let bytes: UInt8 = 0x0C
    static let map: UInt8 = 0x0D
}
