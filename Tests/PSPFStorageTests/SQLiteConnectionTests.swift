import PSPFStorage
import Testing

@Suite("SQLiteConnection and SQLiteStatement")
struct SQLiteConnectionTests {
    @Test func openAppliesPragmasAndCloses() throws {
        try withTemporaryDirectory { dir in
            let connection = try SQLiteConnection(path: "\(dir)/db.sqlite")
            #expect(connection.isOpen)
            #expect(try connection.scalar("PRAGMA journal_mode") == .text("wal"))
            #expect(try connection.scalar("PRAGMA synchronous") == .integer(2))  // FULL
            #expect(try connection.scalar("PRAGMA foreign_keys") == .integer(1))
            #expect(try connection.scalar("PRAGMA busy_timeout") == .integer(5000))
            try connection.close()
            #expect(!connection.isOpen)
            try connection.close()  // idempotent
            #expect(throws: SQLiteError.self) { try connection.execute("SELECT 1") }
        }
    }

    @Test func configurationIsApplied() throws {
        var configuration = SQLiteConnection.Configuration()
        configuration.synchronous = .normal
        configuration.foreignKeys = false
        configuration.busyTimeout = .milliseconds(250)
        configuration.cacheSizeKiB = 4096
        let connection = try SQLiteConnection(path: ":memory:", configuration: configuration)
        #expect(try connection.scalar("PRAGMA journal_mode") == .text("memory"))
        #expect(try connection.scalar("PRAGMA synchronous") == .integer(1))
        #expect(try connection.scalar("PRAGMA foreign_keys") == .integer(0))
        #expect(try connection.scalar("PRAGMA busy_timeout") == .integer(250))
        #expect(try connection.scalar("PRAGMA cache_size") == .integer(-4096))
    }

    @Test func openFailureNamesThePath() throws {
        let error = #expect(throws: SQLiteError.self) {
            try SQLiteConnection(path: "/nonexistent-pspf-dir/x/db.sqlite")
        }
        #expect(error?.code == .cannotOpen)
        #expect(error?.message.contains("/nonexistent-pspf-dir/x/db.sqlite") == true)
    }

    @Test func bindAndReadEveryType() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)")
        let insert = try connection.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)")
        let select = try connection.prepare("SELECT i, r, s, b, n FROM t ORDER BY rowid")

        let cases: [(Int64, Double, String, [UInt8])] = [
            (0, 0, "", []),
            (Int64.min, -.infinity, "héllo wörld ✓ 🚀", [0, 1, 2, 255]),
            (Int64.max, .greatestFiniteMagnitude, "a\u{0}b", Array(repeating: 0xAB, count: 100_000)),
            (-1, 3.141_592_653_589_793, "x", [0]),
        ]
        for (i, r, s, b) in cases {
            try insert.bind(i, at: 1)
            try insert.bind(r, at: 2)
            try insert.bind(s, at: 3)
            try insert.bind(b, at: 4)
            try insert.bindNull(at: 5)
            try insert.execute()
        }
        for (i, r, s, b) in cases {
            #expect(try select.step())
            #expect(select.columnType(at: 0) == .integer)
            #expect(select.int64(at: 0) == i)
            #expect(select.columnType(at: 1) == .real)
            #expect(select.double(at: 1) == r)
            #expect(select.columnType(at: 2) == .text)
            #expect(select.text(at: 2) == s)  // empty text stays text, embedded NUL survives
            #expect(select.columnType(at: 3) == .blob)
            #expect(select.blob(at: 3) == b)  // empty blob stays a blob, not NULL
            #expect(select.isNull(at: 4))
            #expect(select.text(at: 4) == nil)
            #expect(select.blob(at: 4) == nil)
        }
        #expect(try select.step() == false)
        #expect(select.columnCount == 5)
        #expect(select.columnName(at: 2) == "s")
        #expect(select.isReadOnly)
        #expect(!insert.isReadOnly)
        #expect(insert.parameterCount == 5)
    }

    @Test func genericValuesRoundTrip() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let values: [SQLiteValue] = [.null, .integer(42), .real(-0.5), .text("t"), .blob([1, 2, 3])]
        let statement = try connection.prepare("SELECT ?, ?, ?, ?, ?")
        try statement.bind(values)
        #expect(try statement.step())
        #expect((0..<5).map { statement.value(at: $0) } == values)
    }

    @Test func resetRerunsAndKeepsBindings() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let statement = try connection.prepare("SELECT ? * 2")
        try statement.bind(21, at: 1)
        #expect(try statement.step())
        #expect(statement.int64(at: 0) == 42)
        try statement.reset()
        #expect(try statement.step())
        #expect(statement.int64(at: 0) == 42)
        try statement.reset()
        statement.clearBindings()
        #expect(try statement.step())
        #expect(statement.isNull(at: 0))
    }

    @Test func finalizedStatementThrowsMisuse() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let statement = try connection.prepare("SELECT 1")
        statement.finalize()
        statement.finalize()  // idempotent
        #expect(statement.isFinalized)
        expectSQLiteError(.misuse) { try statement.step() }
    }

    @Test func statementCacheReusesStatements() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let first = try connection.cachedStatement("SELECT ?")
        try first.bind(7, at: 1)
        #expect(try first.step())
        let second = try connection.cachedStatement("SELECT ?")
        #expect(first === second)
        #expect(connection.cachedStatementCount == 1)
        // Handed out again reset, with bindings cleared.
        #expect(try second.step())
        #expect(second.isNull(at: 0))
        let other = try connection.cachedStatement("SELECT 2")
        #expect(other !== first)
        #expect(connection.cachedStatementCount == 2)
        connection.clearStatementCache()
        #expect(connection.cachedStatementCount == 0)
        #expect(first.isFinalized)
    }

    @Test func prepareRejectsSeveralStatements() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        expectSQLiteError(.misuse) { _ = try connection.prepare("SELECT 1; SELECT 2") }
        _ = try connection.prepare("SELECT 1;  ")
        try connection.execute("CREATE TABLE a (x); CREATE TABLE b (y); -- done")
        #expect(try connection.scalar("SELECT count(*) FROM sqlite_schema") == .integer(2))
    }

    @Test func errorCarriesCodeMessageAndSQL() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0)) STRICT")
        try connection.execute("INSERT INTO t VALUES (1, 1)")

        let sql = "INSERT INTO t VALUES (?, ?)"
        let unique = #expect(throws: SQLiteError.self) { try connection.execute(sql, [.integer(1), .integer(2)]) }
        #expect(unique?.code == .constraintPrimaryKey)
        #expect(unique?.code.primary == .constraint)
        #expect(unique?.message == "UNIQUE constraint failed: t.id")
        #expect(unique?.sql == sql)
        #expect(unique?.description.contains(sql) == true)

        let check = #expect(throws: SQLiteError.self) { try connection.execute(sql, [.integer(2), .integer(-1)]) }
        #expect(check?.code == .constraintCheck)
        #expect(check?.message.contains("CHECK constraint failed") == true)

        let syntax = #expect(throws: SQLiteError.self) { try connection.execute("SELEC 1") }
        #expect(syntax?.code == .error)
        #expect(syntax?.message.contains("syntax error") == true)
        #expect(syntax?.sql == "SELEC 1")

        let missing = #expect(throws: SQLiteError.self) { try connection.prepare("SELECT * FROM nope") }
        #expect(missing?.message == "no such table: nope")
        #expect(missing?.sql == "SELECT * FROM nope")
    }

    @Test func resultCodesMatchInCatchPatterns() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        try connection.execute("INSERT INTO t VALUES (1)")

        func caught(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "none"
            } catch SQLiteError.ResultCode.constraintUnique {
                return "unique"
            } catch SQLiteError.ResultCode.busy {
                return "busy"
            } catch SQLiteError.ResultCode.constraint {
                return "constraint"
            } catch {
                return "other"
            }
        }
        // PRIMARY KEY violation: not UNIQUE exactly, but in the CONSTRAINT family.
        #expect(caught { try connection.execute("INSERT INTO t VALUES (1)") } == "constraint")
        #expect(caught { try connection.execute("SELEC") } == "other")

        switch SQLiteError.ResultCode.constraintCheck {
        case .constraintUnique: Issue.record("extended codes match only themselves")
        case .constraint: break
        default: Issue.record("primary codes match their family")
        }
        #expect(SQLiteError.ResultCode.constraintCheck.description == "SQLITE_CONSTRAINT_CHECK")
        #expect(SQLiteError.ResultCode.notADatabase.description == "SQLITE_NOTADB")
    }

    @Test func transactionCommitsOrRollsBack() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (x INTEGER)")
        struct Boom: Error {}

        try connection.withTransaction { try connection.execute("INSERT INTO t VALUES (1)") }
        #expect(throws: Boom.self) {
            try connection.withTransaction {
                try connection.execute("INSERT INTO t VALUES (2)")
                #expect(connection.isInTransaction)
                throw Boom()
            }
        }
        #expect(!connection.isInTransaction)
        #expect(try connection.scalar("SELECT group_concat(x) FROM t") == .text("1"))

        // An SQL error inside the body rolls back the earlier statements too.
        #expect(throws: SQLiteError.self) {
            try connection.withTransaction(.deferred) {
                try connection.execute("INSERT INTO t VALUES (3)")
                try connection.execute("INSERT INTO nope VALUES (4)")
            }
        }
        #expect(try connection.scalar("SELECT count(*) FROM t") == .integer(1))

        // Transactions do not nest.
        #expect(throws: SQLiteError.self) {
            try connection.withTransaction { try connection.withTransaction {} }
        }
        #expect(!connection.isInTransaction)
        let value = try connection.withTransaction { 42 }
        #expect(value == 42)
    }

    @Test func closeRefusesWhileStatementsAreAlive() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        var statement: SQLiteStatement? = try connection.prepare("SELECT 1")
        expectSQLiteError(.busy) { try connection.close() }
        #expect(connection.isOpen)
        statement?.finalize()
        statement = nil
        try connection.close()
        #expect(!connection.isOpen)
    }

    @Test func writesAreVisibleAfterReopen() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/db.sqlite"
            do {
                let connection = try SQLiteConnection(path: path)
                try connection.execute("CREATE TABLE t (x TEXT)")
                try connection.execute("INSERT INTO t VALUES (?)", [.text("kept")])
                #expect(connection.changes == 1)
                #expect(connection.lastInsertRowID == 1)
                try connection.close()
            }
            var readOnly = SQLiteConnection.Configuration()
            readOnly.openFlags = [.readOnly]
            let connection = try SQLiteConnection(path: path, configuration: readOnly)
            #expect(try connection.scalar("SELECT x FROM t") == .text("kept"))
            expectSQLiteError(.readOnly) { try connection.execute("INSERT INTO t VALUES ('no')") }
        }
    }

    @Test func manualWALCheckpointing() throws {
        try withTemporaryDirectory { dir in
            var configuration = SQLiteConnection.Configuration()
            configuration.walAutoCheckpointPages = 0
            let connection = try SQLiteConnection(path: "\(dir)/db.sqlite", configuration: configuration)
            try connection.execute("CREATE TABLE t (x BLOB)")
            for _ in 0..<20 { try connection.execute("INSERT INTO t VALUES (zeroblob(8000))") }
            #expect(connection.walFrameCount > 40)
            let (log, done) = try connection.checkpointWAL()
            #expect(log == done)
            #expect(connection.walFrameCount == 0)
            try connection.close()
        }
    }

    @Test func libraryIsTheSystemSQLite() {
        #expect(SQLiteConnection.libraryVersion.hasPrefix("3."))
    }
}
