/// One sparse index entry: 8 bytes on disk, `u32 relativeOffset` (record offset − segment base)
/// then `u32 position` (byte position of that record's frame in the `.log` file), little-endian.
struct IndexEntry: Hashable, Sendable {
    var relativeOffset: UInt32
    var position: UInt32

    static let size = 8
}

enum OffsetIndex {
    static func encode(_ entries: some Collection<IndexEntry>, into buffer: ByteBuffer) {
        let p = buffer.reserve(entries.count * IndexEntry.size)
        var at = 0
        for entry in entries {
            p.storeBytes(of: entry.relativeOffset.littleEndian, toByteOffset: at, as: UInt32.self)
            p.storeBytes(of: entry.position.littleEndian, toByteOffset: at + 4, as: UInt32.self)
            at += IndexEntry.size
        }
        buffer.count += at
    }

    /// Decodes an index file's bytes, keeping the longest prefix that is strictly increasing in
    /// both fields and points below `segmentBytes` (so a damaged index never misleads a seek).
    static func decode(_ bytes: UnsafeRawBufferPointer, segmentBytes: Int) -> [IndexEntry] {
        let count = bytes.count / IndexEntry.size
        var entries: [IndexEntry] = []
        entries.reserveCapacity(count)
        guard let base = bytes.baseAddress else { return entries }
        var previous: IndexEntry?
        for i in 0..<count {
            let entry = IndexEntry(
                relativeOffset: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 8, as: UInt32.self)),
                position: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 8 + 4, as: UInt32.self))
            )
            if let previous, entry.relativeOffset <= previous.relativeOffset || entry.position <= previous.position { break }
            if Int(entry.position) >= segmentBytes { break }
            entries.append(entry)
            previous = entry
        }
        return entries
    }

    /// The last entry whose relative offset is ≤ `relativeOffset` and whose position is below
    /// `limit`, or nil (start at position 0).
    static func floor(_ entries: [IndexEntry], relativeOffset: UInt32, limit: Int) -> IndexEntry? {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].relativeOffset <= relativeOffset { low = mid + 1 } else { high = mid }
        }
        var i = low - 1
        while i >= 0, Int(entries[i].position) >= limit { i -= 1 }
        return i >= 0 ? entries[i] : nil
    }
}
