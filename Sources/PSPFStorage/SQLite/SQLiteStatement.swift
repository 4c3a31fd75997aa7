import CSQLite

/// The owner of one prepared statement (`sqlite3_stmt`).
///
/// Parameters are bound by 1-based index; columns are read by 0-based index, as in the C API.
/// ``finalize()`` is the only place that calls `sqlite3_finalize`; `deinit` calls it.
///
/// A statement is confined to the thread that uses its connection (see ``SerializedDatabase``).
///
/// ```swift
/// let statement = try connection.prepare("SELECT value FROM state WHERE key = ?")
/// try statement.bind(key, at: 1)
/// while try statement.step() {
///     let value = statement.blob(at: 0)
/// }
/// ```
public final class SQLiteStatement {
    /// The SQL text the statement was prepared from.
    public let sql: String
    private var handle: OpaquePointer?

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
    }

    deinit { finalize() }

    /// Releases the statement. Idempotent; any later use throws ``SQLiteError/ResultCode/misuse``.
    public func finalize() {
        guard let handle else { return }
        // The return value repeats the last step's error, which was already reported.
        sqlite3_finalize(handle)
        self.handle = nil
    }

    /// True until ``finalize()``.
    public var isFinalized: Bool { handle == nil }

    /// Number of `?` parameters.
    public var parameterCount: Int { handle.map { Int(sqlite3_bind_parameter_count($0)) } ?? 0 }

    /// Number of result columns.
    public var columnCount: Int { handle.map { Int(sqlite3_column_count($0)) } ?? 0 }

    /// True when the statement does not write to the database (`sqlite3_stmt_readonly`).
    public var isReadOnly: Bool { handle.map { sqlite3_stmt_readonly($0) != 0 } ?? true }

    // MARK: Binding

    /// Binds a 64-bit integer to the 1-based parameter `index`.
    public func bind(_ value: Int64, at index: Int) throws {
        let stmt = try live()
        try check(sqlite3_bind_int64(stmt, Int32(index), value))
    }

    /// Binds an integer to the 1-based parameter `index`.
    public func bind(_ value: Int, at index: Int) throws {
        try bind(Int64(value), at: index)
    }

    /// Binds a double to the 1-based parameter `index`.
    public func bind(_ value: Double, at index: Int) throws {
        let stmt = try live()
        try check(sqlite3_bind_double(stmt, Int32(index), value))
    }

    /// Binds UTF-8 text (copied by SQLite) to the 1-based parameter `index`.
    public func bind(_ value: String, at index: Int) throws {
        let stmt = try live()
        let length = UInt64(value.utf8.count)
        let code = value.withCString {
            sqlite3_bind_text64(stmt, Int32(index), $0, length, pspf_sqlite_transient(), UInt8(SQLITE_UTF8))
        }
        try check(code)
    }

    /// Binds a blob (copied by SQLite) to the 1-based parameter `index`. An empty buffer binds an
    /// empty blob, not NULL.
    public func bind(blob value: UnsafeRawBufferPointer, at index: Int) throws {
        let stmt = try live()
        let code: Int32
        if let base = value.baseAddress, value.count > 0 {
            code = sqlite3_bind_blob64(stmt, Int32(index), base, UInt64(value.count), pspf_sqlite_transient())
        } else {
            code = sqlite3_bind_zeroblob(stmt, Int32(index), 0)
        }
        try check(code)
    }

    /// Binds a blob (copied by SQLite) to the 1-based parameter `index`.
    public func bind(_ value: [UInt8], at index: Int) throws {
        try value.withUnsafeBytes { try bind(blob: $0, at: index) }
    }

    /// Binds NULL to the 1-based parameter `index`.
    public func bindNull(at index: Int) throws {
        let stmt = try live()
        try check(sqlite3_bind_null(stmt, Int32(index)))
    }

    /// Binds any ``SQLiteValue`` to the 1-based parameter `index`.
    public func bind(_ value: SQLiteValue, at index: Int) throws {
        switch value {
        case .null: try bindNull(at: index)
        case .integer(let value): try bind(value, at: index)
        case .real(let value): try bind(value, at: index)
        case .text(let value): try bind(value, at: index)
        case .blob(let value): try bind(value, at: index)
        }
    }

    /// Binds `values` to parameters 1, 2, … in order.
    public func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() { try bind(value, at: offset + 1) }
    }

    /// Sets every parameter back to NULL.
    public func clearBindings() {
        if let handle { sqlite3_clear_bindings(handle) }
    }

    // MARK: Stepping

    /// Advances to the next row. Returns `true` when a row is available, `false` when done.
    @discardableResult
    public func step() throws -> Bool {
        let stmt = try live()
        let code = sqlite3_step(stmt)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: code, db: sqlite3_db_handle(stmt), sql: sql)
        }
    }

    /// Steps until done, ignoring any rows; then resets the statement (bindings are kept).
    public func execute() throws {
        defer { _ = try? reset() }
        while try step() {}
    }

    /// Rewinds the statement so it can run again. Bindings are kept.
    ///
    /// Throws the error of the last ``step()`` if that step failed (SQLite reports it again here);
    /// the statement is rewound either way.
    public func reset() throws {
        let stmt = try live()
        try check(sqlite3_reset(stmt))
    }

    // MARK: Columns

    /// The storage class of the column in the current row.
    public func columnType(at index: Int) -> SQLiteValue.StorageClass {
        guard let handle else { return .null }
        switch sqlite3_column_type(handle, Int32(index)) {
        case SQLITE_INTEGER: return .integer
        case SQLITE_FLOAT: return .real
        case SQLITE_TEXT: return .text
        case SQLITE_BLOB: return .blob
        default: return .null
        }
    }

    /// True when the column of the current row is NULL.
    public func isNull(at index: Int) -> Bool { columnType(at: index) == .null }

    /// The column's name in the result set.
    public func columnName(at index: Int) -> String {
        guard let handle, let name = sqlite3_column_name(handle, Int32(index)) else { return "" }
        return String(cString: name)
    }

    /// The column as a 64-bit integer (SQLite's conversion rules apply; NULL reads as 0).
    public func int64(at index: Int) -> Int64 {
        guard let handle else { return 0 }
        return sqlite3_column_int64(handle, Int32(index))
    }

    /// The column as a double (SQLite's conversion rules apply; NULL reads as 0).
    public func double(at index: Int) -> Double {
        guard let handle else { return 0 }
        return sqlite3_column_double(handle, Int32(index))
    }

    /// The column as UTF-8 text, or nil when NULL.
    public func text(at index: Int) -> String? {
        guard let handle, sqlite3_column_type(handle, Int32(index)) != SQLITE_NULL else { return nil }
        guard let bytes = sqlite3_column_text(handle, Int32(index)) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The column as bytes (copied), or nil when NULL. An empty blob reads as `[]`.
    public func blob(at index: Int) -> [UInt8]? {
        withUnsafeBlob(at: index) { $0.map { Array($0) } }
    }

    /// Calls `body` with the column's bytes without copying, or nil when NULL. The buffer is valid
    /// only during the call.
    public func withUnsafeBlob<R>(at index: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let handle, sqlite3_column_type(handle, Int32(index)) != SQLITE_NULL else { return try body(nil) }
        let base = sqlite3_column_blob(handle, Int32(index))
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return try body(UnsafeRawBufferPointer(start: count > 0 ? base : nil, count: count))
    }

    /// The column as an ``SQLiteValue``.
    public func value(at index: Int) -> SQLiteValue {
        switch columnType(at: index) {
        case .null: return .null
        case .integer: return .integer(int64(at: index))
        case .real: return .real(double(at: index))
        case .text: return .text(text(at: index) ?? "")
        case .blob: return .blob(blob(at: index) ?? [])
        }
    }

    // MARK: Private

    private func live() throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: .misuse, message: "statement used after finalize()", sql: sql)
        }
        return handle
    }

    private func check(_ code: Int32) throws {
        guard code != SQLITE_OK else { return }
        throw SQLiteError(code: code, db: handle.flatMap { sqlite3_db_handle($0) }, sql: sql)
    }
}

/// One SQLite value, for generic binding and reading.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// SQLite's storage classes.
    public enum StorageClass: Sendable, Hashable {
        case null, integer, real, text, blob
    }
}
