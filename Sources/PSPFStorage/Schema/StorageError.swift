/// A storage failure that needs an operator's attention: what went wrong, where, and how to fix it.
///
/// Raw SQLite failures during normal operation are thrown as ``SQLiteError``; opening the state
/// database translates the ones an operator must act on (corruption, a schema from a newer pspf, a
/// file that is not a pspf state database) into this type.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: match with `==` or in `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The file is not an SQLite database, or SQLite found it damaged (`SQLITE_NOTADB`,
        /// `SQLITE_CORRUPT`, or `PRAGMA quick_check` reported problems).
        public static let corruptDatabase = Code("corruptDatabase")
        /// The schema version is newer than this build understands.
        public static let schemaTooNew = Code("schemaTooNew")
        /// A valid SQLite database that was not created by pspf.
        public static let foreignDatabase = Code("foreignDatabase")
        /// A migration step failed; the database is unchanged.
        public static let migrationFailed = Code("migrationFailed")
        /// A checkpoint delta was rejected before anything was written.
        public static let invalidDelta = Code("invalidDelta")
        /// A state row cannot be read (an unknown chunk format, a damaged value).
        public static let corruptState = Code("corruptState")
    }

    public var code: Code
    /// A complete sentence for the operator, including the fix.
    public var message: String
    /// The database file, when the failure is about one.
    public var path: String?
    /// The underlying error (usually an ``SQLiteError``).
    public var cause: (any Error)?
    /// Where in pspf the error was raised.
    public var file: String
    public var line: Int

    public init(
        code: Code, message: String, path: String? = nil, cause: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = message
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}

extension StorageError {
    /// The command that rebuilds state from the retained input log (implemented by the CLI).
    public static let rebuildCommand = "pspf state rebuild"

    static func corrupt(path: String, detail: String, cause: (any Error)?, file: String = #fileID, line: Int = #line)
        -> StorageError
    {
        StorageError(
            code: .corruptDatabase,
            message: "state database \(path) is corrupt (\(detail)); nothing was changed. "
                + "Move it aside (keep it for inspection) and run `\(rebuildCommand)` to re-derive state "
                + "by replaying the retained input log, or restore a backup.",
            path: path, cause: cause, file: file, line: line
        )
    }
}
