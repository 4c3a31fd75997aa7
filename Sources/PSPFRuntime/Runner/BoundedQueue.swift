import DequeModule
import Synchronization

/// A bounded multi-producer, single-consumer async queue: `send` suspends while the queue is
/// full, so a slow consumer slows its producers instead of growing memory.
///
/// Elements are batches (never single records), so the lock is taken once per batch.
public final class BoundedQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer: Deque<Element> = []
        var waitingSenders: Deque<(Element, CheckedContinuation<Void, any Error>)> = []
        var waitingReceiver: CheckedContinuation<Element?, Never>?
        var finished = false
    }

    private enum SendAction { case resumeReceiver(CheckedContinuation<Element?, Never>), done, wait, closed }
    private enum ReceiveAction { case value(Element, CheckedContinuation<Void, any Error>?), end, wait }

    public let capacity: Int
    private let state = Mutex(State())

    /// Thrown by ``send(_:)`` once the queue is finished.
    public struct ClosedError: Error {}

    public init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    /// Adds an element, suspending while the queue holds `capacity` elements.
    public func send(_ element: Element) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let action: SendAction = state.withLock { state in
                if state.finished { return .closed }
                if let receiver = state.waitingReceiver {
                    state.waitingReceiver = nil
                    return .resumeReceiver(receiver)
                }
                if state.buffer.count < capacity {
                    state.buffer.append(element)
                    return .done
                }
                state.waitingSenders.append((element, continuation))
                return .wait
            }
            switch action {
            case .resumeReceiver(let receiver):
                receiver.resume(returning: element)
                continuation.resume()
            case .done: continuation.resume()
            case .wait: break
            case .closed: continuation.resume(throwing: ClosedError())
            }
        }
    }

    /// The next element, or `nil` once the queue is finished and drained. One consumer only.
    public func receive() async -> Element? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
            let action: ReceiveAction = state.withLock { state in
                if let element = state.buffer.popFirst() {
                    var sender: CheckedContinuation<Void, any Error>?
                    if let (waiting, continuation) = state.waitingSenders.popFirst() {
                        state.buffer.append(waiting)
                        sender = continuation
                    }
                    return .value(element, sender)
                }
                if let (waiting, sender) = state.waitingSenders.popFirst() { return .value(waiting, sender) }
                if state.finished { return .end }
                state.waitingReceiver = continuation
                return .wait
            }
            switch action {
            case .value(let element, let sender):
                sender?.resume()
                continuation.resume(returning: element)
            case .end: continuation.resume(returning: nil)
            case .wait: break
            }
        }
    }

    /// No more sends: the consumer drains what is queued, then receives `nil`. Senders still
    /// waiting keep their place and are delivered.
    public func finish() {
        let receiver: CheckedContinuation<Element?, Never>? = state.withLock { state in
            state.finished = true
            guard state.buffer.isEmpty, state.waitingSenders.isEmpty else { return nil }
            defer { state.waitingReceiver = nil }
            return state.waitingReceiver
        }
        receiver?.resume(returning: nil)
    }

    /// Abandons the queue after a failure: queued elements are dropped, waiting senders get
    /// ``ClosedError``, a waiting receiver gets `nil`, and so do later calls.
    public func cancel() {
        let (senders, receiver): ([CheckedContinuation<Void, any Error>], CheckedContinuation<Element?, Never>?) =
            state.withLock { state in
                state.finished = true
                state.buffer.removeAll()
                let senders = state.waitingSenders.map(\.1)
                state.waitingSenders.removeAll()
                defer { state.waitingReceiver = nil }
                return (senders, state.waitingReceiver)
            }
        for sender in senders { sender.resume(throwing: ClosedError()) }
        receiver?.resume(returning: nil)
    }

    /// Elements currently queued (for metrics).
    public var count: Int { state.withLock { $0.buffer.count + $0.waitingSenders.count } }
}
