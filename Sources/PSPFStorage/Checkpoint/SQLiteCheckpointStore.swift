import Logging

/// The durable ``CheckpointStore``: one SQLite file (the state database) behind a
/// ``SerializedDatabase``.
///
/// Opening checks the file (`PRAGMA quick_check` by default), refuses corrupt, foreign or too-new
/// files with a ``StorageError`` that says how to recover, and migrates older schemas forward.
/// A commit is one `BEGIN IMMEDIATE` … `COMMIT` transaction with `synchronous=FULL`, so when
/// ``commit(_:)`` returns, the checkpoint survives a crash or power loss.
///
/// ```swift
/// let store = try SQLiteCheckpointStore(path: "/var/lib/pspf/state.db", logger: logger)
/// let recovered = try await store.loadLatest()
/// // … process, then periodically:
/// let info = try await store.commit(delta)
/// ```
public final class SQLiteCheckpointStore: CheckpointStore {
    /// How much to check a database file when opening it.
    public enum IntegrityCheck: String, Sendable, Hashable {
        /// Trust the file (corruption still surfaces as `SQLITE_CORRUPT` when a bad page is read).
        case none
        /// `PRAGMA quick_check`: every page is read and b-tree structure, record formats and NOT
        /// NULL/CHECK constraints are verified, but index contents are not matched to their tables.
        /// O(database size); see docs/storage.md for the measured cost.
        case quick
        /// `PRAGMA integrity_check`: like quick, plus index contents. Noticeably slower.
        case full
    }

    /// How the store opens and runs its database.
    public struct Configuration: Sendable {
        /// Connection settings. Defaults: WAL, synchronous=FULL, foreign keys on, 5 s busy timeout,
        /// 16 MiB page cache.
        public var connection: SQLiteConnection.Configuration = {
            var configuration = SQLiteConnection.Configuration()
            configuration.cacheSizeKiB = 16 * 1024
            return configuration
        }()
        public var integrityCheck: IntegrityCheck = .quick
        /// When the WAL holds at least this many pages after a commit, a passive WAL checkpoint
        /// (copy into the database file + fsync) is queued on the database thread right after the
        /// commit returns, instead of running inside `COMMIT` as SQLite's autocheckpoint would. This
        /// keeps the second write and fsync out of the checkpoint latency; the next commit only waits
        /// for it if it arrives while it runs. nil leaves checkpointing to the connection settings.
        ///
        /// 8192 pages (32 MiB of WAL): a dense checkpoint of 100k keys is ~1,800 pages, so the copy
        /// runs after every ~4 such commits instead of after each one. The copy writes each page's
        /// latest version once, so the database file receives a quarter of the bytes, and its
        /// write and fsync collide with a following commit's WAL fsync a quarter as often (that
        /// collision was the p99 of dense checkpoints, docs/benchmarks.md). The WAL file then stays
        /// at up to ~40 MiB and is rewritten in place; a recovery reads it once when it opens.
        public var deferredWALCheckpointPages: Int? = 8192
        public var options = CheckpointStoreOptions()
        /// Name of the database thread.
        public var threadName = "pspf-state-db"

        public init() {}
    }

    /// The database the store runs on. Other state components may share it (one writer thread).
    public let database: SerializedDatabase
    public let path: String
    private let options: CheckpointStoreOptions
    private let logger: Logger
    private let deferredWALCheckpointPages: Int?

    /// Opens (creating if missing) the state database at `path`, checks and migrates it.
    ///
    /// - Throws: ``StorageError`` with ``StorageError/Code/corruptDatabase``,
    ///   ``StorageError/Code/schemaTooNew``, ``StorageError/Code/foreignDatabase`` or
    ///   ``StorageError/Code/migrationFailed``; ``SQLiteError`` for other failures (e.g. permissions).
    public init(path: String, configuration: Configuration = .init(), logger: Logger = Logger(label: "pspf.storage"))
        throws
    {
        precondition(configuration.options.historyLimit >= 1, "historyLimit must be at least 1")
        self.path = path
        self.options = configuration.options
        self.logger = logger
        self.deferredWALCheckpointPages = configuration.deferredWALCheckpointPages
        var connection = configuration.connection
        if configuration.deferredWALCheckpointPages != nil { connection.walAutoCheckpointPages = 0 }
        do {
            database = try SerializedDatabase(
                path: path, configuration: connection, threadName: configuration.threadName)
        } catch let error as SQLiteError where Self.isCorruption(error) {
            throw StorageError.corrupt(path: path, detail: error.message, cause: error)
        }
        do {
            try database.sync { connection in
                try Self.checkIntegrity(connection, configuration.integrityCheck, path: path, logger: logger)
                let outcome = try StateSchema.migrator.migrate(connection)
                if outcome.didMigrate {
                    logger.debug(
                        "migrated state database",
                        metadata: ["path": "\(path)", "from": "\(outcome.fromVersion)", "to": "\(outcome.toVersion)"]
                    )
                }
            }
        } catch let error as SQLiteError where Self.isCorruption(error) {
            try? database.close()
            throw StorageError.corrupt(path: path, detail: error.message, cause: error)
        } catch {
            try? database.close()
            throw error
        }
    }

    /// Closes the database. Later calls throw.
    public func close() throws {
        try database.close()
    }

    // MARK: CheckpointStore

    @discardableResult
    public func commit(_ delta: CheckpointDelta) throws -> CheckpointInfo {
        try delta.validate()
        let options = options
        let info = try database.sync { try Self.apply(delta, to: $0, options: options) }
        scheduleWALCheckpoint()
        return info
    }

    @discardableResult
    public func commit(_ delta: CheckpointDelta) async throws -> CheckpointInfo {
        try delta.validate()
        let options = options
        let info = try await database.perform { try Self.apply(delta, to: $0, options: options) }
        scheduleWALCheckpoint()
        return info
    }

    public func loadLatest() throws -> RecoveredState {
        try database.readSync { try Self.load($0) }
    }

    public func loadLatest() async throws -> RecoveredState {
        try await database.read { try Self.load($0) }
    }

    public func latestCheckpoint() throws -> CheckpointInfo? {
        try database.readSync { try Self.latestCheckpoint($0) }
    }

    public func recentCheckpoints(limit: Int) throws -> [CheckpointInfo] {
        try database.readSync { connection in
            let statement = try connection.cachedStatement(SQL.selectRecentCheckpoints)
            defer { try? statement.reset() }
            try statement.bind(Int64(max(0, limit)), at: 1)
            var infos: [CheckpointInfo] = []
            while try statement.step() { infos.append(Self.checkpointInfo(statement)) }
            return infos.reversed()
        }
    }

    public func forEachStateEntry(pipeline: String, partition: Int, _ body: (StateEntry) throws -> Void) throws {
        try database.readSync { connection in
            let statement = try connection.cachedStatement(SQL.selectPartitionState)
            defer { try? statement.reset() }
            try statement.bind(pipeline, at: 1)
            try statement.bind(partition, at: 2)
            while try statement.step() {
                let key = StateKey(
                    pipeline: pipeline, partition: partition, operatorID: statement.text(at: 0) ?? "",
                    key: statement.blob(at: 1) ?? [], namespace: statement.blob(at: 2) ?? []
                )
                try body(StateEntry(key: key, value: statement.blob(at: 3) ?? []))
            }
        }
    }

    /// Copies the WAL into the database file now (see ``SQLiteConnection/checkpointWAL(_:)``).
    /// With `truncate`, also shrinks the WAL file to zero bytes.
    public func checkpointWAL(truncate: Bool = false) async throws {
        try await database.perform { connection in
            _ = try connection.checkpointWAL(truncate ? .truncate : .passive)
        }
    }

    /// Queues a passive WAL checkpoint behind the commit when the WAL has grown past the threshold.
    private func scheduleWALCheckpoint() {
        guard let threshold = deferredWALCheckpointPages else { return }
        let logger = logger
        database.schedule { connection in
            guard connection.walFrameCount >= threshold else { return }
            do {
                try connection.checkpointWAL(.passive)
            } catch {
                // Not fatal: the WAL keeps the data; the next attempt copies it.
                logger.warning("WAL checkpoint of the state database failed", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Work on the database thread

    private static func apply(
        _ delta: CheckpointDelta, to connection: SQLiteConnection, options: CheckpointStoreOptions
    ) throws -> CheckpointInfo {
        let clock = ContinuousClock()
        let start = clock.now
        let startedAtMs = options.wallClockMs()
        var applied = start
        var info = try connection.withTransaction(.immediate) { () throws -> CheckpointInfo in
            var slots = SlotResolver(connection)
            if !delta.stateDeletes.isEmpty {
                let delete = try connection.cachedStatement(SQL.deleteState)
                for key in delta.stateDeletes {
                    guard
                        let slot = try slots.id(
                            pipeline: key.pipeline, partition: key.partition,
                            operatorID: key.operatorID, create: false)
                    else { continue }
                    try delete.bind(slot, at: 1)
                    try delete.bind(key.key, at: 2)
                    try delete.bind(key.namespace, at: 3)
                    try delete.step()
                    try delete.reset()
                }
            }
            if !delta.stateUpserts.isEmpty {
                try upsertState(delta.stateUpserts, connection, &slots)
            }
            if !delta.inputOffsets.isEmpty {
                let upsert = try connection.cachedStatement(SQL.upsertInputOffset)
                for offset in delta.inputOffsets {
                    try upsert.bind(offset.pipeline, at: 1)
                    try upsert.bind(offset.topic, at: 2)
                    try upsert.bind(offset.partition, at: 3)
                    try upsert.bind(offset.nextOffset, at: 4)
                    try upsert.execute()
                }
            }
            if !delta.outputLogEnds.isEmpty {
                let upsert = try connection.cachedStatement(SQL.upsertOutputLogEnd)
                for end in delta.outputLogEnds {
                    try upsert.bind(end.topic, at: 1)
                    try upsert.bind(end.partition, at: 2)
                    try upsert.bind(end.endOffset, at: 3)
                    try upsert.execute()
                }
            }
            if !delta.sinkOffsets.isEmpty {
                let upsert = try connection.cachedStatement(SQL.upsertSinkOffset)
                for sink in delta.sinkOffsets {
                    try upsert.bind(sink.sink, at: 1)
                    try upsert.bind(sink.deliveredOffset, at: 2)
                    if let position = sink.filePosition {
                        try upsert.bind(position, at: 3)
                    } else {
                        try upsert.bindNull(at: 3)
                    }
                    try upsert.execute()
                }
            }
            if !delta.dedupInserts.isEmpty {
                let upsert = try connection.cachedStatement(SQL.upsertDedup)
                for entry in delta.dedupInserts {
                    try upsert.bind(entry.source, at: 1)
                    try upsert.bind(entry.key, at: 2)
                    try upsert.bind(entry.eventTimeMs, at: 3)
                    try upsert.execute()
                }
            }
            var pruned = 0
            if !delta.dedupPrunes.isEmpty {
                let prune = try connection.cachedStatement(SQL.pruneDedup)
                for horizon in delta.dedupPrunes {
                    try prune.bind(horizon.source, at: 1)
                    try prune.bind(horizon.horizonMs, at: 2)
                    try prune.execute()
                    pruned += connection.changes
                }
            }

            let id =
                try connection.scalar(SQL.nextCheckpointID).flatMap { value -> Int64? in
                    if case .integer(let id) = value { return id } else { return nil }
                } ?? 1
            applied = clock.now
            let info = CheckpointInfo(
                id: id,
                startedAtMs: startedAtMs,
                finishedAtMs: options.wallClockMs(),
                applyDuration: .microseconds((applied - start).microseconds),
                bytesWritten: delta.payloadBytes,
                counts: CheckpointInfo.Counts(delta, dedupPruned: pruned)
            )
            let insert = try connection.cachedStatement(SQL.insertCheckpoint)
            try insert.bind([
                .integer(info.id), .integer(info.startedAtMs), .integer(info.finishedAtMs),
                .integer(info.applyDuration.microseconds), .integer(info.bytesWritten),
                .integer(Int64(info.counts.stateUpserts)), .integer(Int64(info.counts.stateDeletes)),
                .integer(Int64(info.counts.inputOffsets)), .integer(Int64(info.counts.outputLogEnds)),
                .integer(Int64(info.counts.sinkOffsets)), .integer(Int64(info.counts.dedupInserts)),
                .integer(Int64(info.counts.dedupPruned)),
            ])
            try insert.execute()
            if id > Int64(options.historyLimit) {
                try connection.execute(SQL.pruneCheckpoints, [.integer(id - Int64(options.historyLimit))])
            }
            options.beforeCommit?()
            applied = clock.now
            return info
        }
        info.commitDuration = clock.now - applied
        return info
    }

    /// The hot loop of a checkpoint: one cached statement, and the slot id is looked up only when
    /// (pipeline, partition, operator) changes from the previous row.
    private static func upsertState(
        _ entries: [StateEntry], _ connection: SQLiteConnection, _ slots: inout SlotResolver
    ) throws {
        let upsert = try connection.cachedStatement(SQL.upsertState)
        var currentSlot: Int64 = -1
        for entry in entries {
            let key = entry.key
            let slot = try slots.id(
                pipeline: key.pipeline, partition: key.partition, operatorID: key.operatorID, create: true)!
            if slot != currentSlot {
                try upsert.bind(slot, at: 1)  // bindings survive reset
                currentSlot = slot
            }
            try upsert.bind(key.key, at: 2)
            try upsert.bind(key.namespace, at: 3)
            try upsert.bind(entry.value, at: 4)
            try upsert.step()
            try upsert.reset()
        }
    }

    private static func load(_ connection: SQLiteConnection) throws -> RecoveredState {
        var recovered = RecoveredState(checkpoint: try latestCheckpoint(connection))

        let state = try connection.cachedStatement(SQL.selectAllState)
        defer { try? state.reset() }
        while try state.step() {
            recovered.state.append(
                StateEntry(
                    pipeline: state.text(at: 0) ?? "", partition: Int(state.int64(at: 1)),
                    operatorID: state.text(at: 2) ?? "", key: state.blob(at: 3) ?? [],
                    namespace: state.blob(at: 4) ?? [], value: state.blob(at: 5) ?? []
                )
            )
        }

        let inputs = try connection.cachedStatement(SQL.selectInputOffsets)
        defer { try? inputs.reset() }
        while try inputs.step() {
            recovered.inputOffsets.append(
                InputOffset(
                    pipeline: inputs.text(at: 0) ?? "", topic: inputs.text(at: 1) ?? "",
                    partition: Int(inputs.int64(at: 2)), nextOffset: inputs.int64(at: 3)
                )
            )
        }

        let ends = try connection.cachedStatement(SQL.selectOutputLogEnds)
        defer { try? ends.reset() }
        while try ends.step() {
            recovered.outputLogEnds.append(
                OutputLogEnd(
                    topic: ends.text(at: 0) ?? "", partition: Int(ends.int64(at: 1)), endOffset: ends.int64(at: 2))
            )
        }

        let sinks = try connection.cachedStatement(SQL.selectSinkOffsets)
        defer { try? sinks.reset() }
        while try sinks.step() {
            recovered.sinkOffsets.append(
                SinkOffset(
                    sink: sinks.text(at: 0) ?? "", deliveredOffset: sinks.int64(at: 1), filePosition: sinks.blob(at: 2))
            )
        }

        let dedup = try connection.cachedStatement(SQL.selectDedup)
        defer { try? dedup.reset() }
        while try dedup.step() {
            recovered.dedupEntries.append(
                DedupEntry(
                    source: dedup.text(at: 0) ?? "", key: dedup.blob(at: 1) ?? [], eventTimeMs: dedup.int64(at: 2))
            )
        }
        return recovered
    }

    private static func latestCheckpoint(_ connection: SQLiteConnection) throws -> CheckpointInfo? {
        let statement = try connection.cachedStatement(SQL.selectLatestCheckpoint)
        defer { try? statement.reset() }
        guard try statement.step() else { return nil }
        return checkpointInfo(statement)
    }

    private static func checkpointInfo(_ statement: SQLiteStatement) -> CheckpointInfo {
        CheckpointInfo(
            id: statement.int64(at: 0),
            startedAtMs: statement.int64(at: 1),
            finishedAtMs: statement.int64(at: 2),
            applyDuration: .microseconds(statement.int64(at: 3)),
            bytesWritten: statement.int64(at: 4),
            counts: CheckpointInfo.Counts(
                stateUpserts: Int(statement.int64(at: 5)), stateDeletes: Int(statement.int64(at: 6)),
                inputOffsets: Int(statement.int64(at: 7)), outputLogEnds: Int(statement.int64(at: 8)),
                sinkOffsets: Int(statement.int64(at: 9)), dedupInserts: Int(statement.int64(at: 10)),
                dedupPruned: Int(statement.int64(at: 11))
            )
        )
    }

    // MARK: Opening

    static func isCorruption(_ error: SQLiteError) -> Bool {
        error.code ~= .corrupt || error.code ~= .notADatabase
    }

    private static func checkIntegrity(
        _ connection: SQLiteConnection, _ check: IntegrityCheck, path: String, logger: Logger
    ) throws {
        let pragma: String
        switch check {
        case .none: return
        case .quick: pragma = "PRAGMA quick_check(20)"
        case .full: pragma = "PRAGMA integrity_check(20)"
        }
        let clock = ContinuousClock()
        let start = clock.now
        let statement = try connection.prepare(pragma)
        defer { statement.finalize() }
        var problems: [String] = []
        while try statement.step() {
            let line = statement.text(at: 0) ?? ""
            if line != "ok" { problems.append(line) }
        }
        logger.debug(
            "checked state database",
            metadata: ["path": "\(path)", "check": "\(check)", "duration": "\(clock.now - start)"])
        guard problems.isEmpty else {
            throw StorageError.corrupt(
                path: path, detail: "\(pragma) found: " + problems.prefix(3).joined(separator: "; "), cause: nil
            )
        }
    }
}

/// The store's SQL, in one place.
private enum SQL {
    static let selectSlot = "SELECT id FROM state_slot WHERE pipeline = ? AND partition = ? AND operator = ?"
    static let insertSlot = "INSERT INTO state_slot (pipeline, partition, operator) VALUES (?, ?, ?)"
    static let upsertState = """
        INSERT INTO state (slot, key, namespace, value) VALUES (?, ?, ?, ?)
        ON CONFLICT (slot, key, namespace) DO UPDATE SET value = excluded.value
        """
    static let deleteState = "DELETE FROM state WHERE slot = ? AND key = ? AND namespace = ?"
    static let upsertInputOffset = """
        INSERT INTO input_offset (pipeline, topic, partition, next_offset) VALUES (?, ?, ?, ?)
        ON CONFLICT (pipeline, topic, partition) DO UPDATE SET next_offset = excluded.next_offset
        """
    static let upsertOutputLogEnd = """
        INSERT INTO output_log_end (topic, partition, end_offset) VALUES (?, ?, ?)
        ON CONFLICT (topic, partition) DO UPDATE SET end_offset = excluded.end_offset
        """
    static let upsertSinkOffset = """
        INSERT INTO sink_offset (sink, delivered_offset, file_position) VALUES (?, ?, ?)
        ON CONFLICT (sink) DO UPDATE SET delivered_offset = excluded.delivered_offset,
            file_position = excluded.file_position
        """
    static let upsertDedup = """
        INSERT INTO dedup (source, dedup_key, event_time_ms) VALUES (?, ?, ?)
        ON CONFLICT (source, dedup_key) DO UPDATE SET event_time_ms = excluded.event_time_ms
        """
    static let pruneDedup = "DELETE FROM dedup WHERE source = ? AND event_time_ms < ?"
    static let nextCheckpointID = "SELECT coalesce(max(id), 0) + 1 FROM checkpoint"
    static let insertCheckpoint = """
        INSERT INTO checkpoint (id, started_ms, finished_ms, duration_us, bytes_written, state_upserts,
            state_deletes, input_offsets, output_log_ends, sink_offsets, dedup_inserts, dedup_pruned)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let pruneCheckpoints = "DELETE FROM checkpoint WHERE id <= ?"
    static let selectRecentCheckpoints = """
        SELECT id, started_ms, finished_ms, duration_us, bytes_written, state_upserts, state_deletes,
            input_offsets, output_log_ends, sink_offsets, dedup_inserts, dedup_pruned
        FROM checkpoint ORDER BY id DESC LIMIT ?
        """
    static let selectLatestCheckpoint = """
        SELECT id, started_ms, finished_ms, duration_us, bytes_written, state_upserts, state_deletes,
            input_offsets, output_log_ends, sink_offsets, dedup_inserts, dedup_pruned
        FROM checkpoint ORDER BY id DESC LIMIT 1
        """
    static let selectAllState = """
        SELECT s.pipeline, s.partition, s.operator, t.key, t.namespace, t.value
        FROM state_slot AS s JOIN state AS t ON t.slot = s.id
        ORDER BY s.pipeline, s.partition, s.operator, t.key, t.namespace
        """
    static let selectPartitionState = """
        SELECT s.operator, t.key, t.namespace, t.value
        FROM state_slot AS s JOIN state AS t ON t.slot = s.id
        WHERE s.pipeline = ? AND s.partition = ?
        ORDER BY s.operator, t.key, t.namespace
        """
    static let selectInputOffsets =
        "SELECT pipeline, topic, partition, next_offset FROM input_offset ORDER BY pipeline, topic, partition"
    static let selectOutputLogEnds = "SELECT topic, partition, end_offset FROM output_log_end ORDER BY topic, partition"
    static let selectSinkOffsets = "SELECT sink, delivered_offset, file_position FROM sink_offset ORDER BY sink"
    static let selectDedup = "SELECT source, dedup_key, event_time_ms FROM dedup ORDER BY source, dedup_key"
}

/// Maps (pipeline, partition, operator) to `state_slot.id` within one transaction. Nothing is
/// cached across transactions, so a rolled-back slot insert can never leave a stale id behind.
private struct SlotResolver {
    private struct Name: Hashable {
        var pipeline: [UInt8]
        var partition: Int
        var operatorID: [UInt8]
    }

    private let connection: SQLiteConnection
    private var known: [Name: Int64] = [:]
    private var last: (pipeline: String, partition: Int, operatorID: String, id: Int64)?

    init(_ connection: SQLiteConnection) { self.connection = connection }

    /// The slot id, inserting the slot when `create` is true; nil if it does not exist and `create` is false.
    mutating func id(pipeline: String, partition: Int, operatorID: String, create: Bool) throws -> Int64? {
        if let last, last.partition == partition, last.pipeline.utf8.elementsEqual(pipeline.utf8),
            last.operatorID.utf8.elementsEqual(operatorID.utf8)
        {
            return last.id
        }
        let name = Name(pipeline: Array(pipeline.utf8), partition: partition, operatorID: Array(operatorID.utf8))
        var id = known[name]
        if id == nil {
            let select = try connection.cachedStatement(SQL.selectSlot)
            try select.bind(pipeline, at: 1)
            try select.bind(partition, at: 2)
            try select.bind(operatorID, at: 3)
            if try select.step() { id = select.int64(at: 0) }
            try select.reset()
        }
        if id == nil && create {
            try connection.execute(SQL.insertSlot, [.text(pipeline), .integer(Int64(partition)), .text(operatorID)])
            id = connection.lastInsertRowID
        }
        guard let id else { return nil }
        known[name] = id
        last = (pipeline, partition, operatorID, id)
        return id
    }
}
