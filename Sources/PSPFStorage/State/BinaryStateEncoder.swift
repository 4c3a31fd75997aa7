// The encoding half of BinaryStateCodec (format: BinaryStateCodec.swift).

/// Writes one value tree into `bytes`. Containers are thin structs that append to it.
final class BinaryStateEncoder: Encoder {
    @exclusivity(unchecked) var bytes: [UInt8]
    /// One keyed container (its type-erasing box) per coding-key type, created once and reused:
    /// creating `KeyedEncodingContainer<Key>` instantiates generic metadata and looks up a
    /// witness table through the runtime's locked caches, which cost more than encoding the
    /// fields (measured: ~45 % of checkpoint CPU without this).
    @exclusivity(unchecked) private var keyedContainers: [ObjectIdentifier: AnyObject] = [:]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Starts a new value, keeping the container cache.
    func reset(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if ObjectIdentifier(Key.self) == dictionaryCodingKeyType {
            // A `[String: V]` or `[Int: V]`: its keys are data, so they are written (see BinaryTag.map).
            bytes.append(BinaryTag.map)
            let position = bytes.count
            bytes.append(contentsOf: [0, 0, 0, 0] as [UInt8])
            return KeyedEncodingContainer(BinaryMapEncodingContainer<Key>(encoder: self, countPosition: position))
        }
        // A struct writes nothing of its own: its fields follow, by position. (Synthesized
        // conformances of empty structs encode a container but decode none, so a marker here
        // could not be read back symmetrically.) The container is stateless, so one per key
        // type is reused.
        let id = ObjectIdentifier(Key.self)
        if let box = keyedContainers[id] {
            return unsafeBitCast(box, to: KeyedEncodingContainer<Key>.self)
        }
        let container = KeyedEncodingContainer(BinaryKeyedEncodingContainer<Key>(encoder: self))
        keyedContainers[id] = unsafeBitCast(container, to: AnyObject.self)
        return container
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        bytes.append(BinaryTag.unkeyed)
        let position = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0] as [UInt8])
        return BinaryUnkeyedEncodingContainer(encoder: self, countPosition: position)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        BinarySingleValueEncodingContainer(encoder: self)
    }

    // MARK: Primitives

    @inline(__always)
    func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    func writeSigned(_ value: Int64) {
        bytes.append(BinaryTag.signed)
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inline(__always)
    func writeUnsigned(_ value: UInt64) {
        bytes.append(BinaryTag.unsigned)
        writeVarint(value)
    }

    @inline(__always)
    func writeDouble(_ value: Double) {
        bytes.append(BinaryTag.double)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    func writeFloat(_ value: Float) {
        bytes.append(BinaryTag.float)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes a u32 element count into a slot reserved earlier.
    @inline(__always)
    func patchCount(_ count: Int, at position: Int) {
        let value = UInt32(count)
        bytes.withUnsafeMutableBufferPointer { buffer in
            buffer[position] = UInt8(truncatingIfNeeded: value)
            buffer[position + 1] = UInt8(truncatingIfNeeded: value >> 8)
            buffer[position + 2] = UInt8(truncatingIfNeeded: value >> 16)
            buffer[position + 3] = UInt8(truncatingIfNeeded: value >> 24)
        }
    }

    @inline(__always)
    func writeBool(_ value: Bool) { bytes.append(value ? BinaryTag.true : BinaryTag.false) }

    @inline(__always)
    func writeNil() { bytes.append(BinaryTag.null) }

    func writeString(_ value: String) {
        var value = value
        bytes.append(BinaryTag.string)
        value.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    func writeKey(_ key: some CodingKey) {
        var name = key.stringValue
        bytes.append(BinaryTag.key)
        name.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Encodes any value, with fast paths for the primitives state is made of (checked by
    /// metatype identity, which costs a pointer comparison, not a dynamic cast).
    @inline(__always)
    func encodeValue<T: Encodable>(_ value: T) throws {
        if T.self == Int64.self {
            writeSigned(unsafeBitCast(value, to: Int64.self))
        } else if T.self == Double.self {
            writeDouble(unsafeBitCast(value, to: Double.self))
        } else if T.self == String.self {
            writeString(unsafeBitCast(value, to: String.self))
        } else if T.self == Int.self {
            writeSigned(Int64(unsafeBitCast(value, to: Int.self)))
        } else if T.self == Bool.self {
            writeBool(unsafeBitCast(value, to: Bool.self))
        } else if T.self == [UInt8].self {
            let array = unsafeBitCast(value, to: [UInt8].self)
            bytes.append(BinaryTag.bytes)
            writeVarint(UInt64(array.count))
            bytes.append(contentsOf: array)
        } else {
            try value.encode(to: self)
        }
    }
}

struct BinaryKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    /// Unowned: the encoder caches this container (see `keyedContainers`), and containers are
    /// only used while their encoder encodes.
    unowned(unsafe) let encoder: BinaryStateEncoder
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { encoder.writeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { encoder.writeBool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { encoder.writeString(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { encoder.writeDouble(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { encoder.writeFloat(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.writeSigned(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.writeUnsigned(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encoder.encodeValue(value) }

    // Optionals are written as nil instead of being skipped, so fields keep their positions.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { encoder.writeBool(value) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { encoder.writeString(value) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { encoder.writeDouble(value) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        if let value { encoder.writeFloat(value) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { encoder.writeSigned(Int64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        if let value { encoder.writeSigned(Int64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        if let value { encoder.writeSigned(Int64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        if let value { encoder.writeSigned(Int64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { encoder.writeSigned(value) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        if let value { encoder.writeUnsigned(UInt64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        if let value { encoder.writeUnsigned(UInt64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        if let value { encoder.writeUnsigned(UInt64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        if let value { encoder.writeUnsigned(UInt64(value)) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        if let value { encoder.writeUnsigned(value) } else { encoder.writeNil() }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encoder.encodeValue(value) } else { encoder.writeNil() }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        encoder.writeKey(key)
        return encoder.container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        encoder.writeKey(key)
        return encoder.unkeyedContainer()
    }

    /// Inline: the superclass's fields follow in place.
    mutating func superEncoder() -> any Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
}

struct BinaryUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: BinaryStateEncoder
    let countPosition: Int
    private(set) var count = 0
    var codingPath: [any CodingKey] { [] }

    init(encoder: BinaryStateEncoder, countPosition: Int) {
        self.encoder = encoder
        self.countPosition = countPosition
    }

    /// The element count is patched into its slot as elements are added (containers have no
    /// "end" call).
    @inline(__always)
    private mutating func added() {
        count += 1
        encoder.patchCount(count, at: countPosition)
    }

    mutating func encodeNil() throws {
        encoder.writeNil()
        added()
    }
    mutating func encode(_ value: Bool) throws {
        encoder.writeBool(value)
        added()
    }
    mutating func encode(_ value: String) throws {
        encoder.writeString(value)
        added()
    }
    mutating func encode(_ value: Double) throws {
        encoder.writeDouble(value)
        added()
    }
    mutating func encode(_ value: Float) throws {
        encoder.writeFloat(value)
        added()
    }
    mutating func encode(_ value: Int) throws {
        encoder.writeSigned(Int64(value))
        added()
    }
    mutating func encode(_ value: Int8) throws {
        encoder.writeSigned(Int64(value))
        added()
    }
    mutating func encode(_ value: Int16) throws {
        encoder.writeSigned(Int64(value))
        added()
    }
    mutating func encode(_ value: Int32) throws {
        encoder.writeSigned(Int64(value))
        added()
    }
    mutating func encode(_ value: Int64) throws {
        encoder.writeSigned(value)
        added()
    }
    mutating func encode(_ value: UInt) throws {
        encoder.writeUnsigned(UInt64(value))
        added()
    }
    mutating func encode(_ value: UInt8) throws {
        encoder.writeUnsigned(UInt64(value))
        added()
    }
    mutating func encode(_ value: UInt16) throws {
        encoder.writeUnsigned(UInt64(value))
        added()
    }
    mutating func encode(_ value: UInt32) throws {
        encoder.writeUnsigned(UInt64(value))
        added()
    }
    mutating func encode(_ value: UInt64) throws {
        encoder.writeUnsigned(value)
        added()
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.encodeValue(value)
        added()
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        added()
        return encoder.container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        added()
        return encoder.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        added()
        return encoder
    }
}

struct BinarySingleValueEncodingContainer: SingleValueEncodingContainer {
    let encoder: BinaryStateEncoder
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { encoder.writeNil() }
    mutating func encode(_ value: Bool) throws { encoder.writeBool(value) }
    mutating func encode(_ value: String) throws { encoder.writeString(value) }
    mutating func encode(_ value: Double) throws { encoder.writeDouble(value) }
    mutating func encode(_ value: Float) throws { encoder.writeFloat(value) }
    mutating func encode(_ value: Int) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int8) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int16) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int32) throws { encoder.writeSigned(Int64(value)) }
    mutating func encode(_ value: Int64) throws { encoder.writeSigned(value) }
    mutating func encode(_ value: UInt) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.writeUnsigned(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { encoder.writeUnsigned(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value) }
}

/// The keyed container of a dictionary with `String` or `Int` keys: entries of (key, length-prefixed
/// value), so a decoder can list the keys (`allKeys`) before it decodes any value.
struct BinaryMapEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: BinaryStateEncoder
    let countPosition: Int
    private var count = 0
    var codingPath: [any CodingKey] { [] }

    init(encoder: BinaryStateEncoder, countPosition: Int) {
        self.encoder = encoder
        self.countPosition = countPosition
    }

    private mutating func entry(_ key: Key, _ write: (BinaryStateEncoder) throws -> Void) rethrows {
        var name = key.stringValue
        name.withUTF8 { utf8 in
            encoder.writeVarint(UInt64(utf8.count))
            encoder.bytes.append(contentsOf: utf8)
        }
        let value = BinaryStateEncoder(capacity: 16)
        try write(value)
        encoder.writeVarint(UInt64(value.bytes.count))
        encoder.bytes.append(contentsOf: value.bytes)
        count += 1
        encoder.patchCount(count, at: countPosition)
    }

    mutating func encodeNil(forKey key: Key) throws { entry(key) { $0.writeNil() } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { entry(key) { $0.writeBool(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { entry(key) { $0.writeString(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { entry(key) { $0.writeDouble(value) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { entry(key) { $0.writeFloat(value) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { entry(key) { $0.writeSigned(Int64(value)) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { entry(key) { $0.writeSigned(Int64(value)) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { entry(key) { $0.writeSigned(Int64(value)) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { entry(key) { $0.writeSigned(Int64(value)) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { entry(key) { $0.writeSigned(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { entry(key) { $0.writeUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { entry(key) { $0.writeUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { entry(key) { $0.writeUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { entry(key) { $0.writeUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { entry(key) { $0.writeUnsigned(value) } }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try entry(key) { try $0.encodeValue(value) }
    }

    // The standard library's dictionaries never nest containers; other users of the dictionary
    // coding key type do not exist.
    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        preconditionFailure("BinaryStateCodec: nested containers inside a dictionary are not supported")
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        preconditionFailure("BinaryStateCodec: nested containers inside a dictionary are not supported")
    }

    mutating func superEncoder() -> any Encoder {
        preconditionFailure("BinaryStateCodec: superEncoder inside a dictionary is not supported")
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        preconditionFailure("BinaryStateCodec: superEncoder inside a dictionary is not supported")
    }
}

/// The standard library's (internal) coding key type of `[String: V]` and `[Int: V]`, found once
/// by encoding an empty-keyed sample and recording the key type it asks for.
let dictionaryCodingKeyType: ObjectIdentifier? = {
    let probe = KeyTypeProbe()
    try? ["": 0].encode(to: probe)
    return probe.keyType
}()

private final class KeyTypeProbe: Encoder {
    var keyType: ObjectIdentifier?
    private let scratch = BinaryStateEncoder(capacity: 16)
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        keyType = ObjectIdentifier(Key.self)
        return KeyedEncodingContainer(BinaryKeyedEncodingContainer<Key>(encoder: scratch))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { scratch.unkeyedContainer() }
    func singleValueContainer() -> any SingleValueEncodingContainer { scratch.singleValueContainer() }
}
