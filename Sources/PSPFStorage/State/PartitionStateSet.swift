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
/// let changes = set.update(with: try instance.snapshotState(codec: codec, dirtyOnly: true))
/// instance.markStateClean()
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
/// Not `Sendable`-shared: one partition task owns it.
public struct PartitionStateSet: Sendable {
    public let pipeline: String
    public let partition: Int
    /// Chunks per operator. The rows say which chunk they are; loading rows written with
    /// another chunk count re-buckets their keys (and deletes the old rows at the next update).
    public let chunkCount: Int

    private var operators: [String: OperatorChunks] = [:]
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
    public var keyCount: Int { operators.values.reduce(0) { $0 + $1.keyCount } }

    /// Bytes of encoded keys and values held (all operators).
    public var byteCount: Int { operators.values.reduce(0) { $0 + $1.byteCount } }

    // MARK: Loading

    /// Loads the partition's rows from a checkpoint (replacing nothing: call it on an empty set)
    /// and returns the engine entries to restore, per operator in the order keys were first seen.
    ///
    /// - Throws: ``StorageError`` `.corruptState` for a row this format cannot read.
    public mutating func load(_ rows: [StateEntry]) throws -> [PSPFCore.StateEntry] {
        for row in rows {
            let key = row.key
            guard key.partition == partition, key.pipeline.utf8.elementsEqual(pipeline.utf8) else { continue }
            let operatorID = key.operatorID
            if operators[operatorID] == nil {
                operators[operatorID] = OperatorChunks(chunkCount: chunkCount)
                operatorOrder.append(operatorID)
            }
            switch key.key.first {
            case Self.operatorTag where key.key.count == 1:
                operators[operatorID]!.operatorState = row.value
            case Self.chunkTag where key.key.count == 3:
                let stored = Int(key.key[1]) << 8 | Int(key.key[2])
                var moved = false
                try Self.decodeChunk(row.value, operatorID: operatorID) { ordinal, entryKey, value in
                    let hash = Self.hash(entryKey)
                    let chunk = Int(hash % UInt32(chunkCount))
                    operators[operatorID]!.insert(
                        ordinal: ordinal, key: entryKey, hash: hash, value: value, chunk: chunk)
                    if chunk != stored {
                        moved = true
                        operators[operatorID]!.markDirty(chunk)
                    }
                }
                if moved {
                    // Written with another chunk count: the keys now live in other chunks (already
                    // dirty), and this row must go unless it is rewritten under the same number.
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
        for operatorID in operatorOrder {
            let chunks = operators[operatorID]!
            if let state = chunks.operatorState {
                entries.append(PSPFCore.StateEntry(operatorID: operatorID, key: nil, value: state))
            }
            var keyed: [(ordinal: UInt64, key: [UInt8], value: [UInt8])] = []
            keyed.reserveCapacity(chunks.keyCount)
            for chunk in chunks.chunks {
                for i in chunk.keys.indices { keyed.append((chunk.ordinals[i], chunk.keys[i], chunk.values[i])) }
            }
            keyed.sort { $0.ordinal < $1.ordinal }
            for entry in keyed {
                entries.append(PSPFCore.StateEntry(operatorID: operatorID, key: entry.key, value: entry.value))
            }
        }
        return entries
    }

    // MARK: Updating

    /// Merges the engine's dirty entries and returns the rows a checkpoint must write: every
    /// dirty chunk and operator state, in a deterministic order, plus deletes of rows that a
    /// change of chunk count made obsolete. Afterwards nothing is dirty.
    public mutating func update(with entries: [PSPFCore.StateEntry]) -> Changes {
        var changes = Changes()
        changes.entriesMerged = entries.count
        // Entries come in runs per operator (chain order): take each operator's chunks out of
        // the dictionary once per run, so they are mutated in place, uniquely referenced.
        var index = 0
        while index < entries.count {
            let operatorID = entries[index].operatorID
            var chunks: OperatorChunks
            if let existing = operators.removeValue(forKey: operatorID) {
                chunks = existing
            } else {
                chunks = OperatorChunks(chunkCount: chunkCount)
                operatorOrder.append(operatorID)
            }
            while index < entries.count, entries[index].operatorID == operatorID {
                // Fields are read in place (copying the entry would retain and release its three
                // references, per changed key).
                if let key = entries[index].key {
                    let hash = Self.hash(key)
                    chunks.set(key: key, hash: hash, value: entries[index].value, chunk: Int(hash % UInt32(chunkCount)))
                } else {
                    chunks.operatorState = entries[index].value
                    chunks.operatorStateDirty = true
                }
                index += 1
            }
            operators[operatorID] = chunks
        }
        var rewritten = Set<StateKey>()
        for operatorID in operatorOrder {
            guard var chunks = operators[operatorID], chunks.hasDirty else { continue }
            operators[operatorID] = nil  // uniquely referenced while mutated
            if chunks.operatorStateDirty, let state = chunks.operatorState {
                changes.upserts.append(
                    StateEntry(
                        pipeline: pipeline, partition: partition, operatorID: operatorID, key: [Self.operatorTag],
                        value: state))
                chunks.operatorStateDirty = false
            }
            chunks.dirty.sort()
            for index in chunks.dirty {
                let chunk = Int(index)
                let key = StateKey(
                    pipeline: pipeline, partition: partition, operatorID: operatorID,
                    key: [Self.chunkTag, UInt8(chunk >> 8), UInt8(chunk & 0xFF)])
                rewritten.insert(key)
                changes.upserts.append(StateEntry(key: key, value: chunks.chunks[chunk].encoded()))
                chunks.chunks[chunk].isDirty = false
            }
            chunks.dirty.removeAll(keepingCapacity: true)
            operators[operatorID] = chunks
        }
        changes.deletes = pendingDeletes.filter { !rewritten.contains($0) }
        pendingDeletes.removeAll()
        return changes
    }

    /// Marks every chunk dirty, so the next ``update(with:)`` rewrites the whole partition
    /// (after a failed commit, or to compact).
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

/// The chunks of one operator in one partition.
private struct OperatorChunks: Sendable {
    var chunks: [Chunk]
    var dirty: [Int32] = []
    var operatorState: [UInt8]?
    var operatorStateDirty = false
    var nextOrdinal: UInt64 = 0

    init(chunkCount: Int) { chunks = Array(repeating: Chunk(), count: chunkCount) }

    var hasDirty: Bool { !dirty.isEmpty || operatorStateDirty }
    var keyCount: Int { chunks.reduce(0) { $0 + $1.keys.count } }
    var byteCount: Int { chunks.reduce(operatorState?.count ?? 0) { $0 + $1.byteCount } }

    @inline(__always)
    mutating func markDirty(_ chunk: Int) {
        if !chunks[chunk].isDirty {
            chunks[chunk].isDirty = true
            dirty.append(Int32(chunk))
        }
    }

    mutating func set(key: [UInt8], hash: UInt32, value: [UInt8], chunk: Int) {
        markDirty(chunk)
        if chunks[chunk].replace(key: key, hash: hash, value: value) { return }
        chunks[chunk].append(ordinal: nextOrdinal, key: key, hash: hash, value: value)
        nextOrdinal += 1
    }

    /// A loaded entry (no dirtying unless it lands in another chunk than stored, see `load`).
    mutating func insert(ordinal: UInt64, key: [UInt8], hash: UInt32, value: [UInt8], chunk: Int) {
        if !chunks[chunk].replace(key: key, hash: hash, value: value) {
            chunks[chunk].append(ordinal: ordinal, key: key, hash: hash, value: value)
        }
        nextOrdinal = Swift.max(nextOrdinal, ordinal + 1)
    }

    mutating func markAllDirty() {
        dirty = []
        for i in chunks.indices where !chunks[i].keys.isEmpty {
            chunks[i].isDirty = true
            dirty.append(Int32(i))
        }
        operatorStateDirty = operatorState != nil
    }
}

/// An encoded key with its FNV-1a hash, which the chunk's index uses instead of hashing the
/// bytes again.
private struct HashedKey: Hashable, Sendable {
    var bytes: [UInt8]
    var hash: UInt32

    static func == (a: HashedKey, b: HashedKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// The keys of one chunk, in first-seen order, with their encoded state.
private struct Chunk: Sendable {
    var index: [HashedKey: Int32] = [:]
    var ordinals: [UInt64] = []
    var keys: [[UInt8]] = []
    var values: [[UInt8]] = []
    var byteCount = 0
    var isDirty = false

    /// Replaces the value of a known key; false if the key is new.
    @inline(__always)
    mutating func replace(key: [UInt8], hash: UInt32, value: [UInt8]) -> Bool {
        guard let i = index[HashedKey(bytes: key, hash: hash)] else { return false }
        byteCount += value.count - values[Int(i)].count
        values[Int(i)] = value
        return true
    }

    mutating func append(ordinal: UInt64, key: [UInt8], hash: UInt32, value: [UInt8]) {
        index[HashedKey(bytes: key, hash: hash)] = Int32(keys.count)
        ordinals.append(ordinal)
        keys.append(key)
        values.append(value)
        byteCount += key.count + value.count
    }

    /// The chunk's row value (format in ``PartitionStateSet``), written in one pass into an
    /// array of the exact size (this runs for every dirty chunk at every checkpoint).
    func encoded() -> [UInt8] {
        @inline(__always) func varintSize(_ value: UInt64) -> Int {
            value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
        }
        var size = 1 + varintSize(UInt64(keys.count))
        for i in keys.indices {
            size += varintSize(ordinals[i]) + varintSize(UInt64(keys[i].count)) + keys[i].count
                + varintSize(UInt64(values[i].count)) + values[i].count
        }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var p = buffer.baseAddress!
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
            @inline(__always) func bytes(_ array: [UInt8]) {
                array.withUnsafeBufferPointer { source in
                    guard let base = source.baseAddress else { return }
                    p.initialize(from: base, count: source.count)
                    p += source.count
                }
            }
            p.initialize(to: PartitionStateSet.chunkFormatVersion)
            p += 1
            varint(UInt64(keys.count))
            for i in keys.indices {
                varint(ordinals[i])
                varint(UInt64(keys[i].count))
                bytes(keys[i])
                varint(UInt64(values[i].count))
                bytes(values[i])
            }
            precondition(p - buffer.baseAddress! == size, "chunk size miscounted")
            initialized = size
        }
    }
}
