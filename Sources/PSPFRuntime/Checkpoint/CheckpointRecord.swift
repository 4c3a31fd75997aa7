import PSPFStorage
import Synchronization

/// What one committed checkpoint cost, as the runner saw it. The store's own record
/// (``PSPFStorage/CheckpointInfo``: number, apply and `COMMIT` time, bytes) is in ``info``.
public struct CheckpointRecord: Sendable, Hashable {
    /// The store's record: checkpoint number, timings of the transaction, bytes written, row counts.
    public var info: CheckpointInfo
    /// The request it answered (nil: the final checkpoint of a run, or the initial one).
    public var request: Int64?
    /// The run's last checkpoint (graceful stop, caught up, or finished).
    public var isFinal: Bool
    /// From the request to the commit returning: alignment + sync + commit.
    public var totalDuration: Duration
    /// From the request until every partition's barrier had arrived (the cut).
    public var alignmentDuration: Duration
    /// fsync of the output logs before the commit.
    public var syncDuration: Duration
    /// The store's `commit` call (apply + `COMMIT`), as the caller waited for it.
    public var commitDuration: Duration
    /// Time the partition tasks spent snapshotting and encoding their state, summed.
    public var snapshotDuration: Duration
    /// State rows (chunks) written and the keys the partitions hold.
    public var stateRows: Int
    public var keys: Int
}

/// The last checkpoints of a runner, newest last.
final class CheckpointHistory: Sendable {
    private let records = Mutex<[CheckpointRecord]>([])
    let limit: Int

    init(limit: Int = 100) { self.limit = limit }

    func append(_ record: CheckpointRecord) {
        records.withLock { records in
            records.append(record)
            if records.count > limit { records.removeFirst(records.count - limit) }
        }
    }

    var all: [CheckpointRecord] { records.withLock { $0 } }
}
