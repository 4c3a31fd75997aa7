/// Decides when the writer thread fsyncs, as a value-type state machine on an injected
/// millisecond clock (tested without threads or sleeps).
///
/// - `.every`: due whenever something was written since the last sync.
/// - `.interval(ms)`: due `ms` after the first write since the last sync, so written data is
///   synced within `ms` (plus the fsync itself) and syncs are at least `ms` apart. A clock that
///   went backwards makes it due at once.
/// - `.none`: never due (only forced syncs, segment rolls and close).
struct GroupCommitScheduler: Sendable {
    let policy: FsyncPolicy
    /// When the oldest unsynced write happened, if any.
    private(set) var dirtySince: Int64?

    init(policy: FsyncPolicy) {
        self.policy = policy
    }

    mutating func didWrite(now: Int64) {
        if dirtySince == nil { dirtySince = now }
    }

    mutating func didSync() {
        dirtySince = nil
    }

    func isDue(now: Int64) -> Bool {
        guard let dirtySince else { return false }
        switch policy {
        case .every: return true
        case .none: return false
        case .interval(let ms): return now >= dirtySince + Int64(ms) || now < dirtySince
        }
    }

    /// When the next sync falls due, for the writer's timed wait (interval policy only).
    var deadline: Int64? {
        guard let dirtySince, case .interval(let ms) = policy else { return nil }
        return dirtySince + Int64(ms)
    }
}
