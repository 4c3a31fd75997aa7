#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Durable checkpoints: state deltas, input offsets, output log ends, sink offsets and ingest dedup
/// entries, committed together.
///
/// ``SQLiteCheckpointStore`` is the real one; ``InMemoryCheckpointStore`` has the same semantics for
/// tests. Both pass one conformance suite.
///
/// Each operation exists twice: the synchronous one for plain threads, the `async` one for tasks
/// (Swift picks it inside `async` code). The SQLite store runs both on its database thread; the
/// synchronous one blocks its caller meanwhile.
///
/// ```swift
/// let info = try await store.commit(CheckpointDelta(
///     stateUpserts: [StateEntry(pipeline: "temps", partition: 0, operatorID: "avg", key: key, value: value)],
///     inputOffsets: [InputOffset(pipeline: "temps", topic: "sensors", partition: 0, nextOffset: 1042)]
/// ))
/// let recovered = try await store.loadLatest()
/// ```
public protocol CheckpointStore: Sendable {
    /// Applies `delta` and records a checkpoint, atomically: afterwards either all of it is durable
    /// or none of it is and the previous checkpoint is intact. Throws ``StorageError/Code/invalidDelta``
    /// (nothing written) for a delta that ``CheckpointDelta/validate()`` rejects.
    @discardableResult
    func commit(_ delta: CheckpointDelta) throws -> CheckpointInfo
    @discardableResult
    func commit(_ delta: CheckpointDelta) async throws -> CheckpointInfo

    /// Everything the latest checkpoint holds, read as one consistent snapshot.
    func loadLatest() throws -> RecoveredState
    func loadLatest() async throws -> RecoveredState

    /// The latest checkpoint's record, or nil when none was committed.
    func latestCheckpoint() throws -> CheckpointInfo?

    /// The records of the last `limit` checkpoints still kept (see
    /// ``CheckpointStoreOptions/historyLimit``), oldest first.
    func recentCheckpoints(limit: Int) throws -> [CheckpointInfo]

    /// Streams one pipeline partition's state entries in storage order, without collecting them.
    /// `body` runs while the store is held (on the SQLite store: on its database thread, with the
    /// caller blocked), so it must not call back into the store.
    func forEachStateEntry(pipeline: String, partition: Int, _ body: (StateEntry) throws -> Void) throws
}

/// Options shared by both stores.
public struct CheckpointStoreOptions: Sendable {
    /// How many checkpoint records to keep (the state itself is always the latest). At least 1.
    public var historyLimit: Int = 100
    /// Wall clock in ms since the Unix epoch, for ``CheckpointInfo/startedAtMs`` (inject for tests).
    public var wallClockMs: @Sendable () -> Int64 = WallClock.nowMs
    /// Called inside the commit's transaction after the delta was applied, right before `COMMIT`.
    /// A test seam: the runtime's fault points use it to crash the process inside a commit.
    public var beforeCommit: (@Sendable () -> Void)?

    public init() {}
}

/// The system wall clock.
public enum WallClock {
    /// Milliseconds since the Unix epoch (`CLOCK_REALTIME`).
    @Sendable public static func nowMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
