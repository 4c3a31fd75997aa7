import CSQLite

extension SQLiteConnection {
    /// `sqlite3_open_v2` flags. The connection always adds `SQLITE_OPEN_NOMUTEX`: it is used from one
    /// thread at a time, so SQLite's per-connection mutex would be pure overhead.
    public struct OpenFlags: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let readOnly = OpenFlags(rawValue: SQLITE_OPEN_READONLY)
        public static let readWrite = OpenFlags(rawValue: SQLITE_OPEN_READWRITE)
        public static let create = OpenFlags(rawValue: SQLITE_OPEN_CREATE)
        public static let uri = OpenFlags(rawValue: SQLITE_OPEN_URI)
        public static let memory = OpenFlags(rawValue: SQLITE_OPEN_MEMORY)
    }

    /// `PRAGMA journal_mode`.
    public enum JournalMode: String, Sendable, Hashable {
        case delete, truncate, persist, memory, wal, off
    }

    /// `PRAGMA synchronous`.
    public enum Synchronous: String, Sendable, Hashable {
        case off, normal, full, extra
    }

    /// What a connection sets up when it opens. The defaults are the ones the state database uses.
    public struct Configuration: Sendable, Hashable {
        /// How to open the file.
        public var openFlags: OpenFlags = [.readWrite, .create]
        /// Write-ahead logging: readers (e.g. `pspf status`) never block the checkpoint writer and a
        /// commit appends to one file instead of rewriting pages in place. nil leaves the file's mode.
        public var journalMode: JournalMode? = .wal
        /// `FULL` fsyncs the WAL at every commit, so a commit that returned survives power loss.
        /// A checkpoint commit is the durability point of exactly-once (input offsets, output log
        /// ends and state move together), so it must not be rolled back by a power cut after other
        /// parts of the daemon acted on it. `NORMAL` in WAL mode only syncs at WAL checkpoints.
        public var synchronous: Synchronous? = .full
        /// `PRAGMA foreign_keys`; SQLite's default is off.
        public var foreignKeys: Bool = true
        /// How long a statement waits for a lock held by another connection (e.g. an operator
        /// inspecting the file with `sqlite3`) before failing with `SQLITE_BUSY`. nil fails at once.
        public var busyTimeout: Duration? = .seconds(5)
        /// Page cache size in KiB (`PRAGMA cache_size = -N`); nil keeps SQLite's default (2000 KiB).
        public var cacheSizeKiB: Int? = nil
        /// `PRAGMA wal_autocheckpoint` in pages: the `COMMIT` that leaves the WAL at least this long
        /// also copies it into the database file (a second write and fsync inside that `COMMIT`).
        /// nil keeps SQLite's default (1000 pages). 0 turns it off: the owner then calls
        /// ``SQLiteConnection/checkpointWAL(_:)`` itself, guided by ``SQLiteConnection/walFrameCount``.
        public var walAutoCheckpointPages: Int? = nil
        /// `SQLITE_DBCONFIG_DEFENSIVE`: forbid SQL that can corrupt the file on purpose.
        public var defensive: Bool = true

        public init() {}
    }

    func configure(_ configuration: Configuration) throws {
        guard let db = rawHandle else { return }
        if let timeout = configuration.busyTimeout {
            sqlite3_busy_timeout(db, Int32(clamping: timeout.milliseconds))
        }
        if configuration.defensive {
            _ = pspf_sqlite_db_config_defensive(db, 1)
        }
        let readOnly = configuration.openFlags.contains(.readOnly)
        if let mode = configuration.journalMode, !readOnly {
            let result = try scalarText("PRAGMA journal_mode = \(mode.rawValue)")
            let inMemory = path.isEmpty || path == ":memory:" || configuration.openFlags.contains(.memory)
            if result != mode.rawValue && !(inMemory && result == JournalMode.memory.rawValue) {
                throw SQLiteError(
                    code: .error,
                    message:
                        "could not set journal_mode=\(mode.rawValue) on \(path) (SQLite kept \(result ?? "nothing"))"
                )
            }
        }
        if let synchronous = configuration.synchronous {
            try execute("PRAGMA synchronous = \(synchronous.rawValue)")
        }
        try execute("PRAGMA foreign_keys = \(configuration.foreignKeys ? "ON" : "OFF")")
        if let cache = configuration.cacheSizeKiB {
            try execute("PRAGMA cache_size = -\(max(cache, 0))")
        }
        if let pages = configuration.walAutoCheckpointPages {
            if pages > 0 {
                try execute("PRAGMA wal_autocheckpoint = \(pages)")
            } else {
                // Replaces SQLite's own hook (that is how autocheckpoint works), so nothing
                // checkpoints inside COMMIT any more; the hook only records the WAL length.
                installWALHook()
            }
        }
    }

    /// Runs a pragma or query (not cached) and returns the first column of the first row as text.
    func scalarText(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        return try statement.step() ? statement.text(at: 0) : nil
    }

    /// Runs a pragma or query (not cached) and returns the first column of the first row as an integer.
    func scalarInt(_ sql: String) throws -> Int64? {
        let statement = try prepare(sql)
        defer { statement.finalize() }
        return try statement.step() ? statement.int64(at: 0) : nil
    }
}

extension Duration {
    /// Whole milliseconds, truncated.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, truncated.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
