import PSPFStorage
import Testing

@Suite("SchemaMigrator")
struct SchemaMigratorTests {
    private static let applicationID: Int32 = 0x7465_7374

    private static func migrator(upTo version: Int, failingAt failing: Int? = nil) -> SchemaMigrator {
        let all: [Migration] = [
            .sql(version: 1, name: "create a", "CREATE TABLE a (x INTEGER) STRICT"),
            .sql(version: 2, name: "create b", "CREATE TABLE b (y TEXT) STRICT; INSERT INTO b VALUES ('seed')"),
            Migration(version: 3, name: "add a.z") { connection in
                if failing == 3 { try connection.execute("ALTER TABLE nope ADD COLUMN z") }
                try connection.execute("ALTER TABLE a ADD COLUMN z INTEGER NOT NULL DEFAULT 7")
            },
        ]
        return SchemaMigrator(
            label: "test database", applicationID: applicationID, migrations: Array(all.prefix(version)))
    }

    @Test func migratesForwardFromVersionZero() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let migrator = Self.migrator(upTo: 3)
        #expect(try migrator.currentVersion(of: connection) == 0)
        let outcome = try migrator.migrate(connection)
        #expect(outcome == .init(fromVersion: 0, toVersion: 3))
        #expect(try migrator.currentVersion(of: connection) == 3)
        #expect(try connection.scalar("PRAGMA application_id") == .integer(Int64(Self.applicationID)))
        try connection.execute("INSERT INTO a (x) VALUES (1)")
        #expect(try connection.scalar("SELECT z FROM a") == .integer(7))
        #expect(try connection.scalar("SELECT y FROM b") == .text("seed"))

        // Idempotent.
        let again = try migrator.migrate(connection)
        #expect(!again.didMigrate)
        #expect(try connection.scalar("SELECT count(*) FROM b") == .integer(1))
    }

    @Test func migratesStepByStepAcrossReleases() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/db.sqlite"
            do {
                let connection = try SQLiteConnection(path: path)
                #expect(try Self.migrator(upTo: 1).migrate(connection) == .init(fromVersion: 0, toVersion: 1))
                try connection.execute("INSERT INTO a (x) VALUES (5)")
                try connection.close()
            }
            let connection = try SQLiteConnection(path: path)
            #expect(try Self.migrator(upTo: 3).migrate(connection) == .init(fromVersion: 1, toVersion: 3))
            #expect(try connection.scalar("SELECT x || ':' || z FROM a") == .text("5:7"))
        }
    }

    @Test func refusesANewerVersion() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/db.sqlite"
            do {
                let connection = try SQLiteConnection(path: path)
                try Self.migrator(upTo: 3).migrate(connection)
                try connection.execute("PRAGMA user_version = 7")
                try connection.close()
            }
            let connection = try SQLiteConnection(path: path)
            let error = expectStorageError(.schemaTooNew) { try Self.migrator(upTo: 3).migrate(connection) }
            #expect(
                error?.message
                    == "test database schema version 7 is newer than this pspf supports (3); "
                    + "upgrade pspf or restore a backup (file: \(path))"
            )
            #expect(error?.path == path)
            #expect(try connection.scalar("PRAGMA user_version") == .integer(7))  // untouched
        }
    }

    @Test func aFailingMigrationLeavesTheOldVersion() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try Self.migrator(upTo: 1).migrate(connection)
        let error = expectStorageError(.migrationFailed) {
            try Self.migrator(upTo: 3, failingAt: 3).migrate(connection)
        }
        #expect(error?.message.contains("version 3 (add a.z)") == true)
        #expect(error?.cause is SQLiteError)
        // All-or-nothing: version 2's table was rolled back with the failed step.
        #expect(try connection.scalar("PRAGMA user_version") == .integer(1))
        #expect(try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'b'") == .integer(0))
        #expect(!connection.isInTransaction)
    }

    @Test func refusesDatabasesThatAreNotOurs() throws {
        let other = try SQLiteConnection(path: ":memory:")
        try other.execute("PRAGMA application_id = 42")
        let error = expectStorageError(.foreignDatabase) { try Self.migrator(upTo: 1).migrate(other) }
        #expect(error?.message.contains("application_id is 42") == true)

        let unmarked = try SQLiteConnection(path: ":memory:")
        try unmarked.execute("CREATE TABLE somebody_elses (x)")
        expectStorageError(.foreignDatabase) { try Self.migrator(upTo: 1).migrate(unmarked) }
        #expect(try unmarked.scalar("PRAGMA user_version") == .integer(0))
    }

    @Test func stateSchemaCreatesTheCheckpointTables() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try StateSchema.migrator.migrate(connection)
        #expect(try connection.scalar("PRAGMA user_version") == .integer(Int64(StateSchema.latestVersion)))
        let statement = try connection.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        var tables: [String] = []
        while try statement.step() { tables.append(statement.text(at: 0) ?? "") }
        #expect(
            tables == ["checkpoint", "dedup", "input_offset", "output_log_end", "sink_offset", "state", "state_slot"])
    }
}
