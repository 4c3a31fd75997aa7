import HeapModule

/// The window operator's state for one key — exactly what a checkpoint stores per key.
struct WindowKeyState<Accumulator: Codable & Sendable>: Codable, Sendable {
    /// Largest event time seen for the key (`Int64.min` before the first element).
    var maxTimestamp: Int64 = .min
    /// The key's watermark: `maxTimestamp − outOfOrderness`, moved further by idle timeouts and
    /// `finish()`.
    var watermark: Int64 = .min
    /// Processing time of the key's last element.
    var lastArrival: Int64 = .min
    /// Next count-window sequence number.
    var nextSequence: Int64 = 0
    /// Open windows in start order (time windows of one key never share a start, and their
    /// ends are in the same order, so the front window is always the next to fire).
    var windows: [OpenWindow<Accumulator>] = []
}

/// One open window of one key.
struct OpenWindow<Accumulator: Codable & Sendable>: Codable, Sendable {
    /// Time windows: the start. Count windows: the sequence number.
    var start: Int64
    /// Time windows: the (exclusive) end. Count windows: unused.
    var end: Int64
    /// Smallest and largest element timestamp.
    var minTime: Int64
    var maxTime: Int64
    var count: Int64
    var accumulator: Accumulator
}

/// Windows a keyed stream and aggregates each window incrementally.
///
/// Built on the same keyed runtime as ``KeyedProcessFunction`` operators (slot table, activity
/// list for idle timeouts, processing-time timer heap, dirty set, snapshots). Its event-time
/// timers are implicit: a key's open windows, sorted by end, are its timer queue, which saves
/// a timer registration per window.
final class WindowOperator<Key: Hashable & Sendable & Codable, Element, Agg: Aggregator>: OperatorNode
where Agg.Input == Element {
    typealias Accumulator = Agg.Accumulator

    private unowned(unsafe) let runtime: ExecutionRuntime
    var operatorID = ""
    let operatorKind = "window"
    let operatorDescription: String
    private let pipeline: String
    private let keyOf: @Sendable (Element) -> Key
    private let extract: (@Sendable (Element) -> Timestamp)?
    private let outOfOrderness: Int64
    private let lateness: Int64
    /// Idle timeout in ms if it applies (event time, or count windows in processing time).
    private let idleTimeout: Int64?
    private let kind: WindowSpec.Kind
    private let isCount: Bool
    private let aggregator: Agg
    private let emit: (WindowResult<Key, Agg.Output>) -> Void

    @exclusivity(unchecked) private var table = KeyTable<Key>()
    @exclusivity(unchecked) private var states: [WindowKeyState<Accumulator>] = []
    @exclusivity(unchecked) private var activity = ActivityList()
    @exclusivity(unchecked) private var dirty = DirtySet()
    /// Processing-time mode: when each window is due (duplicates are harmless).
    @exclusivity(unchecked) private var timers = Heap<ProcessingTimer>()
    @exclusivity(unchecked) private var timerSequence: Int64 = 0
    /// Snapshot encoding of keys and per-key state (the binary fast path when they have one).
    @exclusivity(unchecked) private var keyCoding = StateKeyCoding<Key>()
    /// The accumulator's binary fast path, nil if it has none (then a key's state goes through
    /// the codec's `Codable` path). Only the accumulator is written through it: the window
    /// fields are written by this (specialized) operator itself, see `WindowKeyState.write`.
    private let accumulatorFastPath = BinaryStateFastPath(Accumulator.self)
    @exclusivity(unchecked) private var stateWriter = BinaryStateWriter(capacity: 0)
    /// `takeSnapshot` and `restoreEntries` as closures formed in `init`: the runtime calls
    /// `snapshot`/`restore` through `any OperatorNode`, which reaches the unspecialized generic
    /// code (a generic metadata lookup per window, retains per field). `init` runs specialized
    /// for the concrete key and accumulator (cross-module optimization), so these closures do too.
    private var snapshotBody: ((any StateCodec, Bool) throws -> [StateEntry])?
    private var restoreBody: (([StateEntry], any StateCodec) throws -> Void)?
    private var batchBody: ((any StateCodec, Int) throws -> StateSnapshotBatch)?
    /// Writes the states of the given slots back to back, recording where each ends: the per-key
    /// loop of a batch, as a closure literal in `init` so that it runs specialized (the body of
    /// `takeBatch` is not reliably specialized across modules; unspecialized, every key costs a
    /// value-witness copy of its state and generic metadata lookups).
    private var writeStates:
        ((UnsafeBufferPointer<Int32>, Range<Int>, (Accumulator, inout BinaryStateWriter) -> Void,
          inout BinaryStateWriter, inout [Int]) -> Void)?
    /// Bytes of the last batch, to size the next one's buffer.
    @exclusivity(unchecked) private var lastBatchBytes = 0

    init(
        runtime: ExecutionRuntime, keyOf: @escaping @Sendable (Element) -> Key, time: TimeConfig<Element>,
        spec: WindowSpec, aggregator: Agg, emit: @escaping (WindowResult<Key, Agg.Output>) -> Void
    ) {
        self.runtime = runtime
        self.pipeline = runtime.context.pipeline
        self.keyOf = keyOf
        self.extract = time.extract
        self.outOfOrderness = time.outOfOrderness
        self.lateness = time.allowedLateness
        self.kind = spec.kind
        if case .count = spec.kind { isCount = true } else { isCount = false }
        self.idleTimeout = (time.isEventTime || isCount) ? time.idleTimeout : nil
        self.aggregator = aggregator
        self.emit = emit
        self.operatorDescription = "window \(spec) \(time.description) aggregate \(Agg.self)"
        runtime.register(self)
        snapshotBody = { [unowned(unsafe) self] codec, dirtyOnly in try self.takeSnapshot(codec: codec, dirtyOnly: dirtyOnly) }
        restoreBody = { [unowned(unsafe) self] entries, codec in try self.restoreEntries(entries, codec: codec) }
        batchBody = { [unowned(unsafe) self] codec, keysFrom in try self.takeBatch(codec: codec, keysFrom: keysFrom) }
        writeStates = { [unowned(unsafe) self] slots, newSlots, write, writer, ends in
            for slot in slots {
                self.states[Int(slot)].write(to: &writer, accumulators: write)
                ends.append(writer.count)
            }
            for slot in newSlots {
                self.states[slot].write(to: &writer, accumulators: write)
                ends.append(writer.count)
            }
        }
    }

    // MARK: Processing

    func process(_ element: Element) {
        let now = runtime.processingTime
        let ts: Int64
        if let extract {
            ts = extract(element).milliseconds
            if ts <= -timestampLimit || ts >= timestampLimit {
                runtime.reportDeadLetter(.timestampOutOfRange, "event time \(ts) ms is outside ±2^62 ms")
                return
            }
        } else {
            ts = now
        }
        let (slot, isNew) = table.slot(for: keyOf(element))
        if isNew {
            states.append(WindowKeyState())
            activity.addSlot()
            dirty.addSlot()
        }
        // A key whose idle deadline passed before this element arrived closes its windows first.
        if let idle = idleTimeout, !states[slot].windows.isEmpty, saturatingAdd(states[slot].lastArrival, idle) <= now {
            fireAll(slot)
        }
        let watermark = currentWatermark(slot)
        switch kind {
        case let .tumbling(size, offset):
            let start = ts - floorMod(ts - offset, size)
            let end = start + size
            if end - 1 + lateness <= watermark {
                reportLate(slot, ts, watermark, start, end)
            } else {
                add(element, ts, toWindowStarting: start, end: end, slot: slot)
            }
        case let .hopping(size, slide, offset):
            let lastStart = ts - floorMod(ts - offset, slide)
            if lastStart + size - 1 + lateness <= watermark {
                reportLate(slot, ts, watermark, lastStart, lastStart + size)
            } else {
                var start = lastStart - ((lastStart - ts + size - 1) / slide) * slide
                while start <= lastStart {
                    if start + size - 1 + lateness > watermark {
                        add(element, ts, toWindowStarting: start, end: start + size, slot: slot)
                    }
                    start += slide
                }
            }
        case let .session(gap, maxLength):
            addToSession(element, ts, gap: gap, maxLength: maxLength ?? .max, watermark: watermark, slot: slot)
        case let .count(n):
            addToCountWindow(element, ts, size: n, slot: slot)
        }
        if extract != nil, ts > states[slot].maxTimestamp {
            states[slot].maxTimestamp = ts
            let w = ts - outOfOrderness
            if w > states[slot].watermark { states[slot].watermark = w }
        }
        if !isCount { fireReady(slot, watermark: currentWatermark(slot)) }
        states[slot].lastArrival = now
        if idleTimeout != nil {
            if states[slot].windows.isEmpty { activity.unlink(slot) } else { activity.moveToBack(slot) }
        }
        dirty.mark(slot)
    }

    /// The watermark that decides firing: the key's own in event time; in processing time,
    /// `now − 1` (every element with a smaller time has been seen).
    @inline(__always)
    private func currentWatermark(_ slot: Int) -> Int64 {
        extract == nil ? Swift.max(states[slot].watermark, runtime.processingTime - 1) : states[slot].watermark
    }

    @inline(__always)
    private func add(_ element: Element, _ ts: Int64, toWindowStarting start: Int64, end: Int64, slot: Int) {
        var i = states[slot].windows.count
        while i > 0 && states[slot].windows[i - 1].start > start { i -= 1 }
        if i > 0 && states[slot].windows[i - 1].start == start {
            addElement(element, ts, slot: slot, window: i - 1)
        } else {
            openWindow(element, ts, start: start, end: end, slot: slot, at: i)
        }
    }

    @inline(__always)
    private func addElement(_ element: Element, _ ts: Int64, slot: Int, window i: Int) {
        aggregator.add(&states[slot].windows[i].accumulator, element, at: Timestamp(milliseconds: ts))
        states[slot].windows[i].count &+= 1
        if ts < states[slot].windows[i].minTime { states[slot].windows[i].minTime = ts }
        if ts > states[slot].windows[i].maxTime { states[slot].windows[i].maxTime = ts }
    }

    private func openWindow(_ element: Element, _ ts: Int64, start: Int64, end: Int64, slot: Int, at i: Int) {
        var window = OpenWindow(start: start, end: end, minTime: ts, maxTime: ts, count: 1, accumulator: aggregator.initial())
        aggregator.add(&window.accumulator, element, at: Timestamp(milliseconds: ts))
        states[slot].windows.insert(window, at: i)
        runtime.metrics.windowsOpen &+= 1
        if !isCount { scheduleProcessingTimeFiring(slot, end: end) }
    }

    @inline(__always)
    private func scheduleProcessingTimeFiring(_ slot: Int, end: Int64) {
        guard extract == nil else { return }
        timerSequence &+= 1
        timers.insert(ProcessingTimer(time: end, sequence: timerSequence, slot: Int32(slot)))
    }

    /// Sessions: see docs/engine.md, "Session windows".
    private func addToSession(_ element: Element, _ ts: Int64, gap: Int64, maxLength: Int64, watermark: Int64, slot: Int) {
        let ownEnd = Swift.min(ts + gap, saturatingAdd(ts, maxLength))
        let n = states[slot].windows.count
        var lo = 0
        while lo < n && states[slot].windows[lo].end <= ts { lo += 1 }
        var hi = lo
        while hi < n && states[slot].windows[hi].start < ownEnd { hi += 1 }
        if lo == hi {
            openSession(element, ts, start: ts, end: ownEnd, watermark: watermark, slot: slot, at: lo)
            return
        }
        let mergedStart = Swift.min(ts, states[slot].windows[lo].start)
        let mergedMax = Swift.max(ts, states[slot].windows[hi - 1].maxTime)
        let limit = saturatingAdd(mergedStart, maxLength)
        if mergedMax < limit {
            // The element bridges/extends sessions lo..<hi: merge them, in start order.
            let mergedEnd = Swift.min(Swift.max(ownEnd, states[slot].windows[hi - 1].end), limit)
            for j in (lo + 1)..<hi {
                let other = states[slot].windows[j]
                aggregator.merge(&states[slot].windows[lo].accumulator, other.accumulator)
                states[slot].windows[lo].count &+= other.count
                states[slot].windows[lo].minTime = Swift.min(states[slot].windows[lo].minTime, other.minTime)
                states[slot].windows[lo].maxTime = Swift.max(states[slot].windows[lo].maxTime, other.maxTime)
            }
            if hi - lo > 1 {
                states[slot].windows.removeSubrange((lo + 1)..<hi)
                runtime.metrics.windowsOpen &-= Int64(hi - lo - 1)
            }
            states[slot].windows[lo].start = mergedStart
            let oldEnd = states[slot].windows[lo].end
            states[slot].windows[lo].end = mergedEnd
            addElement(element, ts, slot: slot, window: lo)
            if mergedEnd != oldEnd { scheduleProcessingTimeFiring(slot, end: mergedEnd) }
            return
        }
        // Merging everything would exceed maxLength.
        if let c = (lo..<hi).first(where: { states[slot].windows[$0].start <= ts }) {
            // Join the session that contains ts, extending it as far as allowed.
            let nextStart = c + 1 < n ? states[slot].windows[c + 1].start : Int64.max
            let w = states[slot].windows[c]
            let newEnd = Swift.min(Swift.max(w.end, ownEnd), saturatingAdd(w.start, maxLength), nextStart)
            states[slot].windows[c].end = newEnd
            addElement(element, ts, slot: slot, window: c)
            if newEnd != w.end { scheduleProcessingTimeFiring(slot, end: newEnd) }
        } else {
            // ts lies in the gap before session lo: a new session that stops where lo starts.
            let end = Swift.min(ownEnd, states[slot].windows[lo].start)
            openSession(element, ts, start: ts, end: end, watermark: watermark, slot: slot, at: lo)
        }
    }

    private func openSession(_ element: Element, _ ts: Int64, start: Int64, end: Int64, watermark: Int64, slot: Int, at i: Int) {
        if end - 1 + lateness <= watermark {
            reportLate(slot, ts, watermark, start, end)
        } else {
            openWindow(element, ts, start: start, end: end, slot: slot, at: i)
        }
    }

    private func addToCountWindow(_ element: Element, _ ts: Int64, size: Int64, slot: Int) {
        if states[slot].windows.isEmpty {
            let sequence = states[slot].nextSequence
            states[slot].nextSequence &+= 1
            openWindow(element, ts, start: sequence, end: 0, slot: slot, at: 0)
        } else {
            addElement(element, ts, slot: slot, window: 0)
        }
        if states[slot].windows[0].count >= size {
            emitWindow(slot, states[slot].windows.removeFirst())
        }
    }

    // MARK: Firing

    /// Fires the key's windows with `end − 1 + allowedLateness ≤ watermark`, in start order.
    @inline(__always)
    private func fireReady(_ slot: Int, watermark: Int64) {
        while !states[slot].windows.isEmpty && states[slot].windows[0].end - 1 + lateness <= watermark {
            emitWindow(slot, states[slot].windows.removeFirst())
        }
    }

    /// Fires all of the key's open windows (idle timeout). Time windows: the watermark moves to
    /// the last fired window's firing point, so stragglers for those windows are late.
    private func fireAll(_ slot: Int) {
        var lastFiring = Int64.min
        while !states[slot].windows.isEmpty {
            let window = states[slot].windows.removeFirst()
            lastFiring = Swift.max(lastFiring, window.end - 1 + lateness)
            emitWindow(slot, window)
        }
        if !isCount && lastFiring > states[slot].watermark { states[slot].watermark = lastFiring }
        dirty.mark(slot)
    }

    private func emitWindow(_ slot: Int, _ w: OpenWindow<Accumulator>) {
        runtime.metrics.windowsOpen &-= 1
        runtime.metrics.windowsEmitted &+= 1
        let window =
            isCount
            ? Window(start: Timestamp(milliseconds: w.minTime), end: Timestamp(milliseconds: w.maxTime + 1), sequence: w.start)
            : Window(start: Timestamp(milliseconds: w.start), end: Timestamp(milliseconds: w.end))
        emit(
            WindowResult(
                pipeline: pipeline, key: table.keys[slot], window: window, count: w.count,
                value: aggregator.result(w.accumulator)))
    }

    private func reportLate(_ slot: Int, _ ts: Int64, _ watermark: Int64, _ start: Int64, _ end: Int64) {
        runtime.reportLate(
            LateEvent(
                keyDescription: String(describing: table.keys[slot]), eventTime: Timestamp(milliseconds: ts),
                watermark: Timestamp(milliseconds: watermark),
                window: Window(start: Timestamp(milliseconds: start), end: Timestamp(milliseconds: end))))
    }

    // MARK: OperatorNode

    func advanceProcessingTime(to now: Int64) {
        if extract == nil && !isCount {
            while let timer = timers.min, timer.time <= now {
                timers.removeMin()
                let slot = Int(timer.slot)
                let before = states[slot].windows.count
                fireReady(slot, watermark: Swift.max(states[slot].watermark, now - 1))
                if states[slot].windows.count != before { dirty.mark(slot) }
            }
        }
        if let idle = idleTimeout {
            while activity.head >= 0 {
                let slot = Int(activity.head)
                guard saturatingAdd(states[slot].lastArrival, idle) <= now else { break }
                fireAll(slot)
                activity.unlink(slot)
            }
        }
    }

    func finish() {
        var order: [(end: Int64, slot: Int)] = []
        for slot in states.indices {
            for w in states[slot].windows { order.append((isCount ? w.maxTime + 1 : w.end, slot)) }
        }
        order.sort { ($0.end, $0.slot) < ($1.end, $1.slot) }
        for (_, slot) in order { emitWindow(slot, states[slot].windows.removeFirst()) }
        for slot in states.indices {
            if states[slot].watermark != .max { dirty.mark(slot) }
            states[slot].watermark = .max
            activity.unlink(slot)
        }
        timers = Heap()
    }

    func snapshot(codec: any StateCodec, dirtyOnly: Bool) throws -> [StateEntry] {
        try snapshotBody!(codec, dirtyOnly)
    }

    func restore(_ entries: [StateEntry], codec: any StateCodec) throws {
        try restoreBody!(entries, codec)
    }

    private func takeSnapshot(codec: any StateCodec, dirtyOnly: Bool) throws -> [StateEntry] {
        let slots = dirtyOnly ? dirty.sortedSlots : Array(states.indices)
        var entries: [StateEntry] = []
        entries.reserveCapacity(slots.count)
        let fastPath = codec.prefersBinaryState ? accumulatorFastPath : nil
        for slot in slots {
            let value: [UInt8]
            if let fastPath {
                stateWriter.removeAll()
                states[slot].write(to: &stateWriter, accumulators: fastPath.write)
                value = stateWriter.copyBytes()
            } else {
                value = try codec.encode(states[slot])
            }
            entries.append(
                StateEntry(
                    operatorID: operatorID, key: try keyCoding.encode(slot: slot, of: table.keys, with: codec),
                    value: value))
        }
        return entries
    }

    func snapshotBatch(codec: any StateCodec, keysFrom: Int) throws -> StateSnapshotBatch {
        try batchBody!(codec, keysFrom)
    }

    /// The changed slots' states written back to back into one buffer (no per-key arrays), and
    /// the keys of slots the receiver does not know yet.
    private func takeBatch(codec: any StateCodec, keysFrom: Int) throws -> StateSnapshotBatch {
        var batch = StateSnapshotBatch(operatorID: operatorID, keysFrom: keysFrom, slotCount: states.count)
        let keysFrom = batch.keysFrom
        var slots = dirty.slots.filter { Int($0) < keysFrom }
        slots.sort()
        let total = slots.count + (states.count - keysFrom)
        batch.slots.reserveCapacity(total)
        batch.valueEnds.reserveCapacity(total)
        batch.keys.reserveCapacity(states.count - keysFrom)
        let fastPath = codec.prefersBinaryState ? accumulatorFastPath : nil
        if fastPath == nil {
            for slot in slots.map(Int.init) + Array(keysFrom..<states.count) {
                let key = slot >= keysFrom ? try keyCoding.encode(slot: slot, of: table.keys, with: codec) : nil
                batch.append(slot: slot, key: key, value: try codec.encode(states[slot]))
            }
            return batch
        }
        let write = fastPath.unsafelyUnwrapped.write
        // One buffer for every value, sized from the last batch (then it rarely grows).
        var writer = BinaryStateWriter(capacity: Swift.max(256, lastBatchBytes + lastBatchBytes / 4))
        var ends: [Int] = []
        ends.reserveCapacity(total)
        slots.withUnsafeBufferPointer { writeStates.unsafelyUnwrapped($0, keysFrom..<states.count, write, &writer, &ends) }
        var changed = slots
        changed.reserveCapacity(total)
        for slot in keysFrom..<states.count {
            changed.append(Int32(slot))
            batch.keys.append(try keyCoding.encode(slot: slot, of: table.keys, with: codec))
        }
        lastBatchBytes = writer.count
        batch.slots = changed
        batch.valueEnds = ends
        batch.bytes = writer.takeBytes(reservingCapacity: 0)
        return batch
    }

    func markClean() { dirty.clear() }

    private func restoreEntries(_ entries: [StateEntry], codec: any StateCodec) throws {
        for entry in entries {
            guard let keyBytes = entry.key else {
                throw StateRestoreError(operatorID: operatorID, message: "window state entry without a key")
            }
            let key: Key
            let state: WindowKeyState<Accumulator>
            do {
                key = try keyCoding.decode(keyBytes, with: codec)
                if codec.prefersBinaryState, let fastPath = accumulatorFastPath {
                    state = try entry.value.withUnsafeBytes { buffer in
                        var reader = BinaryStateReader(buffer)
                        let state = try WindowKeyState<Accumulator>(from: &reader, accumulators: fastPath.read)
                        try reader.expectEnd()
                        return state
                    }
                } else {
                    state = try codec.decode(WindowKeyState<Accumulator>.self, from: entry.value)
                }
            } catch {
                throw StateRestoreError(operatorID: operatorID, message: "undecodable entry: \(error)")
            }
            let (slot, isNew) = table.slot(for: key)
            if isNew {
                states.append(WindowKeyState())
                activity.addSlot()
                dirty.addSlot()
                keyCoding.restored(keyBytes, slot: slot, with: codec)
            }
            runtime.metrics.windowsOpen &+= Int64(state.windows.count - states[slot].windows.count)
            states[slot] = state
        }
        // Rebuild the derived structures: activity order and processing-time timers.
        let active = states.indices.filter { !states[$0].windows.isEmpty }
            .sorted { (states[$0].lastArrival, $0) < (states[$1].lastArrival, $1) }
        for slot in states.indices { activity.unlink(slot) }
        if idleTimeout != nil { for slot in active { activity.moveToBack(slot) } }
        timers = Heap()
        if !isCount { for slot in active { for w in states[slot].windows { scheduleProcessingTimeFiring(slot, end: w.end) } } }
    }
}
