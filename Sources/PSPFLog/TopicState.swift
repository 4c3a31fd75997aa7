import Logging
import Synchronization

/// A partition's slot in the shared state: frames waiting for the writer, the next offset to
/// assign, and the view readers see.
struct PartitionSlot {
    var pending: PendingFrames
    /// Queued in `TopicState.dirtyPartitions`.
    var queued = false
    var nextOffset: Int64
    var view: PartitionView
}

/// Someone waiting for durability.
struct DurabilityWaiter {
    enum Resume {
        case void(CheckedContinuation<Void, any Error>)
        case append(CheckedContinuation<AppendResult, any Error>, AppendResult)
    }
    var sequence: UInt64
    /// Waits for an fsync regardless of policy (`sync()`, truncation).
    var forced: Bool
    var resume: Resume

    func succeed() {
        switch resume {
        case .void(let c): c.resume()
        case .append(let c, let result): c.resume(returning: result)
        }
    }

    func fail(_ error: LogError) {
        switch resume {
        case .void(let c): c.resume(throwing: error)
        case .append(let c, _): c.resume(throwing: error)
        }
    }
}

struct ReadWaiter {
    var id: UInt64
    var partition: Int
    var offset: Int64
    var continuation: CheckedContinuation<Void, any Error>
}

/// Work that must run on the writer thread (retention, async group commits).
protocol WriterJob: AnyObject, Sendable {
    func run(_ writer: TopicWriter)
    func fail(_ error: LogError)
    /// Guarded by the topic lock.
    var isDone: Bool { get set }
    /// Resumes an async caller; called without the lock.
    func resume()
}

final class Job<T: Sendable>: WriterJob, @unchecked Sendable {
    private let body: (TopicWriter) throws -> T
    // Set by the writer thread before `isDone` is set under the lock; read after it.
    private(set) var result: Result<T, any Error>?
    var continuation: CheckedContinuation<T, any Error>?
    var isDone = false

    init(_ body: @escaping (TopicWriter) throws -> T) {
        self.body = body
    }

    func run(_ writer: TopicWriter) { result = Result { try body(writer) } }
    func fail(_ error: LogError) { result = .failure(error) }

    func resume() {
        guard let continuation, let result else { return }
        self.continuation = nil
        continuation.resume(with: result)
    }
}

/// Everything appenders, readers and the writer thread share, guarded by `TopicCore.lock`.
final class TopicState {
    var partitions: [PartitionSlot]
    var dirtyPartitions: [Int] = []
    /// Incremented by every append (and truncation).
    var appendSequence: UInt64 = 0
    /// Everything up to this sequence is written to the files.
    var writtenSequence: UInt64 = 0
    /// Everything up to this sequence is fsync'd.
    var syncedSequence: UInt64 = 0
    /// A `sync()` caller wants everything up to this sequence fsync'd.
    var forcedSyncSequence: UInt64 = 0
    /// Appended bytes not yet accounted in `diskBytes`.
    var pendingBytes = 0
    var diskBytes: Int64 = 0
    var waiters: [DurabilityWaiter] = []
    var readWaiters: [ReadWaiter] = []
    var jobs: [any WriterJob] = []
    var retentionRequested = false
    var closing = false
    /// The writer thread has exited.
    var finished = false
    var failure: LogError?
    var writerIdle = false
    var roundRobin = 0
    var stats = TopicStats()
    /// Scratch for building `AppendResult`s: index into the ranges array per partition, or -1.
    var rangeSlots: [Int32]

    init(partitions: [PartitionSlot]) {
        self.partitions = partitions
        rangeSlots = Array(repeating: -1, count: partitions.count)
    }
}

/// The shared core of a topic: configuration, lock and state.
final class TopicCore: @unchecked Sendable {
    let name: String
    let layout: TopicLayout
    let config: TopicConfig
    let clock: LogClock
    let logger: Logger
    let readOnly: Bool
    let lock: ConditionLock<TopicState>
    let nextWaiterID = Atomic<UInt64>(1)
    /// Corrupt regions found by readers (outside the lock).
    let corruptRegionsRead = Atomic<Int64>(0)

    init(name: String, layout: TopicLayout, config: TopicConfig, clock: LogClock, logger: Logger, readOnly: Bool, state: TopicState) {
        self.name = name
        self.layout = layout
        self.config = config
        self.clock = clock
        self.logger = logger
        self.readOnly = readOnly
        self.lock = ConditionLock(state)
    }

    var partitionCount: Int { config.partitions }

    /// The sequence up to which appends are durable under the topic's policy.
    func durableSequence(_ s: TopicState) -> UInt64 {
        config.fsync == .none ? s.writtenSequence : s.syncedSequence
    }

    func view(_ partition: Int) -> PartitionView {
        lock.withLock { $0.partitions[partition].view }
    }

    /// Throws if appends are not possible now (lock held).
    func checkWritable(_ s: TopicState) throws {
        if readOnly { throw LogError(.readOnly, "topic '\(name)' is open read-only") }
        if let failure = s.failure {
            throw LogError(.failed, "topic '\(name)' stopped after an IO error; reopen it: \(failure)")
        }
        if s.closing || s.finished { throw LogError(.closed, "topic '\(name)' is closed") }
    }
}
