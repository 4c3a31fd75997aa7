/// FNV-1a, 64 bit.
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}


    public mutating func combine(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x0000_0100_0000_01b3
    }

    public mutating func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { combine(byte) }
    }

    /// The hash as 16 lowercase hex digits.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        var v = value
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The stable id of a window result: FNV-1a 64 over the UTF-8 bytes of
/// `pipeline ␀ keyDescription ␀ decimal(windowStart)` as 16 lowercase hex digits. Count windows
/// use their per-key sequence number in place of the start.
public func stableResultID(pipeline: String, keyDescription: String, windowStartOrSequence: Int64) -> String {
    var h = FNV1a64()
    h.combine(pipeline.utf8)
    h.combine(0)
    h.combine(keyDescription.utf8)
    h.combine(0)
    h.combine(String(windowStartOrSequence).utf8)
    return h.hex
}
