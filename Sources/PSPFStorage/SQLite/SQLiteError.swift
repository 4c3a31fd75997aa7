import CSQLite

/// An error reported by SQLite: the (extended) result code, `sqlite3_errmsg` and the SQL that failed.
///
/// Match on the code in `catch` clauses. A primary code matches every extended code of its family;
/// an extended code matches only itself:
///
/// ```swift
/// do {
///     try statement.execute()
/// } catch SQLiteError.ResultCode.constraintUnique {
///     // exactly SQLITE_CONSTRAINT_UNIQUE
/// } catch SQLiteError.ResultCode.constraint {
///     // any other SQLITE_CONSTRAINT_*
/// }
/// ```
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The extended result code (connections enable extended codes when they open).
    public var code: ResultCode
    /// `sqlite3_errmsg` at the time of the failure, or a description written by this module.
    public var message: String
    /// The SQL statement that failed, if the failure belongs to one.
    public var sql: String?

    public init(code: ResultCode, message: String? = nil, sql: String? = nil) {
        self.code = code
        self.message = message ?? code.systemMessage
        self.sql = sql
    }

    /// Reads the message from `db` (must be called right after the failing call, on the same thread).
    init(code: Int32, db: OpaquePointer?, sql: String?) {
        let message = db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        self.init(code: ResultCode(rawValue: code), message: message, sql: sql)
    }

    public var description: String {
        var text = "SQLite error \(code.rawValue) (\(code)): \(message)"
        if let sql { text += " — while executing `\(sql)`" }
        return text
    }
}

extension SQLiteError {
    /// An SQLite result code, primary (low 8 bits) or extended.
    ///
    /// Works in `catch` and `switch` patterns; see ``SQLiteError``.
    public struct ResultCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int32

        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// The primary result code: the low 8 bits of an extended code.
        public var primary: ResultCode { ResultCode(rawValue: rawValue & 0xFF) }

        /// True when this is a primary code (no extended bits).
        public var isPrimary: Bool { rawValue & ~0xFF == 0 }

        /// `sqlite3_errstr`: SQLite's English description of the code.
        public var systemMessage: String { String(cString: sqlite3_errstr(rawValue)) }

        public var description: String {
            if let name = Self.names[rawValue] { return name }
            if let name = Self.names[primary.rawValue] { return "\(name)(extended \(rawValue))" }
            return "SQLITE_\(rawValue)"
        }

        /// Pattern match: a primary pattern matches its whole family, an extended one only itself.
        public static func ~= (pattern: ResultCode, code: ResultCode) -> Bool {
            pattern.isPrimary ? pattern == code.primary : pattern == code
        }

        /// Lets `catch SQLiteError.ResultCode.busy` match any thrown ``SQLiteError`` with that code.
        public static func ~= (pattern: ResultCode, error: any Error) -> Bool {
            guard let error = error as? SQLiteError else { return false }
            return pattern ~= error.code
        }

        // Primary codes.
        public static let ok = ResultCode(rawValue: SQLITE_OK)
        public static let error = ResultCode(rawValue: SQLITE_ERROR)
        public static let `internal` = ResultCode(rawValue: SQLITE_INTERNAL)
        public static let permission = ResultCode(rawValue: SQLITE_PERM)
        public static let abort = ResultCode(rawValue: SQLITE_ABORT)
        public static let busy = ResultCode(rawValue: SQLITE_BUSY)
        public static let locked = ResultCode(rawValue: SQLITE_LOCKED)
        public static let noMemory = ResultCode(rawValue: SQLITE_NOMEM)
        public static let readOnly = ResultCode(rawValue: SQLITE_READONLY)
        public static let interrupt = ResultCode(rawValue: SQLITE_INTERRUPT)
        public static let ioError = ResultCode(rawValue: SQLITE_IOERR)
        public static let corrupt = ResultCode(rawValue: SQLITE_CORRUPT)
        public static let notFound = ResultCode(rawValue: SQLITE_NOTFOUND)
        public static let full = ResultCode(rawValue: SQLITE_FULL)
        public static let cannotOpen = ResultCode(rawValue: SQLITE_CANTOPEN)
        public static let `protocol` = ResultCode(rawValue: SQLITE_PROTOCOL)
        public static let schema = ResultCode(rawValue: SQLITE_SCHEMA)
        public static let tooBig = ResultCode(rawValue: SQLITE_TOOBIG)
        public static let constraint = ResultCode(rawValue: SQLITE_CONSTRAINT)
        public static let mismatch = ResultCode(rawValue: SQLITE_MISMATCH)
        public static let misuse = ResultCode(rawValue: SQLITE_MISUSE)
        public static let noLFS = ResultCode(rawValue: SQLITE_NOLFS)
        public static let auth = ResultCode(rawValue: SQLITE_AUTH)
        public static let range = ResultCode(rawValue: SQLITE_RANGE)
        public static let notADatabase = ResultCode(rawValue: SQLITE_NOTADB)
        public static let row = ResultCode(rawValue: SQLITE_ROW)
        public static let done = ResultCode(rawValue: SQLITE_DONE)

        // Extended codes this project looks at (values from sqlite3.h; the C macros do not import).
        public static let busyRecovery = ResultCode(rawValue: SQLITE_BUSY | (1 << 8))
        public static let busySnapshot = ResultCode(rawValue: SQLITE_BUSY | (2 << 8))
        public static let busyTimeout = ResultCode(rawValue: SQLITE_BUSY | (3 << 8))
        public static let ioErrorShortRead = ResultCode(rawValue: SQLITE_IOERR | (2 << 8))
        public static let ioErrorWrite = ResultCode(rawValue: SQLITE_IOERR | (3 << 8))
        public static let ioErrorFsync = ResultCode(rawValue: SQLITE_IOERR | (4 << 8))
        public static let corruptVirtualTable = ResultCode(rawValue: SQLITE_CORRUPT | (1 << 8))
        public static let corruptSequence = ResultCode(rawValue: SQLITE_CORRUPT | (2 << 8))
        public static let corruptIndex = ResultCode(rawValue: SQLITE_CORRUPT | (3 << 8))
        public static let readOnlyDatabaseMoved = ResultCode(rawValue: SQLITE_READONLY | (4 << 8))
        public static let constraintCheck = ResultCode(rawValue: SQLITE_CONSTRAINT | (1 << 8))
        public static let constraintForeignKey = ResultCode(rawValue: SQLITE_CONSTRAINT | (3 << 8))
        public static let constraintNotNull = ResultCode(rawValue: SQLITE_CONSTRAINT | (5 << 8))
        public static let constraintPrimaryKey = ResultCode(rawValue: SQLITE_CONSTRAINT | (6 << 8))
        public static let constraintTrigger = ResultCode(rawValue: SQLITE_CONSTRAINT | (7 << 8))
        public static let constraintUnique = ResultCode(rawValue: SQLITE_CONSTRAINT | (8 << 8))
        public static let constraintDataType = ResultCode(rawValue: SQLITE_CONSTRAINT | (12 << 8))

        private static let names: [Int32: String] = [
            SQLITE_OK: "SQLITE_OK", SQLITE_ERROR: "SQLITE_ERROR", SQLITE_INTERNAL: "SQLITE_INTERNAL",
            SQLITE_PERM: "SQLITE_PERM", SQLITE_ABORT: "SQLITE_ABORT", SQLITE_BUSY: "SQLITE_BUSY",
            SQLITE_LOCKED: "SQLITE_LOCKED", SQLITE_NOMEM: "SQLITE_NOMEM", SQLITE_READONLY: "SQLITE_READONLY",
            SQLITE_INTERRUPT: "SQLITE_INTERRUPT", SQLITE_IOERR: "SQLITE_IOERR", SQLITE_CORRUPT: "SQLITE_CORRUPT",
            SQLITE_NOTFOUND: "SQLITE_NOTFOUND", SQLITE_FULL: "SQLITE_FULL", SQLITE_CANTOPEN: "SQLITE_CANTOPEN",
            SQLITE_PROTOCOL: "SQLITE_PROTOCOL", SQLITE_SCHEMA: "SQLITE_SCHEMA", SQLITE_TOOBIG: "SQLITE_TOOBIG",
            SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT", SQLITE_MISMATCH: "SQLITE_MISMATCH",
            SQLITE_MISUSE: "SQLITE_MISUSE", SQLITE_NOLFS: "SQLITE_NOLFS", SQLITE_AUTH: "SQLITE_AUTH",
            SQLITE_RANGE: "SQLITE_RANGE", SQLITE_NOTADB: "SQLITE_NOTADB", SQLITE_ROW: "SQLITE_ROW",
            SQLITE_DONE: "SQLITE_DONE",
            SQLITE_BUSY | (1 << 8): "SQLITE_BUSY_RECOVERY", SQLITE_BUSY | (2 << 8): "SQLITE_BUSY_SNAPSHOT",
            SQLITE_BUSY | (3 << 8): "SQLITE_BUSY_TIMEOUT",
            SQLITE_IOERR | (2 << 8): "SQLITE_IOERR_SHORT_READ", SQLITE_IOERR | (3 << 8): "SQLITE_IOERR_WRITE",
            SQLITE_IOERR | (4 << 8): "SQLITE_IOERR_FSYNC",
            SQLITE_CORRUPT | (1 << 8): "SQLITE_CORRUPT_VTAB", SQLITE_CORRUPT | (2 << 8): "SQLITE_CORRUPT_SEQUENCE",
            SQLITE_CORRUPT | (3 << 8): "SQLITE_CORRUPT_INDEX",
            SQLITE_READONLY | (4 << 8): "SQLITE_READONLY_DBMOVED",
            SQLITE_CONSTRAINT | (1 << 8): "SQLITE_CONSTRAINT_CHECK",
            SQLITE_CONSTRAINT | (3 << 8): "SQLITE_CONSTRAINT_FOREIGNKEY",
            SQLITE_CONSTRAINT | (5 << 8): "SQLITE_CONSTRAINT_NOTNULL",
            SQLITE_CONSTRAINT | (6 << 8): "SQLITE_CONSTRAINT_PRIMARYKEY",
            SQLITE_CONSTRAINT | (7 << 8): "SQLITE_CONSTRAINT_TRIGGER",
            SQLITE_CONSTRAINT | (8 << 8): "SQLITE_CONSTRAINT_UNIQUE",
            SQLITE_CONSTRAINT | (12 << 8): "SQLITE_CONSTRAINT_DATATYPE",
        ]
    }
}
