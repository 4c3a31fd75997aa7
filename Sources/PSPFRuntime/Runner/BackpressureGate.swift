import Synchronization

/// Lets downstream components (sinks over their backlog quota with policy `block`) pause the
/// pipelines: the runner waits at the gate before reading each input batch, so processing stops,
/// the input log fills to its quota, and ingest stops reading from the broker.
///
/// Checking an open gate costs one lock per batch, never per record.
public final class BackpressureGate: Sendable {
    private struct State {
        var closers: Set<String> = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether someone holds the gate closed.
    public var isClosed: Bool { state.withLock { !$0.closers.isEmpty } }

    /// Who holds the gate closed (sink names), sorted.
    public var closedBy: [String] { state.withLock { $0.closers.sorted() } }

    /// Closes (`true`) or opens (`false`) the gate on behalf of `holder`; the gate is open when
    /// no holder keeps it closed.
    public func set(closed: Bool, by holder: String) {
        let resumed: [CheckedContinuation<Void, Never>] = state.withLock { state in
            if closed {
                state.closers.insert(holder)
                return []
            }
            state.closers.remove(holder)
            guard state.closers.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        resumed.forEach { $0.resume() }
    }

    /// Returns when the gate is open (at once if it is), or when the task is cancelled.
    public func waitUntilOpen() async {
        while isClosed, !Task.isCancelled {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.closers.isEmpty || Task.isCancelled { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                // Wake everyone; each waiter re-checks the gate and its own cancellation.
                let waiters = state.withLock { state in
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
                waiters.forEach { $0.resume() }
            }
        }
    }
}
