/// One forward schema step: version `n` turns a version `n - 1` database into version `n`.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let body: @Sendable (SQLiteConnection) throws -> Void

    public init(version: Int, name: String, _ body: @escaping @Sendable (SQLiteConnection) throws -> Void) {
        self.version = version
        self.name = name
        self.body = body
    }

    /// A migration that runs a fixed SQL script.
    public static func sql(version: Int, name: String, _ script: String) -> Migration {
        Migration(version: version, name: name) { try $0.execute(script) }
    }
}

/// Brings a database to the newest schema by applying ordered forward migrations.
///
/// The schema version lives in `PRAGMA user_version`, and `PRAGMA application_id` marks the file as
/// ours. Both are part of the database header and change transactionally, so all pending migrations
/// and the version bump commit together (one `BEGIN IMMEDIATE` transaction) or not at all.
///
/// Refuses, without writing anything:
/// - a version newer than ``latestVersion`` (written by a newer pspf): ``StorageError/Code/schemaTooNew``;
/// - a database with another application id, or with tables but no version (not created by us):
///   ``StorageError/Code/foreignDatabase``.
///
/// ```swift
/// let migrator = SchemaMigrator(label: "state database", applicationID: 0x5053_5046, migrations: [
///     .sql(version: 1, name: "create t", "CREATE TABLE t(x INTEGER) STRICT"),
/// ])
/// try migrator.migrate(connection)
/// ```
public struct SchemaMigrator: Sendable {
    /// What the database is called in error messages, e.g. "state database".
    public let label: String
    /// The `application_id` this schema family stamps on its files.
    public let applicationID: Int32
    /// Ordered migrations with versions 1, 2, 3, … without gaps.
    public let migrations: [Migration]

    /// The outcome of ``migrate(_:)``.
    public struct Outcome: Sendable, Hashable {
        public var fromVersion: Int
        public var toVersion: Int
        public var didMigrate: Bool { fromVersion != toVersion }

        public init(fromVersion: Int, toVersion: Int) {
            self.fromVersion = fromVersion
            self.toVersion = toVersion
        }
    }

    public init(label: String, applicationID: Int32, migrations: [Migration]) {
        for (index, migration) in migrations.enumerated() {
            precondition(migration.version == index + 1, "migration versions must be 1, 2, 3, … in order")
        }
        self.label = label
        self.applicationID = applicationID
        self.migrations = migrations
    }

    /// The version this build creates and understands.
    public var latestVersion: Int { migrations.count }

    /// `PRAGMA user_version` of the connection's main database.
    public func currentVersion(of connection: SQLiteConnection) throws -> Int {
        Int(try connection.scalarInt("PRAGMA user_version") ?? 0)
    }

    /// Applies every pending migration in one transaction and returns the versions before and after.
    @discardableResult
    public func migrate(_ connection: SQLiteConnection) throws -> Outcome {
        try connection.withTransaction(.immediate) {
            let version = try currentVersion(of: connection)
            let application = Int32(truncatingIfNeeded: try connection.scalarInt("PRAGMA application_id") ?? 0)
            let path = connection.path

            if version > latestVersion {
                throw StorageError(
                    code: .schemaTooNew,
                    message: "\(label) schema version \(version) is newer than this pspf supports "
                        + "(\(latestVersion)); upgrade pspf or restore a backup (file: \(path))",
                    path: path
                )
            }
            if application != 0 && application != applicationID {
                throw foreign(path, "its application_id is \(application), not pspf's \(applicationID)")
            }
            if application == 0 {
                let objects = try connection.scalarInt("SELECT count(*) FROM sqlite_schema") ?? 0
                if version != 0 || objects != 0 {
                    throw foreign(path, "it has tables (or a schema version) but no pspf application_id")
                }
            }
            guard version < latestVersion else { return Outcome(fromVersion: version, toVersion: version) }

            for migration in migrations[version...] {
                do {
                    try migration.body(connection)
                } catch let error as SQLiteError where error.code ~= .corrupt || error.code ~= .notADatabase {
                    throw error
                } catch {
                    throw StorageError(
                        code: .migrationFailed,
                        message: "\(label) migration to version \(migration.version) (\(migration.name)) failed; "
                            + "the database was left at version \(version) (file: \(path))",
                        path: path, cause: error
                    )
                }
            }
            try connection.execute("PRAGMA application_id = \(applicationID)")
            try connection.execute("PRAGMA user_version = \(latestVersion)")
            connection.clearStatementCache()
            return Outcome(fromVersion: version, toVersion: latestVersion)
        }
    }

    private func foreign(_ path: String, _ why: String) -> StorageError {
        StorageError(
            code: .foreignDatabase,
            message: "\(path) is not a pspf \(label) (\(why)); point pspf at its own state file",
            path: path
        )
    }
}
