import PSPFCore
import PSPFStorage
import Testing

@Suite("PartitionStateSet")
struct PartitionStateSetTests {
    private func entry(_ key: String, _ value: String, op: String = "0.window") -> PSPFCore.StateEntry {
        PSPFCore.StateEntry(operatorID: op, key: Array(key.utf8), value: Array(value.utf8))
    }

    @Test func writesOnlyDirtyChunksAndRestoresFirstSeenOrder() throws {
        var set = PartitionStateSet(pipeline: "p", partition: 2, chunkCount: 8)
        let keys = (0..<40).map { "key-\($0)" }
        let first = set.update(with: keys.map { entry($0, "v0-\($0)") })
        #expect(first.upserts.count == 8)  // every chunk has keys
        #expect(set.keyCount == 40)

        // One key changes: one chunk row is rewritten, holding all of that chunk's keys.
        let second = set.update(with: [entry("key-7", "v1")])
        #expect(second.upserts.count == 1)
        #expect(second.upserts[0].key.partition == 2)
        #expect(second.upserts[0].key.operatorID == "0.window")
        #expect(set.update(with: []).isEmpty)

        // A store applies the rows; a fresh set loads them back.
        var rows: [PSPFStorage.StateKey: [UInt8]] = [:]
        for row in first.upserts + second.upserts { rows[row.key] = row.value }
        var restored = PartitionStateSet(pipeline: "p", partition: 2, chunkCount: 8)
        let entries = try restored.load(rows.map { PSPFStorage.StateEntry(key: $0.key, value: $0.value) }.shuffled())
        #expect(entries.map { String(decoding: $0.key!, as: UTF8.self) } == keys)
        #expect(entries.first { $0.key == Array("key-7".utf8) }?.value == Array("v1".utf8))
        #expect(restored.keyCount == 40)
        #expect(restored.update(with: []).isEmpty)
    }

    @Test func operatorStateIsItsOwnRow() throws {
        var set = PartitionStateSet(pipeline: "p", partition: 0)
        let changes = set.update(with: [
            PSPFCore.StateEntry(operatorID: "1.process", key: nil, value: [1, 2]), entry("a", "x", op: "1.process"),
        ])
        #expect(changes.upserts.count == 2)
        var restored = PartitionStateSet(pipeline: "p", partition: 0)
        let entries = try restored.load(changes.upserts)
        #expect(entries.count == 2)
        #expect(entries[0].key == nil && entries[0].value == [1, 2])
    }

    @Test func changingTheChunkCountMovesKeysAndDeletesOldRows() throws {
        var set = PartitionStateSet(pipeline: "p", partition: 0, chunkCount: 64)
        let keys = (0..<200).map { "k\($0)" }
        let written = set.update(with: keys.map { entry($0, $0) })
        var fewer = PartitionStateSet(pipeline: "p", partition: 0, chunkCount: 4)
        let entries = try fewer.load(written.upserts)
        #expect(Set(entries.compactMap(\.key)) == Set(keys.map { Array($0.utf8) }))
        let rewrite = fewer.update(with: [])
        #expect(rewrite.upserts.count == 4)
        #expect(rewrite.deletes.count == written.upserts.count - 4)
        #expect(Set(rewrite.deletes).isDisjoint(with: Set(rewrite.upserts.map(\.key))))
    }

    @Test func corruptChunksAreReported() throws {
        var set = PartitionStateSet(pipeline: "p", partition: 0, chunkCount: 1)
        var row = set.update(with: [entry("a", "b")]).upserts[0]
        row.value[0] = 99
        var other = PartitionStateSet(pipeline: "p", partition: 0, chunkCount: 1)
        #expect(throws: StorageError.self) { try other.load([row]) }
    }

    // MARK: Slot-addressed batches

    /// A deterministic pseudo-random generator (SplitMix64) for the model tests.
    private struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Applies rows as a store would and decodes every key's value from them.
    private func model(_ rows: [PSPFStorage.StateKey: [UInt8]]) throws -> [String: [UInt8]] {
        var set = PartitionStateSet(pipeline: "p", partition: 1, chunkCount: 16)
        var result: [String: [UInt8]] = [:]
        for entry in try set.load(rows.map { PSPFStorage.StateEntry(key: $0.key, value: $0.value) }) {
            if let key = entry.key { result[String(decoding: key, as: UTF8.self)] = entry.value }
        }
        return result
    }

    /// Rounds of random changes (new keys, values growing and shrinking, empty values) through
    /// slot batches give byte-identical rows to the same changes through key-addressed entries,
    /// and the stored rows always decode to the latest value of every key, in first-seen order.
    @Test(arguments: [1, 3, 16])
    func slotBatchesWriteTheSameRowsAsKeyedEntries(_ chunks: Int) throws {
        var random = Random(state: UInt64(chunks))
        var bySlot = PartitionStateSet(pipeline: "p", partition: 1, chunkCount: chunks)
        var byKey = PartitionStateSet(pipeline: "p", partition: 1, chunkCount: chunks)
        var keys: [String] = []
        var latest: [String: [UInt8]] = [:]
        var rows: [PSPFStorage.StateKey: [UInt8]] = [:]
        for round in 0..<12 {
            let known = keys.count
            let added = round == 5 ? 0 : random.below(20)
            for i in 0..<added { keys.append("key-\(round)-\(i)") }
            var changed = Set((0..<random.below(keys.count + 1)).map { _ in random.below(max(1, keys.count)) })
            changed.formUnion(known..<keys.count)
            if keys.isEmpty { changed = [] }
            var batch = StateSnapshotBatch(operatorID: "0.window", keysFrom: known, slotCount: keys.count)
            var entries: [PSPFCore.StateEntry] = []
            for slot in changed.sorted() {
                let value = [UInt8](repeating: UInt8(round), count: random.below(300))
                latest[keys[slot]] = value
                batch.append(slot: slot, key: slot >= known ? Array(keys[slot].utf8) : nil, value: value)
                entries.append(PSPFCore.StateEntry(operatorID: "0.window", key: Array(keys[slot].utf8), value: value))
            }
            #expect(bySlot.knownSlots(of: "0.window") == known)
            let slotChanges = try bySlot.update(batches: [batch])
            let keyChanges = byKey.update(with: entries)  // new keys in slot order: the same first-seen order
            #expect(slotChanges.upserts == keyChanges.upserts, "round \(round)")
            #expect(Set(slotChanges.upserts.map(\.key)).count == slotChanges.upserts.count)
            #expect(slotChanges.entriesMerged == changed.count)
            for row in slotChanges.upserts { rows[row.key] = row.value }
            #expect(try model(rows) == latest, "round \(round)")
        }
        #expect(bySlot.keyCount == keys.count)
        #expect(bySlot.byteCount == byKey.byteCount)
        var restored = PartitionStateSet(pipeline: "p", partition: 1, chunkCount: chunks)
        let entries = try restored.load(rows.map { PSPFStorage.StateEntry(key: $0.key, value: $0.value) }.shuffled())
        #expect(entries.map { String(decoding: $0.key!, as: UTF8.self) } == keys)
        #expect(restored.knownSlots(of: "0.window") == keys.count)
        #expect(restored.update(with: []).isEmpty)
        // A restored set continues with the engine's next slot, and writes what the original writes.
        var next = StateSnapshotBatch(operatorID: "0.window", keysFrom: keys.count, slotCount: keys.count + 1)
        next.append(slot: 0, value: [9])
        next.append(slot: keys.count, key: Array("late".utf8), value: [])
        var again = next
        again.operatorID = "0.window"
        #expect(try restored.update(batches: [next]).upserts == (try bySlot.update(batches: [again])).upserts)
    }

    /// A batch that does not continue the set's slots (the engine and the working set disagree)
    /// is refused, and changes nothing.
    @Test func batchesMustContinueTheKnownSlots() throws {
        var set = PartitionStateSet(pipeline: "p", partition: 0, chunkCount: 4)
        var first = StateSnapshotBatch(operatorID: "0.window", keysFrom: 0, slotCount: 2)
        first.append(slot: 0, key: [1], value: [1])
        first.append(slot: 1, key: [2], value: [2])
        _ = try set.update(batches: [first])
        var skipping = StateSnapshotBatch(operatorID: "0.window", keysFrom: 3, slotCount: 4)
        skipping.append(slot: 3, key: [4], value: [4])
        #expect(throws: StorageError.self) { try set.update(batches: [skipping]) }
        var behind = StateSnapshotBatch(operatorID: "0.window", keysFrom: 1, slotCount: 2)
        behind.append(slot: 1, key: [2], value: [3])
        #expect(throws: StorageError.self) { try set.update(batches: [behind]) }
        #expect(set.keyCount == 2)
        #expect(try set.update(batches: []).isEmpty)
    }

    /// After a failed commit the whole partition is written again, from the working set's rows.
    @Test func markAllDirtyRewritesEveryChunkFromItsRow() throws {
        var set = PartitionStateSet(pipeline: "p", partition: 0, chunkCount: 8)
        let written = set.update(with: (0..<50).map { entry("k\($0)", "v\($0)") })
        set.markAllDirty()
        let again = try set.update(batches: [])
        #expect(again.upserts == written.upserts)
    }
}
