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
}
