import CPSPFChecksum

/// CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`), the checksum of every record frame
/// and of the consumer-group offsets files.
///
/// With the CPU's CRC instructions when it has them (x86-64 SSE 4.2, ARMv8 CRC32; checked once
/// at run time), eight bytes per instruction. Otherwise pure Swift, slice-by-8: eight 256-entry
/// tables, eight bytes per step. Both read unaligned straight from the caller's buffer (no copies,
/// no allocation) and give the same checksums.
///
/// ```swift
/// let crc = "123456789".utf8.withContiguousStorageIfAvailable {
///     CRC32C.checksum(UnsafeRawBufferPointer($0))
/// }   // 0xE3069283
/// ```
public enum CRC32C {
    /// The checksum of `bytes`.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return update(0, base, bytes.count)
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Continues a checksum: `update(checksum(a), b)` equals `checksum(a + b)`.
    @inlinable
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return update(crc, base, bytes.count)
    }

    /// Continues a checksum over `count` bytes at `pointer` (no alignment required).
    @usableFromInline
    static func update(_ crc: UInt32, _ pointer: UnsafeRawPointer, _ count: Int) -> UInt32 {
        if isHardwareAccelerated { return pspf_crc32c_hardware_update(crc, pointer, count) }
        return softwareUpdate(crc, pointer, count)
    }

    /// Whether checksums use the CPU's CRC-32C instructions.
    public static let isHardwareAccelerated = pspf_crc32c_hardware_available() != 0

    /// The slice-by-8 table implementation (the fallback; tests compare both).
    static func softwareUpdate(_ crc: UInt32, _ pointer: UnsafeRawPointer, _ count: Int) -> UInt32 {
        let t = tables
        var c = ~crc
        var p = pointer
        var n = count
        while n >= 8 {
            let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            let lo = c ^ UInt32(truncatingIfNeeded: word)
            let hi = UInt32(truncatingIfNeeded: word &>> 32)
            c = t[7 &* 256 &+ Int(lo & 0xFF)]
                ^ t[6 &* 256 &+ Int((lo &>> 8) & 0xFF)]
                ^ t[5 &* 256 &+ Int((lo &>> 16) & 0xFF)]
                ^ t[4 &* 256 &+ Int(lo &>> 24)]
                ^ t[3 &* 256 &+ Int(hi & 0xFF)]
                ^ t[2 &* 256 &+ Int((hi &>> 8) & 0xFF)]
                ^ t[1 &* 256 &+ Int((hi &>> 16) & 0xFF)]
                ^ t[Int(hi &>> 24)]
            p += 8
            n &-= 8
        }
        while n > 0 {
            c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c &>> 8)
            p += 1
            n &-= 1
        }
        return ~c
    }

    /// 8 × 256 table entries in one allocation that lives for the whole process, so the hot loop
    /// indexes a raw pointer without bounds checks or retain/release.
    nonisolated(unsafe) static let tables: UnsafePointer<UInt32> = {
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return UnsafePointer(t)
    }()
}
