extension SQLiteConnection {
    /// How `BEGIN` takes locks.
    public enum TransactionKind: String, Sendable, Hashable {
        /// Takes the write lock at the first write (readers use this).
        case deferred = "DEFERRED"
        /// Takes the write lock at `BEGIN`, so a busy database fails early (or waits for the busy
        /// timeout) instead of at the first write, after work was already done.
        case immediate = "IMMEDIATE"
        /// Like immediate; in WAL mode the same as immediate.
        case exclusive = "EXCLUSIVE"
    }

    /// Runs `body` in a transaction: `BEGIN <kind>`, then `COMMIT` if `body` returns, or `ROLLBACK`
    /// if it throws (the error is rethrown). A failing `COMMIT` is rolled back and thrown too.
    ///
    /// Transactions do not nest: calling this inside another transaction throws.
    ///
    /// ```swift
    /// try connection.withTransaction {
    ///     try connection.execute("UPDATE account SET balance = balance - 10 WHERE id = 1")
    ///     try connection.execute("UPDATE account SET balance = balance + 10 WHERE id = 2")
    /// }
    /// ```
    public func withTransaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        try cachedStatement(beginSQL(kind)).execute()
        let result: T
        do {
            result = try body()
            try cachedStatement("COMMIT").execute()
        } catch {
            rollbackQuietly()
            throw error
        }
        return result
    }

    private func beginSQL(_ kind: TransactionKind) -> String {
        switch kind {
        case .deferred: return "BEGIN DEFERRED"
        case .immediate: return "BEGIN IMMEDIATE"
        case .exclusive: return "BEGIN EXCLUSIVE"
        }
    }

    /// Rolls back if a transaction is open. SQLite may already have rolled back on its own (some
    /// errors such as SQLITE_FULL do), in which case there is nothing left to do.
    private func rollbackQuietly() {
        guard isInTransaction else { return }
        try? cachedStatement("ROLLBACK").execute()
    }
}
