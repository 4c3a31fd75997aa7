/// The stable key hash that routes records to partitions.
///
/// `partition = (murmur2(key) & 0x7FFF_FFFF) % partitionCount`, the same function and seed as
/// Apache Kafka's default partitioner (`Utils.murmur2`, seed `0x9747B28C`, `toPositive`), so a key
/// lands in the same partition in every PSPF version, every run, and in Kafka with the same
/// partition count. Records with an empty key are spread round-robin (see ``LogTopic``).
/// The function is specified byte by byte, with test vectors, in `docs/log-format.md`.
public enum KeyHash {
    /// Kafka's murmur2 of `key` (as an unsigned 32-bit value; Kafka prints it as a signed `Int32`).
    public static func murmur2(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let m: UInt32 = 0x5BD1_E995
        let r: UInt32 = 24
        let length = key.count
        var h: UInt32 = 0x9747_B28C ^ UInt32(truncatingIfNeeded: length)
        guard let base = key.baseAddress else { return finish(h) }
        let blocks = length / 4
        var i = 0
        while i < blocks {
            var k = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
            k = k &* m
            k ^= k &>> r
            k = k &* m
            h = h &* m
            h ^= k
            i &+= 1
        }
        let tail = blocks &* 4
        switch length & 3 {
        case 3:
            h ^= UInt32(base.load(fromByteOffset: tail + 2, as: UInt8.self)) << 16
            fallthrough
        case 2:
            h ^= UInt32(base.load(fromByteOffset: tail + 1, as: UInt8.self)) << 8
            fallthrough
        case 1:
            h ^= UInt32(base.load(fromByteOffset: tail, as: UInt8.self))
            h = h &* m
        default:
            break
        }
        return finish(h)

        func finish(_ value: UInt32) -> UInt32 {
            var h = value
            h ^= h &>> 13
            h = h &* m
            h ^= h &>> 15
            return h
        }
    }

    /// Kafka's murmur2 of `key`.
    public static func murmur2(_ key: some Collection<UInt8>) -> UInt32 {
        if let hash = key.withContiguousStorageIfAvailable({ murmur2(UnsafeRawBufferPointer($0)) }) {
            return hash
        }
        return Array(key).withUnsafeBytes { murmur2($0) }
    }

    /// The partition of a non-empty key among `partitionCount` partitions.
    @inlinable
    public static func partition(hash: UInt32, partitionCount: Int) -> Int {
        Int(hash & 0x7FFF_FFFF) % partitionCount
    }

    /// The partition of a non-empty key among `partitionCount` partitions.
    public static func partition(forKey key: UnsafeRawBufferPointer, partitionCount: Int) -> Int {
        partition(hash: murmur2(key), partitionCount: partitionCount)
    }
}
