import Logging

/// One ``SQLiteConnection`` confined to a dedicated thread; every access is a job on that thread.
///
/// SQLite calls block on disk (and on fsync at commit), so they never run on Swift's cooperative
/// thread pool: the async entry points suspend the caller and resume it from the database thread
/// when the job is done. Jobs run one at a time in submission order, so the connection needs no
/// locking. Non-async callers (e.g. the libmosquitto thread) use the blocking ``sync(_:)`` family.
///
/// ```swift
/// let database = try SerializedDatabase(path: "/var/lib/pspf/state.db")
/// try await database.write { connection in
///     try connection.execute("INSERT INTO t(x) VALUES (?)", [.integer(1)])
/// }
/// let count = try await database.read { try $0.scalar("SELECT count(*) FROM t") }
/// try database.close()
/// ```
///
/// A job that has started runs to completion even if the awaiting task is cancelled.
public final class SerializedDatabase: Sendable {
    /// The database file.
    public let path: String
    private let thread: DatabaseThread
    /// Touched only on `thread` (every read and write of it happens inside a job).
    private nonisolated(unsafe) var connection: SQLiteConnection?

    /// Opens the connection on a new dedicated thread named `threadName` (at most 15 bytes are kept).
    public init(
        path: String,
        configuration: SQLiteConnection.Configuration = .init(),
        threadName: String = "pspf-sqlite"
    ) throws {
        self.path = path
        self.thread = DatabaseThread(name: threadName)
        let opened = BlockingResult<Void>()
        thread.submit { [self] in
            opened.finish(Result { connection = try SQLiteConnection(path: path, configuration: configuration) })
        }
        if case .failure(let error) = opened.wait() {
            thread.shutdown()
            throw error
        }
    }

    deinit {
        // No job can be pending: each one holds a strong reference to self. Closing here is safe
        // from any thread because the database thread is idle.
        connection = nil
        thread.shutdown()
    }

    /// True when called on the database thread (e.g. inside a ``read(_:)`` body).
    public var isOnDatabaseThread: Bool { thread.isCurrent }

    /// Closes the connection on its thread and ends the thread. Later calls throw `SQLITE_MISUSE`.
    /// Idempotent.
    public func close() throws {
        precondition(!thread.isCurrent, "SerializedDatabase.close() called from one of its own jobs would deadlock")
        let closed = BlockingResult<Void>()
        let accepted = thread.submit { [self] in
            closed.finish(
                Result {
                    try connection?.close()
                    connection = nil
                })
        }
        guard accepted else { return }  // already closed
        try closed.wait().get()
        thread.shutdown()
    }

    // MARK: Async

    /// Runs `body` on the database thread inside a deferred (read) transaction.
    public func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await perform { connection in try connection.withTransaction(.deferred) { try body(connection) } }
    }

    /// Runs `body` on the database thread inside an immediate transaction: committed if `body`
    /// returns, rolled back if it throws.
    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await perform { connection in try connection.withTransaction(.immediate) { try body(connection) } }
    }

    /// Runs `body` on the database thread with no transaction around it (for statements that cannot
    /// run in one, such as `VACUUM` or `PRAGMA wal_checkpoint`).
    public func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = thread.submit { [self] in
                continuation.resume(with: Result { try body(try liveConnection()) })
            }
            if !accepted { continuation.resume(throwing: closedError) }
        }
    }

    /// Queues `body` on the database thread without waiting for it (fire and forget): for
    /// housekeeping such as a WAL checkpoint right after a commit, off the committer's latency.
    /// Jobs submitted later run after it. Returns false, without running `body`, once closed.
    @discardableResult
    public func schedule(_ body: @escaping @Sendable (SQLiteConnection) -> Void) -> Bool {
        thread.submit { [self] in
            if let connection { body(connection) }
        }
    }

    // MARK: Blocking

    /// Runs `body` on the database thread and blocks the calling thread until it is done.
    ///
    /// For threads that are not part of Swift concurrency. Never call it from an async context: it
    /// would block a cooperative thread. Called on the database thread itself (from inside another
    /// job), it runs `body` directly.
    public func sync<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        if thread.isCurrent { return try body(liveConnection()) }
        return try withoutActuallyEscaping(body) { body in
            // The caller is blocked until the job finishes, so `body` and its result are never used
            // from two threads at once (as with `DispatchQueue.sync`). The slot drops `body` before
            // the caller is woken: `withoutActuallyEscaping` traps if anything still holds it then.
            let slot = SyncJobSlot(body)
            let outcome = BlockingResult<UncheckedSendable<T>>()
            let accepted = thread.submit { [self] in
                let result = slot.run { try liveConnection() }
                outcome.finish(result)
            }
            guard accepted else {
                slot.discard()
                throw closedError
            }
            return try outcome.wait().get().value
        }
    }

    /// ``sync(_:)`` inside a deferred (read) transaction.
    public func readSync<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try sync { connection in try connection.withTransaction(.deferred) { try body(connection) } }
    }

    /// ``sync(_:)`` inside an immediate transaction.
    public func writeSync<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try sync { connection in try connection.withTransaction(.immediate) { try body(connection) } }
    }

    // MARK: Private

    private func liveConnection() throws -> SQLiteConnection {
        guard let connection else { throw closedError }
        return connection
    }

    private var closedError: SQLiteError {
        SQLiteError(code: .misuse, message: "database \(path) is closed")
    }
}

/// Holds a `sync` body for its one run on the database thread.
///
/// `@unchecked Sendable`: `body` is set on the caller's thread before the job is submitted and taken
/// once on the database thread; the submit/run hand-off orders the two.
private final class SyncJobSlot<T>: @unchecked Sendable {
    private var body: ((SQLiteConnection) throws -> T)?

    init(_ body: @escaping (SQLiteConnection) throws -> T) { self.body = body }

    /// Runs the body once and forgets it before returning.
    func run(_ connection: () throws -> SQLiteConnection) -> Result<UncheckedSendable<T>, any Error> {
        guard let body else { return .failure(SQLiteError(code: .misuse, message: "sync job ran twice")) }
        self.body = nil
        return Result { UncheckedSendable(try body(try connection())) }
    }

    func discard() { body = nil }
}

/// Carries a value across a thread hand-off that the compiler cannot prove safe; see the call sites.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
