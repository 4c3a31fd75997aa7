/// How an operator encodes its keys for snapshots: like ``StateValueCoding``, plus a cache of
/// each slot's bytes while the binary fast path produces them. Fast-path bytes depend only on
/// the key, not on the codec, and a key never changes, so a checkpoint hands over the same
/// array again instead of encoding and allocating it anew for every changed key (and the
/// checkpoint's working set, which keeps the key too, shares its storage).
struct StateKeyCoding<Key: Codable> {
    private var coding = StateValueCoding<Key>()
    /// Encoded keys of slots `0..<cache.count` (fast path only).
    private var cache: [[UInt8]] = []

    private func cacheable(_ codec: any StateCodec) -> Bool { coding.hasFastPath && codec.prefersBinaryState }

    /// The bytes of the key in `slot` (`keys[slot]`).
    mutating func encode(slot: Int, of keys: [Key], with codec: any StateCodec) throws -> [UInt8] {
        guard cacheable(codec) else { return try coding.encode(keys[slot], with: codec) }
        // Slots are dense and snapshots visit them in ascending order: fill up to this one.
        while cache.count <= slot { cache.append(try coding.encode(keys[cache.count], with: codec)) }
        return cache[slot]
    }

    /// Decodes a restored key; `slot` is where the operator put it, so its bytes can be reused.
    mutating func decode(_ bytes: [UInt8], with codec: any StateCodec) throws -> Key {
        try coding.decode(bytes, with: codec)
    }

    /// Remembers the restored bytes of a new slot (restores create slots in ascending order).
    mutating func restored(_ bytes: [UInt8], slot: Int, with codec: any StateCodec) {
        if cacheable(codec) && slot == cache.count { cache.append(bytes) }
    }
}
