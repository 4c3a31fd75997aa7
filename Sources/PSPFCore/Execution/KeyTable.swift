/// Maps keys to dense slots `0, 1, 2, …` in first-seen order. Per-key state lives in arrays
/// indexed by slot, so nothing ever iterates the dictionary (whose order is seeded per process).
struct KeyTable<Key: Hashable> {
    private var index: [Key: Int32] = [:]
    private(set) var keys: [Key] = []

    var count: Int { keys.count }

    /// The key's slot, creating it (at the end) if the key is new.
    @inline(__always)
    mutating func slot(for key: Key) -> (slot: Int, isNew: Bool) {
        if let i = index[key] { return (Int(i), false) }
        let s = keys.count
        index[key] = Int32(s)
        keys.append(key)
        return (s, true)
    }

    func existingSlot(for key: Key) -> Int? { index[key].map(Int.init) }
}

/// Keys ordered by last activity (an intrusive doubly-linked list over slots), so idle keys are
/// found from the front in O(1) each, with no allocation per element.
struct ActivityList {
    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var linked: [Bool] = []
    private(set) var head: Int32 = -1
    private var tail: Int32 = -1

    mutating func addSlot() {
        prev.append(-1)
        next.append(-1)
        linked.append(false)
    }

    func isLinked(_ slot: Int) -> Bool { linked[slot] }

    mutating func unlink(_ slot: Int) {
        guard linked[slot] else { return }
        let p = prev[slot], n = next[slot]
        if p >= 0 { next[Int(p)] = n } else { head = n }
        if n >= 0 { prev[Int(n)] = p } else { tail = p }
        prev[slot] = -1
        next[slot] = -1
        linked[slot] = false
    }

    /// Moves (or adds) `slot` to the back: the most recently active key.
    @inline(__always)
    mutating func moveToBack(_ slot: Int) {
        if linked[slot] {
            if tail == Int32(slot) { return }
            unlink(slot)
        }
        prev[slot] = tail
        next[slot] = -1
        if tail >= 0 { next[Int(tail)] = Int32(slot) } else { head = Int32(slot) }
        tail = Int32(slot)
        linked[slot] = true
    }
}

/// Which slots changed since the last checkpoint.
struct DirtySet {
    private var flags: [Bool] = []
    private(set) var slots: [Int32] = []

    mutating func addSlot() { flags.append(false) }

    @inline(__always)
    mutating func mark(_ slot: Int) {
        if !flags[slot] {
            flags[slot] = true
            slots.append(Int32(slot))
        }
    }

    mutating func clear() {
        for s in slots { flags[Int(s)] = false }
        slots.removeAll(keepingCapacity: true)
    }

    /// Dirty slots in ascending (first-seen) order.
    var sortedSlots: [Int] { slots.map(Int.init).sorted() }
}

/// A processing-time timer: fires at `time`; ties in registration order.
struct ProcessingTimer: Comparable {
    var time: Int64
    var sequence: Int64
    var slot: Int32

    static func < (a: ProcessingTimer, b: ProcessingTimer) -> Bool {
        (a.time, a.sequence) < (b.time, b.sequence)
    }
}
