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

    /// Opens (creating if missing) the state database at `path`, checks and migrates it.
    ///
    /// - Throws: ``StorageError`` with ``StorageError/Code/corruptDatabase``,
    ///   ``StorageError/Code/schemaTooNew``, ``StorageError/Code/foreignDatabase`` or
    ///   ``StorageError/Code/migrationFailed``; ``SQLiteError`` for other failures (e.g. permissions).
    public init(path: String, configuration: Configuration = .init(), logger: Logger = Logger(label: "pspf.storage")) throws {
        precondition(configuration.options.historyLimit >= 1, "historyLimit must be at least 1")
        self.path = path
        self.options = configuration.options
        self.logger = logger
        do {
            database = try SerializedDatabase(
                path: path, configuration: configuration.connection, threadName: configuration.threadName
            )
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
        return try database.sync { try Self.apply(delta, to: $0, options: options) }
    }

    @discardableResult

    public func commit(_ delta: CheckpointDelta) async throws -> CheckpointInfo {
        try delta.validate()
        let options = options
        return try await database.perform { try Self.apply(delta, to: $0, options: options) }
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

    public func forEachStateEntry(pipeline: String, partition: Int, _ body: (StateEntry) throws -> Void) throws {
        try database.readSync { connection in
            let statement = try connection.cachedStatement(SQL.selectPartitionState)
            defer { try? statement.reset() }
            try statement.bind(pipeline, at: 1)
            try statement.bind(partition, at: 2)
            while try statement.step() {
                try body(StateEntry(key: Self.readStateKey(statement, pipeline: pipeline, partition: partition),
                                    value: statement.blob(at: 3) ?? []))
            }
        }
    }

    /// Runs `PRAGMA wal_checkpoint(mode)`: copies committed pages from the WAL into the database
    /// file. SQLite also does this automatically (see `walAutoCheckpointPages`).
    public func checkpointWAL(truncate: Bool = false) async throws {
        try await database.perform { connection in
            try connection.execute("PRAGMA wal_checkpoint(\(truncate ? "TRUNCATE" : "PASSIVE"))")
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
            if !delta.stateDeletes.isEmpty {
                let delete = try connection.cachedStatement(SQL.deleteState)
                for key in delta.stateDeletes {
                    try bindStateKey(key, to: delete)
                    try delete.step()
                    try delete.reset()
                }
            }
            if !delta.stateUpserts.isEmpty {
                try upsertState(delta.stateUpserts, connection)
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

            let id = try connection.scalar(SQL.nextCheckpointID).flatMap { value -> Int64? in
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
            applied = clock.now
            return info
        }
        info.commitDuration = clock.now - applied
        return info
    }

    /// The hot loop of a checkpoint: one cached statement, rebinding only the columns that changed
    /// (bindings survive `sqlite3_reset`, and consecutive rows usually share pipeline, partition
    /// and operator).
    private static func upsertState(_ entries: [StateEntry], _ connection: SQLiteConnection) throws {
        let upsert = try connection.cachedStatement(SQL.upsertState)
        var pipeline: String?
        var partition: Int?
        var operatorID: String?
        for entry in entries {
            let key = entry.key
            if key.pipeline != pipeline {
                try upsert.bind(key.pipeline, at: 1)
                pipeline = key.pipeline
            }
            if key.partition != partition {
                try upsert.bind(key.partition, at: 2)
                partition = key.partition
            }
            if key.operatorID != operatorID {
                try upsert.bind(key.operatorID, at: 3)
                operatorID = key.operatorID
            }
            try upsert.bind(key.key, at: 4)
            try upsert.bind(key.namespace, at: 5)
            try upsert.bind(entry.value, at: 6)
            try upsert.step()
            try upsert.reset()
        }
    }

    private static func bindStateKey(_ key: StateKey, to statement: SQLiteStatement) throws {
        try statement.bind(key.pipeline, at: 1)
        try statement.bind(key.partition, at: 2)
        try statement.bind(key.operatorID, at: 3)
        try statement.bind(key.key, at: 4)
        try statement.bind(key.namespace, at: 5)
    }

    private static func readStateKey(_ statement: SQLiteStatement, pipeline: String, partition: Int) -> StateKey {
        StateKey(
            pipeline: pipeline, partition: partition, operatorID: statement.text(at: 0) ?? "",
            key: statement.blob(at: 1) ?? [], namespace: statement.blob(at: 2) ?? []
        )
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
                OutputLogEnd(topic: ends.text(at: 0) ?? "", partition: Int(ends.int64(at: 1)), endOffset: ends.int64(at: 2))
            )
        }

        let sinks = try connection.cachedStatement(SQL.selectSinkOffsets)
        defer { try? sinks.reset() }
        while try sinks.step() {
            recovered.sinkOffsets.append(
                SinkOffset(sink: sinks.text(at: 0) ?? "", deliveredOffset: sinks.int64(at: 1), filePosition: sinks.blob(at: 2))
            )
        }

        let dedup = try connection.cachedStatement(SQL.selectDedup)
        defer { try? dedup.reset() }
        while try dedup.step() {
            recovered.dedupEntries.append(
                DedupEntry(source: dedup.text(at: 0) ?? "", key: dedup.blob(at: 1) ?? [], eventTimeMs: dedup.int64(at: 2))
            )
        }
        return recovered
    }

    private static func latestCheckpoint(_ connection: SQLiteConnection) throws -> CheckpointInfo? {
        let statement = try connection.cachedStatement(SQL.selectLatestCheckpoint)
        defer { try? statement.reset() }
        guard try statement.step() else { return nil }
        return CheckpointInfo(
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
        logger.debug("checked state database", metadata: ["path": "\(path)", "check": "\(check)", "duration": "\(clock.now - start)"])
        guard problems.isEmpty else {
            throw StorageError.corrupt(
                path: path, detail: "\(pragma) found: " + problems.prefix(3).joined(separator: "; "), cause: nil
            )
        }
    }
}

/// The store's SQL, in one place.
private enum SQL {
    static let upsertState = """
        INSERT INTO state (pipeline, partition, operator, key, namespace, value) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (pipeline, partition, operator, key, namespace) DO UPDATE SET value = excluded.value
        """
    static let deleteState =
        "DELETE FROM state WHERE pipeline = ? AND partition = ? AND operator = ? AND key = ? AND namespace = ?"
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
    static let selectLatestCheckpoint = """
        SELECT id, started_ms, finished_ms, duration_us, bytes_written, state_upserts, state_deletes,
            input_offsets, output_log_ends, sink_offsets, dedup_inserts, dedup_pruned
        FROM checkpoint ORDER BY id DESC LIMIT 1
        """
    static let selectAllState = """
        SELECT pipeline, partition, operator, key, namespace, value FROM state
        ORDER BY pipeline, partition, operator, key, namespace
        """
    static let selectPartitionState = """
        SELECT operator, key, namespace, value FROM state WHERE pipeline = ? AND partition = ?
        ORDER BY operator, key, namespace
        """
    static let selectInputOffsets =
        "SELECT pipeline, topic, partition, next_offset FROM input_offset ORDER BY pipeline, topic, partition"
    static let selectOutputLogEnds = "SELECT topic, partition, end_offset FROM output_log_end ORDER BY topic, partition"
    static let selectSinkOffsets = "SELECT sink, delivered_offset, file_position FROM sink_offset ORDER BY sink"
    static let selectDedup = "SELECT source, dedup_key, event_time_ms FROM dedup ORDER BY source, dedup_key"
}
