/// The on-disk frame of one record (specified in `docs/log-format.md`). All integers are
/// little-endian and read with unaligned loads.
///
/// ```
///  0  u32  length         bytes after this field: 40 + keyLength + topicLength + payloadLength
///  4  u32  crc32c         CRC-32C of bytes 8 ..< 4 + length
///  8  i64  offset
/// 16  i64  eventTime      ms since the epoch; Int64.min = none
/// 24  i64  appendTime     ms since the epoch
/// 32  u8   magic          1
/// 33  u8   reserved       0
/// 34  u16  attributes     application-defined flags
/// 36  u16  keyLength
/// 38  u16  topicLength
/// 40  u32  payloadLength
/// 44  key, topic, payload bytes
/// ```
public enum RecordFrame {
    /// Bytes before the key.
    public static let headerBytes = 44
    /// The format version in byte 32.
    public static let magic: UInt8 = 1
    /// Hard upper bound of key + topic + payload bytes of one record (64 MiB).
    public static let maxRecordBytes = 64 << 20
    /// Event time stored when a record has none.
    public static let noEventTime = Int64.min

    static let lengthField = 0
    static let crcField = 4
    static let offsetField = 8
    static let eventTimeField = 16
    static let appendTimeField = 24
    static let magicField = 32
    static let reservedField = 33
    static let attributesField = 34
    static let keyLengthField = 36
    static let topicLengthField = 38
    static let payloadLengthField = 40
    /// `length` minus the variable part.
    static let fixedLength = headerBytes - 4

    /// The whole frame size of a record.
    @inlinable
    public static func frameBytes(keyCount: Int, topicCount: Int, payloadCount: Int) -> Int {
        44 + keyCount + topicCount + payloadCount
    }

    /// Writes a complete frame header (CRC left zero) at `p`, followed by key, topic and payload.
    /// Returns the frame size.
    @discardableResult
    static func encode(
        into p: UnsafeMutableRawPointer,
        offset: Int64, eventTime: Int64, appendTime: Int64, attributes: UInt16,
        key: UnsafeRawBufferPointer, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer
    ) -> Int {
        let total = headerBytes + key.count + topic.count + payload.count
        p.storeBytes(of: UInt32(total - 4).littleEndian, toByteOffset: lengthField, as: UInt32.self)
        p.storeBytes(of: UInt32(0), toByteOffset: crcField, as: UInt32.self)
        p.storeBytes(of: offset.littleEndian, toByteOffset: offsetField, as: Int64.self)
        p.storeBytes(of: eventTime.littleEndian, toByteOffset: eventTimeField, as: Int64.self)
        p.storeBytes(of: appendTime.littleEndian, toByteOffset: appendTimeField, as: Int64.self)
        p.storeBytes(of: magic, toByteOffset: magicField, as: UInt8.self)
        p.storeBytes(of: UInt8(0), toByteOffset: reservedField, as: UInt8.self)
        p.storeBytes(of: attributes.littleEndian, toByteOffset: attributesField, as: UInt16.self)
        p.storeBytes(of: UInt16(key.count).littleEndian, toByteOffset: keyLengthField, as: UInt16.self)
        p.storeBytes(of: UInt16(topic.count).littleEndian, toByteOffset: topicLengthField, as: UInt16.self)
        p.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: payloadLengthField, as: UInt32.self)
        var at = headerBytes
        if let base = key.baseAddress, key.count > 0 {
            (p + at).copyMemory(from: base, byteCount: key.count)
            at += key.count
        }
        if let base = topic.baseAddress, topic.count > 0 {
            (p + at).copyMemory(from: base, byteCount: topic.count)
            at += topic.count
        }
        if let base = payload.baseAddress, payload.count > 0 {
            (p + at).copyMemory(from: base, byteCount: payload.count)
        }
        return total
    }

    /// Sets offset and append time of an encoded frame (before its CRC is computed).
    @inline(__always)
    static func stamp(_ p: UnsafeMutableRawPointer, offset: Int64, appendTime: Int64) {
        p.storeBytes(of: offset.littleEndian, toByteOffset: offsetField, as: Int64.self)
        p.storeBytes(of: appendTime.littleEndian, toByteOffset: appendTimeField, as: Int64.self)
    }

    /// Computes and stores the CRC of a complete frame of `frameBytes` bytes.
    @inline(__always)
    static func seal(_ p: UnsafeMutableRawPointer, frameBytes: Int) {
        let crc = CRC32C.update(0, UnsafeRawPointer(p + 8), frameBytes - 8)
        p.storeBytes(of: crc.littleEndian, toByteOffset: crcField, as: UInt32.self)
    }

    @inline(__always)
    static func u16(_ p: UnsafeRawPointer, _ at: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }
    @inline(__always)
    static func u32(_ p: UnsafeRawPointer, _ at: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }
    @inline(__always)
    static func i64(_ p: UnsafeRawPointer, _ at: Int) -> Int64 {
        Int64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: Int64.self))
    }

    /// The frame size stored in an encoded frame's header.
    @inline(__always)
    static func frameBytes(at p: UnsafeRawPointer) -> Int { Int(u32(p, lengthField)) &+ 4 }

    @inline(__always)
    static func offset(at p: UnsafeRawPointer) -> Int64 { i64(p, offsetField) }

    @inline(__always)
    static func appendTime(at p: UnsafeRawPointer) -> Int64 { i64(p, appendTimeField) }

    /// The outcome of checking the bytes at a position.
    enum Check: Equatable {
        /// A complete frame whose structure and CRC are valid.
        case valid(frameBytes: Int)
        /// The header is plausible but the frame needs this many bytes in total.
        case needMore(frameBytes: Int)
        /// Not a frame: bad length, magic, lengths or CRC.
        case invalid
    }

    /// Checks the frame at `p` with `available` bytes readable there. The header is checked
    /// first (cheap), then the CRC over the whole frame.
    @inline(__always)
    static func check(_ p: UnsafeRawPointer, available: Int) -> Check {
        if available < headerBytes { return .needMore(frameBytes: headerBytes) }
        let length = Int(u32(p, lengthField))
        guard length >= fixedLength, length <= fixedLength + maxRecordBytes,
              p.load(fromByteOffset: magicField, as: UInt8.self) == magic,
              p.load(fromByteOffset: reservedField, as: UInt8.self) == 0
        else { return .invalid }
        let variable = Int(u16(p, keyLengthField)) + Int(u16(p, topicLengthField)) + Int(u32(p, payloadLengthField))
        guard length == fixedLength + variable else { return .invalid }
        let frame = length + 4
        if available < frame { return .needMore(frameBytes: frame) }
        let crc = CRC32C.update(0, p + 8, length - 4)
        return crc == u32(p, crcField) ? .valid(frameBytes: frame) : .invalid
    }
}
