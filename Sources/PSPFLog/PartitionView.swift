/// One segment as the writer, readers and retention see it.
struct SegmentInfo: Sendable, Hashable {
    var baseOffset: Int64
    /// Next offset after its last record (for closed segments: the next segment's base offset).
    var endOffset: Int64
    /// Bytes of its `.log` file (readers: readable bytes).
    var bytes: Int
    var indexBytes: Int
    /// Append time of its last record (nil: empty).
    var lastAppendTime: Int64?

    var diskBytes: Int64 { Int64(bytes + indexBytes) }
}

/// A partition's readable state, published by the writer thread after each cycle. Closed
/// segments are durable; the active segment shows only its durable (policy `.none`: written)
/// prefix.
struct PartitionView: Sendable {
    var closed: [SegmentInfo]
    var active: SegmentInfo
    /// Incremented by every truncation, so readers drop buffered bytes.
    var epoch: UInt64 = 0

    var startOffset: Int64 { closed.first?.baseOffset ?? active.baseOffset }
    var endOffset: Int64 { active.endOffset }
    var segmentCount: Int { closed.count + 1 }
    var diskBytes: Int64 { closed.reduce(active.diskBytes) { $0 + $1.diskBytes } }

    func segment(at index: Int) -> SegmentInfo { index < closed.count ? closed[index] : active }

    /// Index of the last segment whose base offset is ≤ `offset` (0 if none).
    func segmentIndex(containing offset: Int64) -> Int {
        if offset >= active.baseOffset { return closed.count }
        var low = 0
        var high = closed.count
        while low < high {
            let mid = (low + high) / 2
            if closed[mid].baseOffset <= offset { low = mid + 1 } else { high = mid }
        }
        return max(0, low - 1)
    }

    /// Index of the segment with this base offset, if still present.
    func segmentIndex(base: Int64) -> Int? {
        if base == active.baseOffset { return closed.count }
        let i = segmentIndex(containing: base)
        return i < closed.count && closed[i].baseOffset == base ? i : nil
    }

    var info: (start: Int64, end: Int64, segments: Int, bytes: Int64) {
        (startOffset, endOffset, segmentCount, diskBytes)
    }
}
