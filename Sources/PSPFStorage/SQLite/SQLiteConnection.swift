import CSQLite

/// The owner of one SQLite database connection (`sqlite3 *`).
///
/// Opening applies ``Configuration`` (WAL, `synchronous`, busy timeout, foreign keys, …).
/// ``close()`` reports failure; `deinit` closes quietly if ``close()`` was not called.
///
/// A connection is not thread-safe (it is opened with `SQLITE_OPEN_NOMUTEX`) and is not `Sendable`:
/// use it from one thread at a time. ``SerializedDatabase`` confines one to a dedicated thread.
///
/// ```swift
/// let connection = try SQLiteConnection(path: "/var/lib/pspf/state.db")
/// try connection.withTransaction {
///     try connection.execute("INSERT INTO t(x) VALUES (1)")
/// }
/// try connection.close()
/// ```
public final class SQLiteConnection {
    /// The path the connection was opened with (`":memory:"` for an in-memory database).
    public let path: String
    /// The configuration applied on open.
    public let configuration: Configuration

    private var handle: OpaquePointer?
    private var statementCache: [String: SQLiteStatement] = [:]
    private var hasWALHook = false

    /// Frames in the write-ahead log after this connection's last commit. Only tracked when
    /// ``Configuration/walAutoCheckpointPages`` is 0; reset by ``checkpointWAL(_:)``.
    public private(set) var walFrameCount = 0

    /// Opens (and, with `.create`, creates) the database at `path` and applies `configuration`.
    ///
    /// Note that SQLite reads the file lazily: a file that is not a database is reported by the first
    /// statement that reads it, which is the `journal_mode` pragma when WAL is configured.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        self.path = path
        self.configuration = configuration
        var db: OpaquePointer?
        let flags = configuration.openFlags.rawValue | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let error = SQLiteError(code: code, db: db, sql: nil)
            sqlite3_close_v2(db)
            throw SQLiteError(code: error.code, message: "cannot open \(path): \(error.message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        do {
            try configure(configuration)
        } catch {
            sqlite3_close_v2(db)
            handle = nil
            throw error
        }
    }

    deinit {
        // The WAL hook's context is this object: unhook before a deferred (zombie) close.
        if let handle, hasWALHook { sqlite3_wal_hook(handle, nil, nil) }
        for statement in statementCache.values { statement.finalize() }
        // close_v2 never fails for open statements: it defers the close until they are finalized.
        if let handle { sqlite3_close_v2(handle) }
    }

    /// Finalizes cached statements and closes the connection.
    ///
    /// Throws `SQLITE_BUSY` if statements from ``prepare(_:)`` are still alive; the connection then
    /// stays open. Closing twice is a no-op.
    public func close() throws {
        guard let handle else { return }
        for statement in statementCache.values { statement.finalize() }
        statementCache.removeAll()
        let code = sqlite3_close(handle)
        guard code == SQLITE_OK else { throw SQLiteError(code: code, db: handle, sql: nil) }
        self.handle = nil
    }

    /// True until ``close()`` succeeds.
    public var isOpen: Bool { handle != nil }

    // MARK: Statements

    /// Compiles one SQL statement. Trailing text after the first statement is an error.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        try prepare(sql, persistent: false)
    }

    /// Returns the cached statement for `sql`, compiling it on first use. The statement comes back
    /// reset with its bindings cleared. Cached statements are finalized by ``close()`` and `deinit`.
    public func cachedStatement(_ sql: String) throws -> SQLiteStatement {
        if let statement = statementCache[sql] {
            // A failed reset only repeats the previous step's error; the statement is rewound anyway.
            try? statement.reset()
            statement.clearBindings()
            return statement
        }
        let statement = try prepare(sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// Number of statements in the cache.
    public var cachedStatementCount: Int { statementCache.count }

    /// Finalizes and forgets every cached statement (e.g. after a schema change).
    public func clearStatementCache() {
        for statement in statementCache.values { statement.finalize() }
        statementCache.removeAll()
    }

    /// Runs one or more `;`-separated statements, discarding any rows.
    public func execute(_ sql: String) throws {
        let db = try live()
        try sql.withCString { start in
            var cursor: UnsafePointer<CChar>? = start
            while let current = cursor, current.pointee != 0 {
                var stmt: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let code = sqlite3_prepare_v3(db, current, -1, 0, &stmt, &tail)
                guard code == SQLITE_OK else {
                    // The tail is unreliable after a failure: report the rest of the script.
                    let rest = String(cString: current).drop { $0.isWhitespace }
                    throw SQLiteError(code: code, db: db, sql: String(rest))
                }
                cursor = tail
                guard let stmt else { continue }  // whitespace or a comment
                let statement = SQLiteStatement(handle: stmt, sql: String(cString: sqlite3_sql(stmt)))
                defer { statement.finalize() }
                while try statement.step() {}
            }
        }
    }

    /// Runs `sql` with `arguments` bound in order, through the statement cache, discarding any rows.
    public func execute(_ sql: String, _ arguments: [SQLiteValue]) throws {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        try statement.execute()
    }

    /// Runs a query through the statement cache and returns the first column of the first row, or
    /// nil when there is no row.
    public func scalar(_ sql: String, _ arguments: [SQLiteValue] = []) throws -> SQLiteValue? {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        defer { try? statement.reset() }
        return try statement.step() ? statement.value(at: 0) : nil
    }

    // MARK: State

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

    /// Rowid of the last successful INSERT into a rowid table.
    public var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// True while a transaction is open (`sqlite3_get_autocommit` is off).
    public var isInTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    /// The version of the SQLite library in use, e.g. `"3.40.1"`.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    // MARK: Private

    private func live() throws -> OpaquePointer {
        guard let handle else { throw SQLiteError(code: .misuse, message: "connection to \(path) is closed") }
        return handle
    }

    private func prepare(_ sql: String, persistent: Bool) throws -> SQLiteStatement {
        let db = try live()
        var stmt: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        var trailing = false
        let code = sql.withCString { start -> Int32 in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(db, start, -1, flags, &stmt, &tail)
            if code == SQLITE_OK, var rest = tail {
                while rest.pointee != 0 {
                    if !Self.isSpace(rest.pointee) && rest.pointee != 0x3B /* ; */ { trailing = true; break }
                    rest += 1
                }
            }
            return code
        }
        guard code == SQLITE_OK else { throw SQLiteError(code: code, db: db, sql: sql) }
        guard let stmt else { throw SQLiteError(code: .misuse, message: "no SQL statement in the text", sql: sql) }
        guard !trailing else {
            sqlite3_finalize(stmt)
            throw SQLiteError(code: .misuse, message: "prepare() takes exactly one statement; use execute()", sql: sql)
        }
        return SQLiteStatement(handle: stmt, sql: sql)
    }

    private static func isSpace(_ c: CChar) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    // MARK: WAL

    /// How far ``checkpointWAL(_:)`` goes (`sqlite3_wal_checkpoint_v2` modes).
    public enum CheckpointMode: Int32, Sendable, Hashable {
        /// Copies what it can without waiting for readers or writers.
        case passive = 0
        /// Waits for writers, then copies everything.
        case full = 1
        /// Like full, then makes the next writer start the WAL from its beginning.
        case restart = 2
        /// Like restart, and truncates the WAL file to zero bytes.
        case truncate = 3
    }

    /// Copies committed pages from the write-ahead log into the database file (and fsyncs it).
    /// Returns the frames in the log and how many of them are now checkpointed.
    @discardableResult
    public func checkpointWAL(_ mode: CheckpointMode = .passive) throws -> (logFrames: Int, checkpointedFrames: Int) {
        let db = try live()
        var log: Int32 = 0
        var done: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(db, nil, mode.rawValue, &log, &done)
        guard code == SQLITE_OK else {
            throw SQLiteError(code: code, db: db, sql: "PRAGMA wal_checkpoint(\(mode))")
        }
        if log >= 0 && done >= log { walFrameCount = 0 }
        return (Int(log), Int(done))
    }

    func installWALHook() {
        guard let db = handle else { return }
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(
            db,
            { context, _, _, frames in
                // Runs inside sqlite3_step(COMMIT) on the connection's own thread.
                Unmanaged<SQLiteConnection>.fromOpaque(context!).takeUnretainedValue().walFrameCount = Int(frames)
                return SQLITE_OK
            }, context)
        hasWALHook = true
    }

    /// The raw handle, for the extensions in this module.
    var rawHandle: OpaquePointer? { handle }
}
