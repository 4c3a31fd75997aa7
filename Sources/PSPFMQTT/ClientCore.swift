import CMosquitto
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The state shared between the public API (any thread or task) and the network thread.
/// Everything libmosquitto-related happens on the network thread; other threads only put
/// work into this state under the lock and wake the loop.
final class ClientCore: Sendable {
    let configuration: MQTTClientConfiguration
    let logger: Logger
    let handle: MosquittoHandle
    let wake: WakeSignal
    let handler: (any MQTTMessageHandler)?
    let readingPaused = Atomic<Bool>(false)
    let shared = Mutex(SharedState())
    let events: AsyncStream<MQTTClientEvent>
    let eventSink: AsyncStream<MQTTClientEvent>.Continuation

    init(configuration: MQTTClientConfiguration, handler: (any MQTTMessageHandler)?, logger: Logger) throws(MQTTError) {
        try configuration.validate()
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "mqtt.client"] = "\(configuration.clientID ?? "-")"
        logger[metadataKey: "mqtt.broker"] = "\(configuration.host):\(configuration.port)"
        self.logger = logger
        self.handle = try MosquittoHandle(configuration: configuration)
        self.wake = try WakeSignal()
        self.handler = handler
        (self.events, self.eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    // MARK: lifecycle

    /// Starts the network thread; `waiter` is resumed after the first CONNACK or the first failure.
    func start(waiter: CheckedContinuation<Void, any Error>) {
        enum Outcome { case start, alreadyRunning, closed }
        let outcome = shared.withLock { state -> Outcome in
            switch state.lifecycle {
            case .idle:
                state.lifecycle = .running
                state.connectWaiter = waiter
                return .start
            case .running: return .alreadyRunning
            case .closed: return .closed
            }
        }
        switch outcome {
        case .start:
            startThread()
        case .alreadyRunning:
            waiter.resume(throwing: MQTTError(code: .invalidArgument, message: "connect() was already called on this client"))
        case .closed:
            waiter.resume(throwing: MQTTError(code: .closed, message: "the client is closed; create a new MQTTClient"))
        }
    }

    private func startThread() {
        let core = self
        spawnThread(name: "pspf-mqtt") {
            let loop = NetworkLoop(core: core)
            loop.run()
        }
    }

    /// Asks the loop to stop (gracefully when connected). Returns at once.
    func requestStop() {
        let idle = shared.withLock { state -> Bool in
            state.stopRequested = true
            guard state.lifecycle == .idle else { return false }
            state.lifecycle = .closed   // a concurrent start() now sees a closed client
            return true
        }
        if idle {
            // No network thread: close here, failing whatever was queued before connect().
            loopFinished(initialFailure: nil)
        } else {
            wake.signal()
        }
    }

    /// Waits until the network thread has finished (immediately if it never started).
    func waitUntilClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = shared.withLock { state -> Bool in
                if state.lifecycle == .closed { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    var isConnected: Bool { shared.withLock { $0.connected } }

    func setPaused(_ paused: Bool) {
        let previous = readingPaused.exchange(paused, ordering: .acquiringAndReleasing)
        if previous != paused { wake.signal() }
    }

    // MARK: in-flight window

    /// Takes a slot if one is free and nobody is queued for one.
    func tryAcquireSlot() -> Bool {
        shared.withLock { state in
            guard state.lifecycle != .closed, state.slotWaiters.isEmpty,
                state.inflight < configuration.maxInflightPublishes
            else { return false }
            state.inflight += 1
            return true
        }
    }

    /// Waits (in FIFO order) for a slot in the in-flight window.
    func acquireSlot() async throws {
        if tryAcquireSlot() { return }
        let id = shared.withLock { state -> UInt64 in
            state.nextID += 1
            state.unregisteredWaiters.insert(state.nextID)
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case granted, queued, closed, cancelled }
                let outcome = shared.withLock { state -> Outcome in
                    state.unregisteredWaiters.remove(id)
                    if state.cancelledWaiters.remove(id) != nil { return .cancelled }
                    if state.lifecycle == .closed { return .closed }
                    if state.slotWaiters.isEmpty, state.inflight < configuration.maxInflightPublishes {
                        state.inflight += 1
                        return .granted
                    }
                    state.slotWaiters.append(SlotWaiter(id: id, continuation: continuation))
                    return .queued
                }
                switch outcome {
                case .granted: continuation.resume()
                case .queued: break
                case .closed: continuation.resume(throwing: MQTTError(code: .closed, message: "the client is closed"))
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let waiter = shared.withLock { state -> SlotWaiter? in
                if let index = state.slotWaiters.firstIndex(where: { $0.id == id }) {
                    return state.slotWaiters.remove(at: index)
                }
                // Not registered yet: registration will see the mark. Already granted: nothing to do.
                if state.unregisteredWaiters.contains(id) { state.cancelledWaiters.insert(id) }
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Returns a slot; hands it straight to the first waiter, if any.
    func releaseSlot() {
        let next = shared.withLock { state -> SlotWaiter? in
            if !state.slotWaiters.isEmpty { return state.slotWaiters.removeFirst() }
            state.inflight -= 1
            return nil
        }
        next?.continuation.resume()
    }

    var inflightCount: Int { shared.withLock { $0.inflight } }

    // MARK: work for the loop

    func enqueue(_ publish: OutgoingPublish) {
        let accepted = shared.withLock { state -> Bool in
            guard state.lifecycle != .closed, !state.stopRequested else { return false }
            state.outbox.append(publish)
            return true
        }
        if accepted {
            wake.signal()
        } else {
            if publish.countsAgainstWindow { releaseSlot() }
            publish.completion?.complete(.failure(MQTTError(code: .closed, message: "the client is closed")))
        }
    }

    func enqueue(_ request: FilterRequest) {
        let accepted = shared.withLock { state -> Bool in
            guard state.lifecycle != .closed, !state.stopRequested else { return false }
            state.filterRequests.append(request)
            return true
        }
        if accepted {
            wake.signal()
        } else {
            request.completion.complete(.failure(MQTTError(code: .closed, message: "the client is closed")))
        }
    }

    /// The loop takes everything queued for it.
    func takeWork() -> (stop: Bool, publishes: [OutgoingPublish], requests: [FilterRequest]) {
        shared.withLock { state in
            let work = (state.stopRequested, state.outbox, state.filterRequests)
            state.outbox.removeAll(keepingCapacity: true)
            state.filterRequests.removeAll(keepingCapacity: true)
            return work
        }
    }

    // MARK: called by the loop

    func connectionChanged(connected: Bool) {
        let waiter = shared.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.connected = connected
            guard connected else { return nil }
            defer { state.connectWaiter = nil }
            return state.connectWaiter
        }
        waiter?.resume()
    }

    /// The loop has ended: fail everything still waiting.
    func loopFinished(initialFailure: MQTTError?) {
        let closed = MQTTError(code: .closed, message: "the client was closed")
        let (waiter, closeWaiters, slotWaiters, outbox, requests) = shared.withLock { state in
            state.lifecycle = .closed
            state.connected = false
            let taken = (
                state.connectWaiter, state.closeWaiters, state.slotWaiters, state.outbox, state.filterRequests
            )
            state.connectWaiter = nil
            state.closeWaiters = []
            state.slotWaiters = []
            state.outbox = []
            state.filterRequests = []
            return taken
        }
        waiter?.resume(throwing: initialFailure ?? closed)
        for slotWaiter in slotWaiters { slotWaiter.continuation.resume(throwing: closed) }
        for publish in outbox { publish.completion?.complete(.failure(closed)) }
        for request in requests { request.completion.complete(.failure(closed)) }
        eventSink.yield(.closed)
        eventSink.finish()
        for closeWaiter in closeWaiters { closeWaiter.resume() }
    }
}

struct SharedState {
    enum Lifecycle { case idle, running, closed }
    var lifecycle = Lifecycle.idle
    var connected = false
    var stopRequested = false
    var connectWaiter: CheckedContinuation<Void, any Error>?
    var closeWaiters: [CheckedContinuation<Void, Never>] = []
    var inflight = 0
    var slotWaiters: [SlotWaiter] = []
    var unregisteredWaiters: Set<UInt64> = []
    var cancelledWaiters: Set<UInt64> = []
    var nextID: UInt64 = 0
    var outbox: [OutgoingPublish] = []
    var filterRequests: [FilterRequest] = []
}

struct SlotWaiter {
    let id: UInt64
    let continuation: CheckedContinuation<Void, any Error>
}

/// A publish handed to the network loop.
struct OutgoingPublish: Sendable {
    var topic: String
    var payload: [UInt8]
    var qos: MQTTQoS
    var retain: Bool
    var properties: MQTTPublishProperties?
    /// `nil` for the client's own status messages.
    var completion: Completion<Void>?
    /// Whether it holds a slot of the in-flight window (released when it completes).
    var countsAgainstWindow: Bool
}

/// A SUBSCRIBE or UNSUBSCRIBE request handed to the network loop.
struct FilterRequest: Sendable {
    enum Kind: Sendable { case subscribe([MQTTSubscription]), unsubscribe([String]) }
    var kind: Kind
    /// Resumed with the granted QoS / reason code per filter, in order.
    var completion: Completion<[Int32]>

    var filters: [String] {
        switch kind {
        case .subscribe(let subscriptions): subscriptions.map(\.topicFilter)
        case .unsubscribe(let filters): filters
        }
    }
}

/// A completion that fires exactly once: by the network loop (ack, failure) or by cancellation.
final class Completion<Value: Sendable>: Sendable {
    enum Target: Sendable {
        case continuation(CheckedContinuation<Value, any Error>)
        case callback(@Sendable (Result<Value, MQTTError>) -> Void)
    }

    private let target: Mutex<Target?>

    init(_ target: Target) { self.target = Mutex(target) }

    private func take() -> Target? { target.withLock { t in defer { t = nil }; return t } }

    func complete(_ result: Result<Value, MQTTError>) {
        switch take() {
        case .continuation(let continuation): continuation.resume(with: result.mapError { $0 as any Error })
        case .callback(let callback): callback(result)
        case nil: break
        }
    }

    /// Resumes an awaiting task with `CancellationError`; the loop's later completion is ignored.
    func cancel() {
        switch take() {
        case .continuation(let continuation): continuation.resume(throwing: CancellationError())
        case .callback(let callback): callback(.failure(MQTTError(code: .closed, message: "cancelled")))
        case nil: break
        }
    }
}

/// Runs `body` on a new detached pthread: the network loop must not occupy a thread of
/// Swift's cooperative pool, since it blocks in poll(2) and in the handler's fsync.
func spawnThread(name: String, _ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, nil,
        { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            pspf_set_thread_name(String(box.name.prefix(15)))
            box.body()
            return nil
        }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_detach(thread)
}
