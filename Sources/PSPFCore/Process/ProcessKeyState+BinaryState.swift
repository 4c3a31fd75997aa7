// The checkpoint fast path of a process operator's state. It applies when the function's
// `State` (and, for the operator-wide row, its `OperatorState`) adopts BinaryStateCodable.

/// `time`, `sequence` (zigzag varints).
extension KeyTimer: BinaryStateCodable {
    func write(to writer: inout BinaryStateWriter) {
        writer.write(time)
        writer.write(sequence)
    }

    init(from reader: inout BinaryStateReader) throws {
        self.init(time: try reader.readInt64(), sequence: try reader.readInt64())
    }
}

/// `maxTimestamp`, `watermark` (delta to `maxTimestamp`), the optional user state, the
/// event-time timers, the processing-time timers.
extension ProcessKeyState: BinaryStateWritable where State: BinaryStateWritable {
    func write(to writer: inout BinaryStateWriter) {
        writer.write(maxTimestamp)
        writer.writeDelta(watermark, from: maxTimestamp)
        state.write(to: &writer)
        eventTimers.write(to: &writer)
        processingTimers.write(to: &writer)
    }
}

extension ProcessKeyState: BinaryStateReadable where State: BinaryStateReadable {
    init(from reader: inout BinaryStateReader) throws {
        self.init()
        maxTimestamp = try reader.readInt64()
        watermark = try reader.readDelta(from: maxTimestamp)
        state = try State?(from: &reader)
        eventTimers = try [KeyTimer](from: &reader)
        processingTimers = try [KeyTimer](from: &reader)
    }
}

/// The operator state, then `timerSequence`.
extension ProcessOperatorSnapshot: BinaryStateWritable where OperatorState: BinaryStateWritable {
    func write(to writer: inout BinaryStateWriter) {
        operatorState.write(to: &writer)
        writer.write(timerSequence)
    }
}

extension ProcessOperatorSnapshot: BinaryStateReadable where OperatorState: BinaryStateReadable {
    init(from reader: inout BinaryStateReader) throws {
        let operatorState = try OperatorState(from: &reader)
        self.init(operatorState: operatorState, timerSequence: try reader.readInt64())
    }
}

/// Nothing.
extension NoOperatorState: BinaryStateCodable {
    public func write(to writer: inout BinaryStateWriter) {}
    public init(from reader: inout BinaryStateReader) throws { self.init() }
}
