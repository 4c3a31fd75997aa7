// The decoding half of BinaryStateCodec (format: BinaryStateCodec.swift).

/// Reads one value tree from a buffer that stays valid for the decoder's lifetime (the codec
/// decodes inside `withUnsafeBytes`).
final class BinaryStateDecoder: Decoder {
    @exclusivity(unchecked) var buffer: UnsafeRawBufferPointer
    @exclusivity(unchecked) var position = 0
    /// Reused keyed containers, one per coding-key type (see `BinaryStateEncoder`).
    @exclusivity(unchecked) private var keyedContainers: [ObjectIdentifier: AnyObject] = [:]

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// Starts on another buffer, keeping the container cache.
    func reset(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
        position = 0
    }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if ObjectIdentifier(Key.self) == dictionaryCodingKeyType {
            return KeyedDecodingContainer(try BinaryMapDecodingContainer<Key>(decoder: self))
        }
        let id = ObjectIdentifier(Key.self)
        if let box = keyedContainers[id] {
            return unsafeBitCast(box, to: KeyedDecodingContainer<Key>.self)
        }
        let container = KeyedDecodingContainer(BinaryKeyedDecodingContainer<Key>(decoder: self))
        keyedContainers[id] = unsafeBitCast(container, to: AnyObject.self)
        return container
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try expect(BinaryTag.unkeyed, "an unkeyed container")
        guard position + 4 <= buffer.count else { throw corrupt("truncated element count") }
        let count = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        position += 4
        return BinaryUnkeyedDecodingContainer(decoder: self, count: count)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleValueDecodingContainer(decoder: self)
    }

    // MARK: Primitives

    func corrupt(_ message: String) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(codingPath: [], debugDescription: "binary state at byte \(position): \(message)"))
    }

    @inline(__always)
    func readByte() throws -> UInt8 {
        guard position < buffer.count else { throw corrupt("unexpected end of data") }
        defer { position += 1 }
        return buffer[position]
    }

    @inline(__always)
    func peekByte() -> UInt8? { position < buffer.count ? buffer[position] : nil }

    @inline(__always)
    func expect(_ tag: UInt8, _ what: @autoclosure () -> String) throws {
        let found = try readByte()
        guard found == tag else {
            position -= 1
            throw corrupt("expected \(what()) (tag \(tag)), found tag \(found)")
        }
    }

    @inline(__always)
    func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw corrupt("varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw corrupt("varint longer than 10 bytes") }
        }
    }

    @inline(__always)
    func readSigned() throws -> Int64 {
        try expect(BinaryTag.signed, "a signed integer")
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inline(__always)
    func readUnsigned() throws -> UInt64 {
        try expect(BinaryTag.unsigned, "an unsigned integer")
        return try readVarint()
    }

    func readSigned<T: FixedWidthInteger & SignedInteger>(_ type: T.Type) throws -> T {
        let value = try readSigned()
        guard let exact = T(exactly: value) else { throw corrupt("\(value) does not fit in \(T.self)") }
        return exact
    }

    func readUnsigned<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) throws -> T {
        let value = try readUnsigned()
        guard let exact = T(exactly: value) else { throw corrupt("\(value) does not fit in \(T.self)") }
        return exact
    }

    @inline(__always)
    func readDouble() throws -> Double {
        try expect(BinaryTag.double, "a Double")
        guard position + 8 <= buffer.count else { throw corrupt("truncated Double") }
        let bits = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return Double(bitPattern: bits)
    }

    func readFloat() throws -> Float {
        try expect(BinaryTag.float, "a Float")
        guard position + 4 <= buffer.count else { throw corrupt("truncated Float") }
        let bits = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return Float(bitPattern: bits)
    }

    @inline(__always)
    func readBool() throws -> Bool {
        switch try readByte() {
        case BinaryTag.false: return false
        case BinaryTag.true: return true
        case let other:
            position -= 1
            throw corrupt("expected a Bool, found tag \(other)")
        }
    }

    func readLengthPrefixed() throws -> UnsafeRawBufferPointer {
        let length = try readVarint()
        guard length <= UInt64(buffer.count - position) else { throw corrupt("length \(length) runs past the end") }
        let start = position
        position += Int(length)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<position])
    }

    func readString() throws -> String {
        try expect(BinaryTag.string, "a String")
        return String(decoding: try readLengthPrefixed(), as: UTF8.self)
    }

    func readBytes() throws -> [UInt8] {
        try expect(BinaryTag.bytes, "bytes")
        return Array(try readLengthPrefixed())
    }

    /// The key in front of a nested container, without consuming it; nil if there is none.
    func peekKey() -> String? {
        guard peekByte() == BinaryTag.key else { return nil }
        let saved = position
        defer { position = saved }
        position += 1
        return try? String(decoding: readLengthPrefixed(), as: UTF8.self)
    }

    func readKey(_ expected: some CodingKey) throws {
        try expect(BinaryTag.key, "the key '\(expected.stringValue)'")
        let name = String(decoding: try readLengthPrefixed(), as: UTF8.self)
        guard name == expected.stringValue else {
            throw corrupt("expected the key '\(expected.stringValue)', found '\(name)'")
        }
    }

    /// Consumes a nil tag if one is next.
    @inline(__always)
    func takeNil() -> Bool {
        if peekByte() == BinaryTag.null {
            position += 1
            return true
        }
        return false
    }

    @inline(__always)
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == Int64.self {
            return unsafeBitCast(try readSigned(), to: T.self)
        } else if T.self == Double.self {
            return unsafeBitCast(try readDouble(), to: T.self)
        } else if T.self == String.self {
            return unsafeBitCast(try readString(), to: T.self)
        } else if T.self == Int.self {
            return unsafeBitCast(try readSigned(Int.self), to: T.self)
        } else if T.self == Bool.self {
            return unsafeBitCast(try readBool(), to: T.self)
        } else if T.self == [UInt8].self {
            return unsafeBitCast(try readBytes(), to: T.self)
        }
        return try T(from: self)
    }
}

struct BinaryKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    unowned(unsafe) let decoder: BinaryStateDecoder
    var codingPath: [any CodingKey] { [] }

    /// Only known where a key was written: in front of a nested container (an enum's case).
    var allKeys: [Key] { decoder.peekKey().flatMap { Key(stringValue: $0) }.map { [$0] } ?? [] }

    /// Fields are positional and always written (nil included).
    func contains(_ key: Key) -> Bool { true }

    func decodeNil(forKey key: Key) throws -> Bool { decoder.takeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder.readBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder.readString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder.readDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder.readFloat() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder.readSigned(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder.readSigned(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder.readSigned(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder.readSigned(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder.readSigned() }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder.readUnsigned(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder.readUnsigned(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder.readUnsigned(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder.readUnsigned(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder.readUnsigned() }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder.decodeValue(T.self) }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        decoder.takeNil() ? nil : try decoder.readBool()
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        decoder.takeNil() ? nil : try decoder.readString()
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        decoder.takeNil() ? nil : try decoder.readDouble()
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        decoder.takeNil() ? nil : try decoder.readFloat()
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        decoder.takeNil() ? nil : try decoder.readSigned(Int.self)
    }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        decoder.takeNil() ? nil : try decoder.readSigned(Int8.self)
    }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        decoder.takeNil() ? nil : try decoder.readSigned(Int16.self)
    }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        decoder.takeNil() ? nil : try decoder.readSigned(Int32.self)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        decoder.takeNil() ? nil : try decoder.readSigned()
    }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        decoder.takeNil() ? nil : try decoder.readUnsigned(UInt.self)
    }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        decoder.takeNil() ? nil : try decoder.readUnsigned(UInt8.self)
    }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        decoder.takeNil() ? nil : try decoder.readUnsigned(UInt16.self)
    }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        decoder.takeNil() ? nil : try decoder.readUnsigned(UInt32.self)
    }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        decoder.takeNil() ? nil : try decoder.readUnsigned()
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        decoder.takeNil() ? nil : try decoder.decodeValue(T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.readKey(key)
        return try decoder.container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.readKey(key)
        return try decoder.unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
}

struct BinaryUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: BinaryStateDecoder
    let count: Int?
    private(set) var currentIndex = 0
    var codingPath: [any CodingKey] { [] }
    var isAtEnd: Bool { currentIndex >= count! }

    init(decoder: BinaryStateDecoder, count: Int) {
        self.decoder = decoder
        self.count = count
    }

    @inline(__always)
    private mutating func next() throws {
        guard currentIndex < count! else { throw decoder.corrupt("read past the end of an unkeyed container") }
        currentIndex += 1
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < count!, decoder.takeNil() else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        try next()
        return try decoder.readBool()
    }
    mutating func decode(_ type: String.Type) throws -> String {
        try next()
        return try decoder.readString()
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        try next()
        return try decoder.readDouble()
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        try next()
        return try decoder.readFloat()
    }
    mutating func decode(_ type: Int.Type) throws -> Int {
        try next()
        return try decoder.readSigned(Int.self)
    }
    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        try next()
        return try decoder.readSigned(Int8.self)
    }
    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        try next()
        return try decoder.readSigned(Int16.self)
    }
    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        try next()
        return try decoder.readSigned(Int32.self)
    }
    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        try next()
        return try decoder.readSigned()
    }
    mutating func decode(_ type: UInt.Type) throws -> UInt {
        try next()
        return try decoder.readUnsigned(UInt.self)
    }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        try next()
        return try decoder.readUnsigned(UInt8.self)
    }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        try next()
        return try decoder.readUnsigned(UInt16.self)
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        try next()
        return try decoder.readUnsigned(UInt32.self)
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        try next()
        return try decoder.readUnsigned()
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next()
        return try decoder.decodeValue(T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next()
        return try decoder.container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next()
        return try decoder.unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        try next()
        return decoder
    }
}

struct BinarySingleValueDecodingContainer: SingleValueDecodingContainer {
    let decoder: BinaryStateDecoder
    var codingPath: [any CodingKey] { [] }

    /// Peeks: consumes the tag only when it is nil (Optional's `init(from:)` calls this first).
    func decodeNil() -> Bool { decoder.takeNil() }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.readBool() }
    func decode(_ type: String.Type) throws -> String { try decoder.readString() }
    func decode(_ type: Double.Type) throws -> Double { try decoder.readDouble() }
    func decode(_ type: Float.Type) throws -> Float { try decoder.readFloat() }
    func decode(_ type: Int.Type) throws -> Int { try decoder.readSigned(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.readSigned(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.readSigned(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.readSigned(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.readSigned() }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.readUnsigned(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.readUnsigned(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.readUnsigned(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.readUnsigned(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.readUnsigned() }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self) }
}

/// A dictionary written by `BinaryMapEncodingContainer`: the entries are indexed when the
/// container is opened, then each value is decoded from its own byte range.
struct BinaryMapDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: BinaryStateDecoder
    private let entries: [(key: String, value: UnsafeRawBufferPointer)]
    private let index: [String: Int]
    var codingPath: [any CodingKey] { [] }

    init(decoder: BinaryStateDecoder) throws {
        self.decoder = decoder
        try decoder.expect(BinaryTag.map, "a dictionary")
        guard decoder.position + 4 <= decoder.buffer.count else { throw decoder.corrupt("truncated entry count") }
        let count = Int(
            UInt32(littleEndian: decoder.buffer.loadUnaligned(fromByteOffset: decoder.position, as: UInt32.self)))
        decoder.position += 4
        var entries: [(key: String, value: UnsafeRawBufferPointer)] = []
        var index: [String: Int] = [:]
        for _ in 0..<count {
            let key = String(decoding: try decoder.readLengthPrefixed(), as: UTF8.self)
            index[key] = entries.count
            entries.append((key, try decoder.readLengthPrefixed()))
        }
        self.entries = entries
        self.index = index
    }

    var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }
    func contains(_ key: Key) -> Bool { index[key.stringValue] != nil }

    private func value<T>(_ key: Key, _ read: (BinaryStateDecoder) throws -> T) throws -> T {
        guard let i = index[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, DecodingError.Context(codingPath: [], debugDescription: "no entry '\(key.stringValue)'"))
        }
        let sub = BinaryStateDecoder(entries[i].value)
        let result = try read(sub)
        guard sub.position == entries[i].value.count else { throw sub.corrupt("trailing bytes in a dictionary value") }
        return result
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) { $0.takeNil() } }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(key) { try $0.readBool() } }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(key) { try $0.readString() } }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(key) { try $0.readDouble() } }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value(key) { try $0.readFloat() } }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(key) { try $0.readSigned(Int.self) } }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(key) { try $0.readSigned(Int8.self) } }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try value(key) { try $0.readSigned(Int16.self) }
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try value(key) { try $0.readSigned(Int32.self) }
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(key) { try $0.readSigned() } }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(key) { try $0.readUnsigned(UInt.self) } }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try value(key) { try $0.readUnsigned(UInt8.self) }
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try value(key) { try $0.readUnsigned(UInt16.self) }
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try value(key) { try $0.readUnsigned(UInt32.self) }
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(key) { try $0.readUnsigned() } }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try value(key) { try $0.decodeValue(T.self) }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        throw decoder.corrupt("nested containers inside a dictionary are not supported")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw decoder.corrupt("nested containers inside a dictionary are not supported")
    }

    func superDecoder() throws -> any Decoder { throw decoder.corrupt("superDecoder inside a dictionary") }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        throw decoder.corrupt("superDecoder inside a dictionary")
    }
}
