import HeapModule

/// A registered timer of one key.
struct KeyTimer: Codable, Sendable, Hashable {
    var time: Int64
    var sequence: Int64
}

/// A process operator's state for one key — what a checkpoint stores per key.
struct ProcessKeyState<State: Codable & Sendable>: Codable, Sendable {
    var maxTimestamp: Int64 = .min
    var watermark: Int64 = .min
    /// `nil` until the key's first element (then `initialState(for:)`).
    var state: State?
    /// Sorted by (time, sequence).
    var eventTimers: [KeyTimer] = []
    var processingTimers: [KeyTimer] = []
}

/// A process operator's instance-wide state.
struct ProcessOperatorSnapshot<OperatorState: Codable & Sendable>: Codable, Sendable {
    var operatorState: OperatorState
    var timerSequence: Int64
}

/// Runs a ``KeyedProcessFunction``.
final class ProcessOperator<Function: KeyedProcessFunction>: OperatorNode {
    typealias Key = Function.Key
    unowned(unsafe) let runtime: ExecutionRuntime
    var operatorID = ""
    let operatorKind = "process"
    let operatorDescription: String
    private let function: Function
    private let keyOf: @Sendable (Function.Input) -> Key
    private let extract: (@Sendable (Function.Input) -> Timestamp)?
    private let outOfOrderness: Int64
    private let downstream: (Function.Output) -> Void

    @exclusivity(unchecked) private var table = KeyTable<Key>()
    @exclusivity(unchecked) private var states: [ProcessKeyState<Function.State>] = []
    @exclusivity(unchecked) private var operatorState: Function.OperatorState?
    private var operatorStateDirty = true
    @exclusivity(unchecked) private var dirty = DirtySet()
    @exclusivity(unchecked) private var timers = Heap<ProcessingTimer>()
    @exclusivity(unchecked) private var timerSequence: Int64 = 0
    /// Snapshot encoding (the binary fast path where the types have one).
    @exclusivity(unchecked) private var keyCoding = StateKeyCoding<Key>()
    @exclusivity(unchecked) private var stateCoding = StateValueCoding<ProcessKeyState<Function.State>>()
    @exclusivity(unchecked) private var snapshotCoding =
        StateValueCoding<ProcessOperatorSnapshot<Function.OperatorState>>()

    init(
        runtime: ExecutionRuntime, function: Function, keyOf: @escaping @Sendable (Function.Input) -> Key,
        time: TimeConfig<Function.Input>, emit: @escaping (Function.Output) -> Void
    ) {
        self.runtime = runtime
        self.function = function
        self.keyOf = keyOf
        self.extract = time.extract
        self.outOfOrderness = time.outOfOrderness
        self.downstream = emit
        self.operatorState = function.initialOperatorState()
        self.operatorDescription = "process \(Function.self) \(time.description)"
        runtime.register(self)
    }

    func emit(_ output: Function.Output) { downstream(output) }

    func process(_ element: Function.Input) {
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
        let key = keyOf(element)
        let (slot, isNew) = table.slot(for: key)
        if isNew {
            states.append(ProcessKeyState())
            dirty.addSlot()
        }
        invoke(slot, timestamp: ts, watermark: watermark(slot)) { function.processElement(element, context: &$0) }
        if extract != nil, ts > states[slot].maxTimestamp {
            states[slot].maxTimestamp = ts
            let w = ts - outOfOrderness
            if w > states[slot].watermark { states[slot].watermark = w }
        }
        fireEventTimers(slot)
        dirty.mark(slot)
    }

    private func watermark(_ slot: Int) -> Int64 {
        extract == nil ? Swift.max(states[slot].watermark, runtime.processingTime - 1) : states[slot].watermark
    }

    /// Calls the function with the key's state moved out (so it is mutated in place, uniquely).
    private func invoke(_ slot: Int, timestamp: Int64, watermark: Int64, _ body: (inout KeyedProcessContext<Function>) -> Void) {
        let key = table.keys[slot]
        let state = states[slot].state ?? function.initialState(for: key)
        states[slot].state = nil
        let opState = operatorState!
        operatorState = nil
        var context = KeyedProcessContext<Function>(
            key: key, state: state, operatorState: opState, timestamp: Timestamp(milliseconds: timestamp),
            watermark: Timestamp(milliseconds: watermark), processingTime: Timestamp(milliseconds: runtime.processingTime),
            node: self, slot: slot)
        body(&context)
        states[slot].state = context.state
        operatorState = context.operatorState
        operatorStateDirty = true
    }

    private func fireEventTimers(_ slot: Int) {
        while let timer = states[slot].eventTimers.first, timer.time <= watermark(slot) {
            states[slot].eventTimers.removeFirst()
            invoke(slot, timestamp: timer.time, watermark: watermark(slot)) {
                function.onTimer(TimerFiring(domain: .eventTime, time: Timestamp(milliseconds: timer.time)), context: &$0)
            }
        }
    }

    // MARK: Timers (called through the context)

    func register(_ domain: TimeDomain, _ time: Int64, slot: Int) {
        let existing = domain == .eventTime ? states[slot].eventTimers : states[slot].processingTimers
        if existing.contains(where: { $0.time == time }) { return }
        timerSequence &+= 1
        let timer = KeyTimer(time: time, sequence: timerSequence)
        let index = existing.firstIndex { $0.time > time } ?? existing.count
        switch domain {
        case .eventTime: states[slot].eventTimers.insert(timer, at: index)
        case .processingTime:
            states[slot].processingTimers.insert(timer, at: index)
            timers.insert(ProcessingTimer(time: time, sequence: timer.sequence, slot: Int32(slot)))
        }
        dirty.mark(slot)
    }

    func delete(_ domain: TimeDomain, _ time: Int64, slot: Int) {
        switch domain {
        case .eventTime: states[slot].eventTimers.removeAll { $0.time == time }
        case .processingTime: states[slot].processingTimers.removeAll { $0.time == time }
        }
        dirty.mark(slot)
    }

    func pending(_ domain: TimeDomain, slot: Int) -> [Timestamp] {
        let list = domain == .eventTime ? states[slot].eventTimers : states[slot].processingTimers
        return list.map { Timestamp(milliseconds: $0.time) }
    }

    // MARK: OperatorNode

    func advanceProcessingTime(to now: Int64) {
        while let timer = timers.min, timer.time <= now {
            timers.removeMin()
            let slot = Int(timer.slot)
            // Stale heap entries (deleted timers) are skipped.
            guard let i = states[slot].processingTimers.firstIndex(where: { $0.sequence == timer.sequence }) else { continue }
            states[slot].processingTimers.remove(at: i)
            invoke(slot, timestamp: timer.time, watermark: watermark(slot)) {
                function.onTimer(TimerFiring(domain: .processingTime, time: Timestamp(milliseconds: timer.time)), context: &$0)
            }
            dirty.mark(slot)
        }
        // In processing-time mode the watermark follows processing time.
        if extract == nil {
            for slot in states.indices where !(states[slot].eventTimers.first.map { $0.time > now - 1 } ?? true) {
                fireEventTimers(slot)
                dirty.mark(slot)
            }
        }
    }

    /// Fires every pending event-time timer in global (time, registration) order, including
    /// timers registered while doing so (at most 1000 rounds).
    func finish() {
        for slot in states.indices {
            states[slot].watermark = .max
            dirty.mark(slot)
        }
        for _ in 0..<1000 {
            var due: [(timer: KeyTimer, slot: Int)] = []
            for slot in states.indices { for t in states[slot].eventTimers { due.append((t, slot)) } }
            if due.isEmpty { break }
            due.sort { ($0.timer.time, $0.timer.sequence) < ($1.timer.time, $1.timer.sequence) }
            for (timer, slot) in due {
                guard let i = states[slot].eventTimers.firstIndex(of: timer) else { continue }
                states[slot].eventTimers.remove(at: i)
                invoke(slot, timestamp: timer.time, watermark: .max) {
                    function.onTimer(TimerFiring(domain: .eventTime, time: Timestamp(milliseconds: timer.time)), context: &$0)
                }
            }
        }
    }

    func snapshot(codec: any StateCodec, dirtyOnly: Bool) throws -> [StateEntry] {
        var entries: [StateEntry] = []
        if !dirtyOnly || operatorStateDirty {
            let snapshot = ProcessOperatorSnapshot(operatorState: operatorState!, timerSequence: timerSequence)
            entries.append(StateEntry(operatorID: operatorID, key: nil, value: try snapshotCoding.encode(snapshot, with: codec)))
        }
        let slots = dirtyOnly ? dirty.sortedSlots : Array(states.indices)
        for slot in slots {
            entries.append(
                StateEntry(
                    operatorID: operatorID, key: try keyCoding.encode(slot: slot, of: table.keys, with: codec),
                    value: try stateCoding.encode(states[slot], with: codec)))
        }
        return entries
    }

    func snapshotBatch(codec: any StateCodec, keysFrom: Int) throws -> StateSnapshotBatch {
        var batch = StateSnapshotBatch(operatorID: operatorID, keysFrom: keysFrom, slotCount: states.count)
        if operatorStateDirty {
            let snapshot = ProcessOperatorSnapshot(operatorState: operatorState!, timerSequence: timerSequence)
            batch.operatorState = try snapshotCoding.encode(snapshot, with: codec)
        }
        var slots = dirty.slots.filter { Int($0) < batch.keysFrom }.map(Int.init)
        slots.sort()
        for slot in slots + Array(batch.keysFrom..<states.count) {
            let key = slot >= batch.keysFrom ? try keyCoding.encode(slot: slot, of: table.keys, with: codec) : nil
            batch.append(slot: slot, key: key, value: try stateCoding.encode(states[slot], with: codec))
        }
        return batch
    }

    func markClean() {
        dirty.clear()
        operatorStateDirty = false
    }

    func restore(_ entries: [StateEntry], codec: any StateCodec) throws {
        do {
            for entry in entries {
                guard let keyBytes = entry.key else {
                    let snapshot = try snapshotCoding.decode(entry.value, with: codec)
                    operatorState = snapshot.operatorState
                    timerSequence = Swift.max(timerSequence, snapshot.timerSequence)
                    continue
                }
                let key = try keyCoding.decode(keyBytes, with: codec)
                let state = try stateCoding.decode(entry.value, with: codec)
                let (slot, isNew) = table.slot(for: key)
                if isNew {
                    states.append(ProcessKeyState())
                    dirty.addSlot()
                    keyCoding.restored(keyBytes, slot: slot, with: codec)
                }
                states[slot] = state
                for t in state.eventTimers + state.processingTimers { timerSequence = Swift.max(timerSequence, t.sequence) }
            }
        } catch let error as StateRestoreError {
            throw error
        } catch {
            throw StateRestoreError(operatorID: operatorID, message: "undecodable entry: \(error)")
        }
        timers = Heap()
        for slot in states.indices {
            for t in states[slot].processingTimers {
                timers.insert(ProcessingTimer(time: t.time, sequence: t.sequence, slot: Int32(slot)))
            }
        }
    }
}
