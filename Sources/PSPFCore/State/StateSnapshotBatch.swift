/// The changed keys of one stateful operator, their encoded states back to back in one buffer,
/// addressed by **slot**: the dense number the operator gives each key in first-seen order.
/// Slots are stable for the life of a pipeline instance (keys are never removed), and a restore
/// creates them in the order of its entries, so the checkpoint working set can keep each key's
/// bytes under its slot and merge a batch without looking keys up
/// (``PipelineInstance/snapshotChangedState(codec:keysFrom:)``).
///
/// ```swift
/// for batch in try instance.snapshotChangedState(codec: codec, keysFrom: { known[$0] ?? 0 }) {
///     for i in batch.slots.indices { use(batch.slots[i], batch.value(at: i)) }
/// }
/// ```
///
/// Compared with ``StateEntry`` arrays, a batch costs no allocation or reference count per key:
/// a dense checkpoint of 100k keys is three arrays per operator instead of 200k byte arrays.
public struct StateSnapshotBatch: Sendable {
    public var operatorID: String
    /// The operator-wide state, when it changed (or in a full snapshot); nil otherwise.
    public var operatorState: [UInt8]?
    /// Slots of the changed keys, ascending.
    public var slots: [Int32] = []
    /// `valueEnds[i]` is where the value of `slots[i]` ends in ``bytes`` (it starts where the
    /// previous one ends, or at 0).
    public var valueEnds: [Int] = []
    /// The changed keys' encoded states, in slot order.
    public var bytes: [UInt8] = []
    /// Slots from `keysFrom` up to ``slotCount`` are new to the receiver: each of them is among
    /// ``slots`` (changed or not), and ``keys``[`slot - keysFrom`] is its encoded key.
    public var keysFrom: Int
    public var keys: [[UInt8]] = []
    /// Keys the operator holds (its slots are `0..<slotCount`).
    public var slotCount: Int

    public init(operatorID: String, keysFrom: Int, slotCount: Int) {
        precondition(keysFrom >= 0, "keysFrom must not be negative")
        self.operatorID = operatorID
        self.keysFrom = Swift.min(keysFrom, slotCount)
        self.slotCount = slotCount
    }

    /// Number of changed keys.
    public var count: Int { slots.count }

    /// The range of `bytes` holding the value of `slots[i]`.
    @inline(__always)
    public func valueRange(at i: Int) -> Range<Int> { (i == 0 ? 0 : valueEnds[i - 1])..<valueEnds[i] }

    /// A copy of the value of `slots[i]` (tests, slow paths).
    public func value(at i: Int) -> [UInt8] { Array(bytes[valueRange(at: i)]) }

    /// Appends a changed key (`slot` above the previous one) with its encoded state; `key` is
    /// required for slots from ``keysFrom`` on and ignored below.
    public mutating func append(slot: Int, key: [UInt8]? = nil, value: [UInt8]) {
        bytes.append(contentsOf: value)
        appendEnd(slot: slot, key: key, end: bytes.count)
    }

    /// Records a slot whose value ends at `end` (the operator writes the values into its own
    /// buffer and hands it over as ``bytes`` at the end).
    @inline(__always)
    mutating func appendEnd(slot: Int, key: [UInt8]?, end: Int) {
        precondition(slots.last.map { Int($0) < slot } ?? true, "slots must ascend")
        if slot >= keysFrom {
            precondition(slot == keysFrom + keys.count, "every new slot must be in the batch")
            keys.append(key!)
        }
        slots.append(Int32(slot))
        valueEnds.append(end)
    }
}
