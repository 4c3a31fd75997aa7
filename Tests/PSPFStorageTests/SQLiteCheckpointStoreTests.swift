import Foundation
import PSPFStorage
import Testing

/// Behaviour of the SQLite store beyond the shared conformance suite: files, versions, corruption,
/// durability across reopen, and failures in the middle of a commit.
@Suite("SQLiteCheckpointStore")
struct SQLiteCheckpointStoreTests {
    private static func entries(_ count: Int, partition: Int = 0, valueByte: UInt8 = 1) -> [StateEntry] {
        (0..<count).map { i in
            StateEntry(
                pipeline: "p", partition: partition, operatorID: "agg", key: Array("device-\(i)".utf8),
                namespace: [0, 0, 1], value: Array(repeating: valueByte, count: 64)
            )
        }
    }

    @Test func createsAndReopensTheStateDatabase() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            do {
                let store = try SQLiteCheckpointStore(path: path)
                _ = try store.commit(
                    CheckpointDelta(
                        stateUpserts: Self.entries(3),
                        inputOffsets: [InputOffset(pipeline: "p", topic: "sensors", partition: 0, nextOffset: 10)],
                        sinkOffsets: [SinkOffset(sink: "file", deliveredOffset: 4, filePosition: [9, 9])]
                    ))
                try store.close()
            }
            let store = try SQLiteCheckpointStore(path: path)
            defer { try? store.close() }
            let recovered = try store.loadLatest()
            #expect(recovered.checkpoint?.id == 1)
            #expect(recovered.state == Self.entries(3).sorted { $0.key.key.lexicographicallyPrecedes($1.key.key) })
            #expect(recovered.nextOffset(pipeline: "p", topic: "sensors", partition: 0) == 10)
            #expect(recovered.sinkOffset("file")?.filePosition == [9, 9])
            let version = try store.database.sync { try $0.scalar("PRAGMA user_version") }
            #expect(version == .integer(Int64(StateSchema.latestVersion)))
            let mode = try store.database.sync { try $0.scalar("PRAGMA journal_mode") }
            #expect(mode == .text("wal"))
        }
    }

    @Test func aCommitThatFailsMidwayLeavesThePreviousCheckpoint() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            let store = try SQLiteCheckpointStore(path: path)
            defer { try? store.close() }
            let first = CheckpointDelta(
                stateUpserts: Self.entries(100),
                inputOffsets: [InputOffset(pipeline: "p", topic: "t", partition: 0, nextOffset: 100)],
                outputLogEnds: [OutputLogEnd(topic: "out", partition: 0, endOffset: 50)]
            )
            _ = try store.commit(first)
            let before = try store.loadLatest()

            // A trigger fails the sink offset insert, which runs after the state rows, offsets and ends
            // of the delta were already written inside the transaction.
            try store.database.sync { connection in
                try connection.execute(
                    """
                    CREATE TEMP TRIGGER fail_sink BEFORE INSERT ON main.sink_offset WHEN NEW.sink = 'boom'
                    BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                    """)
            }
            let failing = CheckpointDelta(
                stateUpserts: Self.entries(100, valueByte: 2) + Self.entries(10, partition: 1),
                stateDeletes: [Self.entries(1)[0].key],
                inputOffsets: [InputOffset(pipeline: "p", topic: "t", partition: 0, nextOffset: 200)],
                outputLogEnds: [OutputLogEnd(topic: "out", partition: 0, endOffset: 90)],
                sinkOffsets: [SinkOffset(sink: "boom", deliveredOffset: 1)]
            )
            let error = expectSQLiteError(.constraintTrigger) { _ = try store.commit(failing) }
            #expect(error?.message == "injected failure")
            #expect(error?.sql?.contains("INSERT INTO sink_offset") == true)

            #expect(try store.loadLatest() == before)
            #expect(try store.latestCheckpoint()?.id == 1)

            // The store is usable afterwards, and the rolled-back work did not leak into it.
            try store.database.sync { try $0.execute("DROP TRIGGER fail_sink") }
            let info = try store.commit(CheckpointDelta(sinkOffsets: [SinkOffset(sink: "boom", deliveredOffset: 1)]))
            #expect(info.id == 2)
            let after = try store.loadLatest()
            #expect(after.state == before.state)
            #expect(after.nextOffset(pipeline: "p", topic: "t", partition: 0) == 100)
        }
    }

    @Test func commitRecordsDurationsAndSize() async throws {
        try await withTemporaryDirectory { dir in
            let store = try SQLiteCheckpointStore(path: "\(dir)/state.db")
            defer { try? store.close() }
            let delta = CheckpointDelta(stateUpserts: Self.entries(1000))
            let info = try await store.commit(delta)
            #expect(info.bytesWritten == delta.payloadBytes)
            #expect(
                info.bytesWritten == Int64(1000 * (64 + 3))
                    + Int64(Self.entries(1000).reduce(0) { $0 + $1.key.key.count }))
            #expect(info.commitDuration != nil)
            #expect(info.applyDuration >= .zero)
            let stored = try await store.loadLatest().checkpoint
            #expect(stored?.applyDuration == info.applyDuration)
            #expect(stored?.commitDuration == nil)
        }
    }

    @Test(arguments: [1, 1_000_000])
    func theWALIsCheckpointedBehindTheCommit(thresholdPages: Int) throws {
        try withTemporaryDirectory { dir in
            var configuration = SQLiteCheckpointStore.Configuration()
            configuration.deferredWALCheckpointPages = thresholdPages
            let store = try SQLiteCheckpointStore(path: "\(dir)/state.db", configuration: configuration)
            defer { try? store.close() }
            _ = try store.commit(CheckpointDelta(stateUpserts: Self.entries(2000)))
            // This job runs after the checkpoint job the commit queued.
            let frames = try store.database.sync { $0.walFrameCount }
            if thresholdPages == 1 {
                #expect(frames == 0)
            } else {
                #expect(frames > 10)
            }
            let autocheckpoint = try store.database.sync { try $0.scalar("PRAGMA wal_autocheckpoint") }
            #expect(autocheckpoint == .integer(0), "nothing checkpoints inside COMMIT")
        }
    }

    @Test func theStateRowsViewShowsNamesForPeopleWithSQLite3() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteCheckpointStore(path: "\(dir)/state.db")
            defer { try? store.close() }
            _ = try store.commit(
                CheckpointDelta(stateUpserts: [
                    StateEntry(pipeline: "p", partition: 3, operatorID: "op", key: [1], namespace: [2], value: [3])
                ]))
            let row = try store.database.sync { connection -> [SQLiteValue] in
                let statement = try connection.prepare("SELECT * FROM state_rows")
                defer { statement.finalize() }
                _ = try statement.step()
                return (0..<statement.columnCount).map { statement.value(at: $0) }
            }
            #expect(row == [.text("p"), .integer(3), .text("op"), .blob([1]), .blob([2]), .blob([3])])
        }
    }

    // MARK: Versions and corruption

    @Test func refusesANewerSchemaVersion() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            try SQLiteCheckpointStore(path: path).close()
            do {
                let connection = try SQLiteConnection(path: path)
                try connection.execute("PRAGMA user_version = 7")
                try connection.close()
            }
            let error = expectStorageError(.schemaTooNew) { _ = try SQLiteCheckpointStore(path: path) }
            #expect(
                error?.message
                    == "state database schema version 7 is newer than this pspf supports "
                    + "(\(StateSchema.latestVersion)); upgrade pspf or restore a backup (file: \(path))"
            )
        }
    }

    @Test func refusesAGarbageFileWithoutTouchingIt() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            var generator = SplitMix64(seed: 7)
            let garbage = (0..<8192).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            try writeFile(path, garbage)

            let error = expectStorageError(.corruptDatabase) { _ = try SQLiteCheckpointStore(path: path) }
            #expect((error?.cause as? SQLiteError)?.code == .notADatabase)
            #expect(error?.path == path)
            #expect(error?.message.contains(path) == true)
            #expect(error?.message.contains("`pspf state rebuild`") == true)
            #expect(error?.message.contains("Move it aside") == true)
            // Never a silent reset: the file is exactly as it was.
            #expect(try readFile(path) == garbage)
        }
    }

    @Test func refusesATextFile() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            let text = Array(String(repeating: "this is not a database\n", count: 200).utf8)
            try writeFile(path, text)
            expectStorageError(.corruptDatabase) { _ = try SQLiteCheckpointStore(path: path) }
            #expect(try readFile(path) == text)
        }
    }

    @Test(arguments: [0.5, 0.9])
    func refusesATruncatedFile(keptFraction: Double) throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            do {
                let store = try SQLiteCheckpointStore(path: path)
                _ = try store.commit(CheckpointDelta(stateUpserts: Self.entries(5000)))
                try store.close()  // checkpoints the WAL into the file and removes it
            }
            let whole = try readFile(path)
            #expect(whole.count > 100 * 4096)
            let kept = Array(whole.prefix(Int(Double(whole.count) * keptFraction) / 4096 * 4096 + 1234))
            try writeFile(path, kept)

            let error = expectStorageError(.corruptDatabase) { _ = try SQLiteCheckpointStore(path: path) }
            #expect(error?.message.contains("pspf state rebuild") == true)
            #expect(try readFile(path) == kept)
        }
    }

    @Test func quickCheckFindsADamagedPage() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            do {
                let store = try SQLiteCheckpointStore(path: path)
                _ = try store.commit(CheckpointDelta(stateUpserts: Self.entries(5000)))
                try store.close()
            }
            // Overwrite one b-tree page in the middle with noise; the header stays valid.
            var bytes = try readFile(path)
            let page = (bytes.count / 4096) / 2
            var generator = SplitMix64(seed: 99)
            for i in (page * 4096)..<((page + 1) * 4096) { bytes[i] = UInt8(truncatingIfNeeded: generator.next()) }
            try writeFile(path, bytes)

            let error = expectStorageError(.corruptDatabase) { _ = try SQLiteCheckpointStore(path: path) }
            #expect(error?.message.contains("pspf state rebuild") == true)

            // With the check switched off the file opens, and the damage surfaces as SQLITE_CORRUPT
            // when the page is read, not as missing data.
            var unchecked = SQLiteCheckpointStore.Configuration()
            unchecked.integrityCheck = .none
            let store = try SQLiteCheckpointStore(path: path, configuration: unchecked)
            defer { try? store.close() }
            expectSQLiteError(.corrupt) { _ = try store.loadLatest() }
        }
    }

    @Test func refusesAForeignSQLiteDatabase() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/other.db"
            do {
                let connection = try SQLiteConnection(path: path)
                try connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
                try connection.close()
            }
            let error = expectStorageError(.foreignDatabase) { _ = try SQLiteCheckpointStore(path: path) }
            #expect(error?.message.contains("is not a pspf state database") == true)
        }
    }

    @Test func anEmptyFileIsANewDatabase() throws {
        // SQLite creates database files empty and writes the header with the first transaction, so a
        // crash right after creation leaves a 0-byte file: that is a fresh database, not corruption.
        try withTemporaryDirectory { dir in
            let path = "\(dir)/state.db"
            try writeFile(path, [])
            let store = try SQLiteCheckpointStore(path: path)
            defer { try? store.close() }
            #expect(try store.loadLatest() == RecoveredState())
        }
    }
}

/// A tiny deterministic generator for test bytes.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
