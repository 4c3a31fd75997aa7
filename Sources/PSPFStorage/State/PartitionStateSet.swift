import PSPFCore

/// The state of one pipeline partition as checkpoints store it: an in-memory working set of
/// every key's encoded state, grouped into chunks by key hash, with dirty tracking per chunk.
///
/// The engine hands over only the keys that changed since the last checkpoint
/// (``PSPFCore/PipelineInstance/snapshotState(codec:dirtyOnly:)``). Each one replaces its bytes
/// in the working set and dirties its chunk (`fnv1a32(key) % chunkCount`); a checkpoint then
/// writes every dirty chunk as **one row** holding all of the chunk's keys. With 100k keys in
/// 4 partitions and 256 chunks each, a checkpoint that touches every key writes ~1,000 rows of
/// ~10 KB instead of 100k rows, which is what SQLite is fast at (see docs/checkpoints.md for
/// the measurements behind the default).
///
/// ```swift
/// var set = PartitionStateSet(pipeline: "temps", partition: 0)
/// try instance.restoreState(try set.load(recovered.state(pipeline: "temps", partition: 0)), codec: codec)
/// // … at a checkpoint barrier:
/// let batches = try instance.snapshotChangedState(codec: codec, keysFrom: set.knownSlots(of:))
/// instance.markStateClean()
/// let changes = try set.update(batches: batches)
/// // changes.upserts / changes.deletes go into the CheckpointDelta
/// ```
///
/// **Rows.** A chunk is `StateKey(pipeline, partition, operatorID, key: [0x4B, hi, lo])` (`K` and
/// the chunk number, big-endian) with an empty namespace; an operator's instance-wide state is
/// `key: [0x4F]` (`O`) holding the engine's bytes as they are. A chunk's value is
/// `u8 version (1), LEB128 count, then per entry: LEB128 ordinal, LEB128 key length, key,
/// LEB128 value length, value`. The ordinal numbers keys in the order they were first seen, so
/// a restore recreates the engine's key order (and with it its deterministic output order).
///
/// **Slots.** The working set keeps every key under the engine's slot (its dense first-seen
/// number, ``PSPFCore/StateSnapshotBatch``): per slot its chunk and ordinal, per chunk its member
/// slots and its last written row, with each member's key and value located in that row. A
/// checkpoint's batch (the changed keys' values back to back in one buffer) is merged without
/// a key lookup or a per-key array: each changed slot dirties its chunk, and each dirty chunk's
/// row is written anew in one pass, copying clean members from the old row and changed ones
/// from the batch. The row array is then shared with the upsert (no copy). Slots of a loaded
/// set are the keys' ranks by ordinal, which is the order ``load(_:)`` hands them to the
/// engine's restore, and so the slots the engine gives them. ``update(with:)``
/// takes key-addressed entries instead (tools, tests), through a key index built on first use.
///
/// Not `Sendable`-shared: one partition task owns it.
public struct PartitionStateSet: Sendable {
    public let pipeline: String
    public let partition: Int
    /// Chunks per operator. The rows say which chunk they are; loading rows written with
    /// another chunk count re-buckets their keys (and deletes the old rows at the next update).
    public let chunkCount: Int

    private var operators: [String: OperatorSlots] = [:]
    /// Operators in the order first seen (chain order), for deterministic output.
    private var operatorOrder: [String] = []
    private var pendingDeletes: [StateKey] = []

    /// Changes for a checkpoint delta.
    public struct Changes: Sendable {
        public var upserts: [StateEntry] = []
        public var deletes: [StateKey] = []
        /// Engine entries merged into the working set.
        public var entriesMerged = 0
        public var isEmpty: Bool { upserts.isEmpty && deletes.isEmpty }

        public init(upserts: [StateEntry] = [], deletes: [StateKey] = [], entriesMerged: Int = 0) {
            self.upserts = upserts
            self.deletes = deletes
            self.entriesMerged = entriesMerged
        }
    }

    public init(pipeline: String, partition: Int, chunkCount: Int = 256) {
        precondition((1...65_536).contains(chunkCount), "chunkCount must be in 1...65536")
        self.pipeline = pipeline
        self.partition = partition
        self.chunkCount = chunkCount
    }

    /// Number of keys held (all operators).
    public var keyCount: Int { operators.values.reduce(0) { $0 + $1.slotCount } }

    /// Bytes of encoded keys and values held (all operators).
    public var byteCount: Int { operators.values.reduce(0) { $0 + $1.byteCount } }

    /// How many of the operator's slots the set holds: pass it as `keysFrom` to
    /// ``PSPFCore/PipelineInstance/snapshotChangedState(codec:keysFrom:)``.
    public func knownSlots(of operatorID: String) -> Int { operators[operatorID]?.slotCount ?? 0 }

    // MARK: Loading

    /// Loads the partition's rows from a checkpoint (call it on an empty set) and returns the
    /// engine entries to restore, per operator in the order keys were first seen (the order that
    /// gives each key, in the engine, the slot it has here).
    ///
    /// - Throws: ``StorageError`` `.corruptState` for a row this format cannot read.
    public mutating func load(_ rows: [StateEntry]) throws -> [PSPFCore.StateEntry] {
        struct Loaded {
            var operatorState: [UInt8]?
            var keyed: [(ordinal: UInt64, key: [UInt8], value: [UInt8], moved: Bool)] = []
        }
        var loaded: [String: Loaded] = [:]
        var order: [String] = []
        for row in rows {
            let key = row.key
            guard key.partition == partition, key.pipeline.utf8.elementsEqual(pipeline.utf8) else { continue }
            let operatorID = key.operatorID
            if loaded[operatorID] == nil {
                loaded[operatorID] = Loaded()
                order.append(operatorID)
            }
            switch key.key.first {
            case Self.operatorTag where key.key.count == 1:
                loaded[operatorID]!.operatorState = row.value
            case Self.chunkTag where key.key.count == 3:
                let stored = Int(key.key[1]) << 8 | Int(key.key[2])
                var moved = false
                var entries: [(ordinal: UInt64, key: [UInt8], value: [UInt8], moved: Bool)] = []
                try Self.decodeChunk(row.value, operatorID: operatorID) { ordinal, entryKey, value in
                    let chunk = Self.chunk(of: entryKey, count: chunkCount)
                    entries.append((ordinal, entryKey, value, chunk != stored))
                    if chunk != stored { moved = true }
                }
                loaded[operatorID]!.keyed += entries
                if moved {
                    // Written with another chunk count: the keys now live in other chunks (rewritten
                    // at the next update), and this row must go unless it is rewritten under the same
                    // number.
                    pendingDeletes.append(key)
                }
            default:
                throw StorageError(
                    code: .corruptState,
                    message:
                        "state row of operator \(operatorID) in \(pipeline)/\(partition) has an unknown key \(key.key)")
            }
        }
        var entries: [PSPFCore.StateEntry] = []
        for operatorID in order {
            var state = loaded[operatorID]!
            if let operatorState = state.operatorState {
                entries.append(PSPFCore.StateEntry(operatorID: operatorID, key: nil, value: operatorState))
            }
            state.keyed.sort { $0.ordinal < $1.ordinal }
            var slots = OperatorSlots(chunkCount: chunkCount)
            slots.operatorState = state.operatorState
            var batch = StateSnapshotBatch(operatorID: operatorID, keysFrom: 0, slotCount: state.keyed.count)
            // A key in two rows (not written by this format, but harmless): the later row wins.
            var deduplicated: [(ordinal: UInt64, key: [UInt8], value: [UInt8], moved: Bool)] = []
            deduplicated.reserveCapacity(state.keyed.count)
            for entry in state.keyed {
                if let last = deduplicated.last, last.ordinal == entry.ordinal {
                    guard last.key == entry.key else {
                        throw StorageError(
                            code: .corruptState,
                            message:
                                "state of operator \(operatorID) in \(pipeline)/\(partition) has ordinal \(entry.ordinal) for two keys"
                        )
                    }
                    deduplicated[deduplicated.count - 1] = (entry.ordinal, entry.key, entry.value, last.moved || entry.moved)
                } else {
                    deduplicated.append(entry)
                }
            }
            state.keyed = deduplicated
            batch = StateSnapshotBatch(operatorID: operatorID, keysFrom: 0, slotCount: state.keyed.count)
            for (slot, entry) in state.keyed.enumerated() {
                batch.append(slot: slot, key: entry.key, value: entry.value)
                entries.append(PSPFCore.StateEntry(operatorID: operatorID, key: entry.key, value: entry.value))
            }
            // Every chunk's row is built from the loaded bytes; only chunks that received keys from
            // a row of another chunk number are written at the next update.
            slots.merge(batch, ordinals: state.keyed.map(\.ordinal), chunkCount: chunkCount)
            var dirtyChunks = Set<Int32>()
            for (slot, entry) in state.keyed.enumerated() where entry.moved { dirtyChunks.insert(slots.chunkOfSlot[slot]) }
            var unused: [StateEntry] = []
            slots.rewriteDirtyChunks(
                with: batch, keep: dirtyChunks, into: &unused, pipeline: pipeline, partition: partition, operatorID: operatorID)
            operators[operatorID] = slots
            operatorOrder.append(operatorID)
        }
        return entries
    }

    // MARK: Updating

    /// Merges the engine's changed keys, addressed by slot, and returns the rows a checkpoint
    /// must write: every dirty chunk and operator state, in a deterministic order, plus deletes of
    /// rows that a change of chunk count made obsolete. Afterwards nothing is dirty.
    ///
    /// - Throws: ``StorageError`` `.corruptState` when a batch does not continue the slots this set
    ///   holds (the engine and the working set disagree about the keys; nothing is changed).
    public mutating func update(batches: [StateSnapshotBatch]) throws -> Changes {
        for batch in batches {
            let known = knownSlots(of: batch.operatorID)
            guard batch.keysFrom == known, batch.slotCount >= known,
                batch.keys.count == batch.slotCount - batch.keysFrom
            else {
                throw StorageError(
                    code: .corruptState,
                    message:
                        "state of operator \(batch.operatorID) in \(pipeline)/\(partition): the engine has \(batch.slotCount) keys, new from \(batch.keysFrom), the checkpoint's working set \(known)"
                )
            }
        }
        var changes = Changes()
        var merged: [String: StateSnapshotBatch] = [:]
        for batch in batches {
            changes.entriesMerged += batch.count + (batch.operatorState == nil ? 0 : 1)
            if batch.count == 0 && batch.operatorState == nil { continue }
            // Taken out of the dictionary while mutated (uniquely referenced, no copy).
            var slots: OperatorSlots
            if let existing = operators.removeValue(forKey: batch.operatorID) {
                slots = existing
            } else {
                slots = OperatorSlots(chunkCount: chunkCount)
                operatorOrder.append(batch.operatorID)
            }
            slots.merge(batch, ordinals: nil, chunkCount: chunkCount)
            operators[batch.operatorID] = slots
            merged[batch.operatorID] = batch
        }
        var rewritten = Set<StateKey>()
        for operatorID in operatorOrder {
            guard var slots = operators[operatorID], slots.hasDirty else { continue }
            operators[operatorID] = nil  // uniquely referenced while mutated
            if slots.operatorStateDirty, let state = slots.operatorState {
                changes.upserts.append(
                    StateEntry(
                        pipeline: pipeline, partition: partition, operatorID: operatorID, key: [Self.operatorTag],
                        value: state))
                slots.operatorStateDirty = false
            }
            let first = changes.upserts.count
            slots.rewriteDirtyChunks(
                with: merged[operatorID], keep: nil, into: &changes.upserts, pipeline: pipeline, partition: partition,
                operatorID: operatorID)
            for row in changes.upserts[first...] { rewritten.insert(row.key) }
            operators[operatorID] = slots
        }
        changes.deletes = pendingDeletes.filter { !rewritten.contains($0) }
        pendingDeletes.removeAll()
        return changes
    }

    /// Merges key-addressed entries (tools and tests; the runtime passes slot-addressed batches):
    /// a known key replaces its bytes, a new one gets the next slot. Same result as
    /// ``update(batches:)``.
    public mutating func update(with entries: [PSPFCore.StateEntry]) -> Changes {
        var batches: [StateSnapshotBatch] = []
        var index = 0
        while index < entries.count {
            let operatorID = entries[index].operatorID
            var keyIndex: [HashedKey: Int32] = [:]
            var known = 0
            if var slots = operators.removeValue(forKey: operatorID) {
                keyIndex = slots.keyIndex()
                known = slots.slotCount
                operators[operatorID] = slots
            }
            var newKeys: [HashedKey: Int] = [:]
            var newKeyBytes: [[UInt8]] = []
            var values: [Int: [UInt8]] = [:]
            var operatorState: [UInt8]?
            while index < entries.count, entries[index].operatorID == operatorID {
                if let key = entries[index].key {
                    let hashed = HashedKey(bytes: key, hash: Self.hash(key))
                    let slot: Int
                    if let existing = keyIndex[hashed] {
                        slot = Int(existing)
                    } else if let added = newKeys[hashed] {
                        slot = added
                    } else {
                        slot = known + newKeyBytes.count
                        newKeys[hashed] = slot
                        newKeyBytes.append(key)
                    }
                    values[slot] = entries[index].value
                } else {
                    operatorState = entries[index].value
                }
                index += 1
            }
            var batch = StateSnapshotBatch(operatorID: operatorID, keysFrom: known, slotCount: known + newKeyBytes.count)
            batch.operatorState = operatorState
            for slot in values.keys.sorted() {
                batch.append(slot: slot, key: slot >= known ? newKeyBytes[slot - known] : nil, value: values[slot]!)
            }
            batches.append(batch)
        }
        // The batches continue this set's slots by construction.
        return try! update(batches: batches)
    }

    /// Marks every chunk dirty, so the next ``update(batches:)`` rewrites the
    /// whole partition (after a failed commit, or to compact).
    public mutating func markAllDirty() {
        for operatorID in operatorOrder { operators[operatorID]!.markAllDirty() }
    }

    // MARK: Format

    static let chunkTag: UInt8 = 0x4B  // "K"
    static let operatorTag: UInt8 = 0x4F  // "O"
    static let chunkFormatVersion: UInt8 = 1

    /// FNV-1a 32 of the encoded key, reduced to a chunk number (stable across processes, unlike
    /// `Hasher`).
    @inline(__always)
    static func chunk(of key: [UInt8], count: Int) -> Int { Int(hash(key) % UInt32(count)) }

    @inline(__always)
    static func hash(_ key: [UInt8]) -> UInt32 {
        key.withUnsafeBufferPointer { bytes in
            var hash: UInt32 = 0x811C_9DC5
            for byte in bytes { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
            return hash
        }
    }

    static func decodeChunk(
        _ bytes: [UInt8], operatorID: String, _ body: (UInt64, [UInt8], [UInt8]) throws -> Void
    ) throws {
        func corrupt(_ what: String) -> StorageError {
            StorageError(code: .corruptState, message: "state chunk of operator \(operatorID) is corrupt: \(what)")
        }
        try bytes.withUnsafeBytes { raw in
            var position = 0
            func varint() throws -> UInt64 {
                var result: UInt64 = 0
                var shift: UInt64 = 0
                while true {
                    guard position < raw.count else { throw corrupt("truncated") }
                    let byte = raw[position]
                    position += 1
                    result |= UInt64(byte & 0x7F) << shift
                    if byte & 0x80 == 0 { return result }
                    shift += 7
                    if shift > 63 { throw corrupt("bad varint") }
                }
            }
            func slice() throws -> [UInt8] {
                let length = try varint()
                guard length <= UInt64(raw.count - position) else { throw corrupt("length runs past the end") }
                defer { position += Int(length) }
                return Array(raw[position..<(position + Int(length))])
            }
            guard raw.count >= 1 else { throw corrupt("empty") }
            guard raw[0] == chunkFormatVersion else { throw corrupt("unknown chunk format version \(raw[0])") }
            position = 1
            let count = try varint()
            for _ in 0..<count {
                let ordinal = try varint()
                let key = try slice()
                let value = try slice()
                try body(ordinal, key, value)
            }
            guard position == raw.count else { throw corrupt("\(raw.count - position) trailing bytes") }
        }
    }
}

/// The working set of one operator in one partition, addressed by slot.
private struct OperatorSlots: Sendable {
    var chunks: [SlotChunk]
    /// Per slot: its chunk and its ordinal (first-seen number, stored in the rows).
    var chunkOfSlot: [Int32] = []
    var ordinalOfSlot: [UInt64] = []
    var dirty: [Int32] = []
    var operatorState: [UInt8]?
    var operatorStateDirty = false
    var nextOrdinal: UInt64 = 0
    /// Scratch during an update: per slot, its index in the batch being merged, or -1.
    var fresh: [Int32] = []
    /// Key → slot, built by the first key-addressed update and kept up to date after it.
    var index: [HashedKey: Int32]?

    init(chunkCount: Int) { chunks = Array(repeating: SlotChunk(), count: chunkCount) }

    var slotCount: Int { chunkOfSlot.count }
    var hasDirty: Bool { !dirty.isEmpty || operatorStateDirty }
    var byteCount: Int { chunks.reduce(operatorState?.count ?? 0) { $0 + $1.byteCount } }

    @inline(__always)
    mutating func markDirty(_ chunk: Int) {
        if !chunks[chunk].isDirty {
            chunks[chunk].isDirty = true
            dirty.append(Int32(chunk))
        }
    }

    mutating func markAllDirty() {
        dirty = []
        for i in chunks.indices where !chunks[i].members.isEmpty {
            chunks[i].isDirty = true
            dirty.append(Int32(i))
        }
        operatorStateDirty = operatorState != nil
    }

    /// The key index (built on first use).
    mutating func keyIndex() -> [HashedKey: Int32] {
        if let index { return index }
        var built: [HashedKey: Int32] = [:]
        built.reserveCapacity(slotCount)
        for chunk in chunks {
            for j in chunk.members.indices {
                let key = Array(chunk.row[chunk.keyRange(j)])
                built[HashedKey(bytes: key, hash: PartitionStateSet.hash(key))] = chunk.members[j]
            }
        }
        index = built
        return built
    }

    /// Takes a batch in: new slots join their chunk (by key hash), every changed slot dirties its
    /// chunk and is remembered in `fresh` for the rewrite. `ordinals` (loading) gives the new
    /// slots' ordinals; otherwise they are numbered on.
    mutating func merge(_ batch: StateSnapshotBatch, ordinals: [UInt64]?, chunkCount: Int) {
        if let state = batch.operatorState {
            operatorState = state
            operatorStateDirty = true
        }
        let newCount = batch.slotCount - slotCount
        if newCount > 0 {
            chunkOfSlot.reserveCapacity(batch.slotCount)
            ordinalOfSlot.reserveCapacity(batch.slotCount)
            fresh.append(contentsOf: repeatElement(-1, count: newCount))
            for (i, key) in batch.keys.enumerated() {
                let slot = batch.keysFrom + i
                let hash = PartitionStateSet.hash(key)
                let chunk = Int(hash % UInt32(chunkCount))
                chunkOfSlot.append(Int32(chunk))
                let ordinal = ordinals?[slot] ?? nextOrdinal
                ordinalOfSlot.append(ordinal)
                nextOrdinal = Swift.max(nextOrdinal, ordinal &+ 1)
                chunks[chunk].members.append(Int32(slot))
                index?[HashedKey(bytes: key, hash: hash)] = Int32(slot)
            }
        }
        batch.slots.withUnsafeBufferPointer { changed in
            chunkOfSlot.withUnsafeBufferPointer { chunkOf in
                fresh.withUnsafeMutableBufferPointer { fresh in
                    for i in changed.indices {
                        let slot = Int(changed[i])
                        fresh[slot] = Int32(i)
                        let chunk = Int(chunkOf[slot])
                        if !chunks[chunk].isDirty {
                            chunks[chunk].isDirty = true
                            dirty.append(Int32(chunk))
                        }
                    }
                }
            }
        }
    }

    /// Writes every dirty chunk's row anew (sorted by chunk number) and appends the upserts; with
    /// `keep`, all dirty chunks are rewritten but only those in `keep` stay dirty (loading).
    mutating func rewriteDirtyChunks(
        with batch: StateSnapshotBatch?, keep: Set<Int32>?, into upserts: inout [StateEntry], pipeline: String,
        partition: Int, operatorID: String
    ) {
        dirty.sort()
        let empty = StateSnapshotBatch(operatorID: operatorID, keysFrom: slotCount, slotCount: slotCount)
        let batch = batch ?? empty
        for chunkIndex in dirty {
            let chunk = Int(chunkIndex)
            chunks[chunk].rewrite(batch: batch, fresh: fresh, ordinals: ordinalOfSlot)
            chunks[chunk].isDirty = false
            if let keep {
                if keep.contains(chunkIndex) { continue }
            } else {
                let key = StateKey(
                    pipeline: pipeline, partition: partition, operatorID: operatorID,
                    key: [PartitionStateSet.chunkTag, UInt8(chunk >> 8), UInt8(chunk & 0xFF)])
                upserts.append(StateEntry(key: key, value: chunks[chunk].row))
            }
        }
        for slot in batch.slots { fresh[Int(slot)] = -1 }
        if let keep {
            dirty = keep.sorted()
            for chunk in dirty { chunks[Int(chunk)].isDirty = true }
        } else {
            dirty.removeAll(keepingCapacity: true)
        }
    }
}

/// An encoded key with its FNV-1a hash, which the key index uses instead of hashing the bytes
/// again.
private struct HashedKey: Hashable, Sendable {
    var bytes: [UInt8]
    var hash: UInt32

    static func == (a: HashedKey, b: HashedKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// The keys of one chunk (slots, in first-seen order) and its last written row, with where each
/// member's key and value are in that row.
private struct SlotChunk: Sendable {
    var members: [Int32] = []
    /// The chunk's row value (format in ``PartitionStateSet``), holding members `0..<inRow`.
    var row: [UInt8] = []
    var inRow = 0
    var keyStart: [Int32] = []
    var keyLength: [Int32] = []
    var valueStart: [Int32] = []
    var valueLength: [Int32] = []
    var byteCount = 0
    var isDirty = false

    @inline(__always)
    func keyRange(_ j: Int) -> Range<Int> { Int(keyStart[j])..<Int(keyStart[j] + keyLength[j]) }

    /// Writes the row anew in one pass into an array of the exact size: members the batch
    /// changed (`fresh[slot] >= 0`) from the batch, the others from the old row; members added
    /// since the last rewrite take their key from the batch.
    mutating func rewrite(batch: StateSnapshotBatch, fresh: [Int32], ordinals: [UInt64]) {
        @inline(__always) func varintSize(_ value: UInt64) -> Int {
            value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
        }
        let count = members.count
        var size = 1 + varintSize(UInt64(count))
        var payload = 0
        for j in 0..<count {
            let slot = Int(members[j])
            let keyCount = j < inRow ? Int(keyLength[j]) : batch.keys[slot - batch.keysFrom].count
            let f = Int(fresh[slot])
            let valueCount = f >= 0 ? batch.valueRange(at: f).count : Int(valueLength[j])
            size += varintSize(ordinals[slot]) + varintSize(UInt64(keyCount)) + keyCount
                + varintSize(UInt64(valueCount)) + valueCount
            payload += keyCount + valueCount
        }
        precondition(size <= Int(Int32.max), "state chunk over 2 GiB")
        keyStart.reserveCapacity(count)
        keyLength.reserveCapacity(count)
        valueStart.reserveCapacity(count)
        valueLength.reserveCapacity(count)
        let old = row
        let oldInRow = inRow
        let newRow = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let base = buffer.baseAddress!
            var p = base
            @inline(__always) func varint(_ value: UInt64) {
                var v = value
                while v >= 0x80 {
                    p.initialize(to: UInt8(truncatingIfNeeded: v) | 0x80)
                    p += 1
                    v >>= 7
                }
                p.initialize(to: UInt8(truncatingIfNeeded: v))
                p += 1
            }
            @inline(__always) func copy(_ source: UnsafeRawBufferPointer, _ range: Range<Int>) {
                guard !range.isEmpty else { return }
                UnsafeMutableRawPointer(p).copyMemory(from: source.baseAddress! + range.lowerBound, byteCount: range.count)
                p += range.count
            }
            old.withUnsafeBytes { oldBytes in
                batch.bytes.withUnsafeBytes { batchBytes in
                    p.initialize(to: PartitionStateSet.chunkFormatVersion)
                    p += 1
                    varint(UInt64(count))
                    for j in 0..<count {
                        let slot = Int(members[j])
                        varint(ordinals[slot])
                        let keyStartHere: Int
                        let keyCount: Int
                        if j < oldInRow {
                            let range = Int(keyStart[j])..<Int(keyStart[j] + keyLength[j])
                            varint(UInt64(range.count))
                            keyStartHere = p - base
                            copy(oldBytes, range)
                            keyCount = range.count
                        } else {
                            let key = batch.keys[slot - batch.keysFrom]
                            varint(UInt64(key.count))
                            keyStartHere = p - base
                            key.withUnsafeBytes { copy($0, 0..<key.count) }
                            keyCount = key.count
                        }
                        let f = Int(fresh[slot])
                        let range =
                            f >= 0 ? batch.valueRange(at: f) : Int(valueStart[j])..<Int(valueStart[j] + valueLength[j])
                        varint(UInt64(range.count))
                        let valueStartHere = p - base
                        copy(f >= 0 ? batchBytes : oldBytes, range)
                        if j < oldInRow {
                            keyStart[j] = Int32(keyStartHere)
                            valueStart[j] = Int32(valueStartHere)
                            valueLength[j] = Int32(range.count)
                        } else {
                            keyStart.append(Int32(keyStartHere))
                            keyLength.append(Int32(keyCount))
                            valueStart.append(Int32(valueStartHere))
                            valueLength.append(Int32(range.count))
                        }
                    }
                }
            }
            precondition(p - base == size, "chunk size miscounted")
            initialized = size
        }
        row = newRow
        inRow = count
        byteCount = payload
    }
}
