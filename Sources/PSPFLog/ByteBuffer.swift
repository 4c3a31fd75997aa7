/// A growable raw byte buffer, reused across batches (grows, never shrinks unless asked).
/// Not thread-safe; owners hand it between threads under a lock.
final class ByteBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Makes room for `extra` more bytes and returns where they go (not yet counted).
    @inline(__always)
    func reserve(_ extra: Int) -> UnsafeMutableRawPointer {
        if count + extra > capacity { grow(to: count + extra) }
        return base + count
    }

    /// Ensures capacity for `total` bytes, keeping the first `count`.
    func ensureCapacity(_ total: Int) {
        if total > capacity { grow(to: total) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    func append(_ source: UnsafeRawBufferPointer) {
        guard let from = source.baseAddress, source.count > 0 else { return }
        reserve(source.count).copyMemory(from: from, byteCount: source.count)
        count += source.count
    }

    /// Shrinks an empty buffer whose capacity grew beyond `limit` back to `limit / 4` bytes.
    func trim(to limit: Int) {
        guard capacity > limit, count == 0 else { return }
        base.deallocate()
        capacity = max(64, limit / 4)
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }
}
