// The checkpoint fast path of the window operator's per-key state: what every dirty key of a
// windowed pipeline writes at every checkpoint, so it is kept small. Timestamps are written as
// deltas to a related value (zigzag varints, wrapping arithmetic: exact for every Int64, the
// `Int64.min` sentinels included): an open window of the reference pipeline takes ~13 bytes
// for its times instead of ~25.

/// `maxTimestamp` (absolute), `watermark` (delta to `maxTimestamp`), `lastArrival` (absolute,
/// processing time), `nextSequence`, the number of open windows, then each window: `start`
/// (delta to the previous window's start; the first to ``firstStartBase``), `end` (delta to
/// `start`), `minTime` (delta to `start`), `maxTime` (delta to `minTime`), `count`, the
/// accumulator.
extension WindowKeyState: BinaryStateWritable where Accumulator: BinaryStateWritable {
    func write(to writer: inout BinaryStateWriter) {
        write(to: &writer) { accumulator, writer in accumulator.write(to: &writer) }
    }
}

extension WindowKeyState: BinaryStateReadable where Accumulator: BinaryStateReadable {
    init(from reader: inout BinaryStateReader) throws {
        try self.init(from: &reader) { reader in try Accumulator(from: &reader) }
    }
}

extension WindowKeyState {
    /// The encoding above, with the accumulator's part passed in. The window operator calls
    /// this from its own (specialized) code with the accumulator's fast path looked up at run
    /// time, so only the accumulator is written by unspecialized generic code; the window
    /// fields and the loop over windows stay concrete (no generic metadata lookups per key).
    @inline(__always)
    func write(
        to writer: inout BinaryStateWriter, accumulators writeAccumulator: (Accumulator, inout BinaryStateWriter) -> Void
    ) {
        writer.write(maxTimestamp)
        writer.writeDelta(watermark, from: maxTimestamp)
        writer.write(lastArrival)
        writer.write(nextSequence)
        writer.writeCount(windows.count)
        var base = firstStartBase
        for i in windows.indices {
            let start = windows[i].start
            writer.writeDelta(start, from: base)
            writer.writeDelta(windows[i].end, from: start)
            writer.writeDelta(windows[i].minTime, from: start)
            writer.writeDelta(windows[i].maxTime, from: windows[i].minTime)
            writer.write(windows[i].count)
            writeAccumulator(windows[i].accumulator, &writer)
            base = start
        }
    }

    /// The inverse of ``write(to:accumulators:)``.
    init(
        from reader: inout BinaryStateReader, accumulators readAccumulator: (inout BinaryStateReader) throws -> Accumulator
    ) throws {
        self.init()
        maxTimestamp = try reader.readInt64()
        watermark = try reader.readDelta(from: maxTimestamp)
        lastArrival = try reader.readInt64()
        nextSequence = try reader.readInt64()
        // Each window takes at least 5 bytes (five varints, then its accumulator).
        let n = try reader.readCount(minimumElementBytes: 5)
        windows.reserveCapacity(n)
        var base = firstStartBase
        for _ in 0..<n {
            let start = try reader.readDelta(from: base)
            let end = try reader.readDelta(from: start)
            let minTime = try reader.readDelta(from: start)
            let maxTime = try reader.readDelta(from: minTime)
            let count = try reader.readInt64()
            windows.append(
                OpenWindow(
                    start: start, end: end, minTime: minTime, maxTime: maxTime, count: count,
                    accumulator: try readAccumulator(&reader)))
            base = start
        }
    }
}

extension WindowKeyState {
    /// What the first window's start is written relative to, from fields written before it: a
    /// count window's start is a sequence number (`nextSequence − 1`), an event-time window's is
    /// near the key's maximum timestamp, a processing-time window's near its last arrival.
    var firstStartBase: Int64 {
        if nextSequence != 0 { return nextSequence }
        return maxTimestamp != .min ? maxTimestamp : lastArrival
    }
}
