import Foundation
import PSPFMQTT
import Synchronization

/// A test timed out waiting for a condition. Timeouts only ever fail a test; they never pace it.
struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// A value updated from any thread (the client's network thread included) that tests can
/// await a condition on, without sleeping: waiters are resumed by the update that satisfies them.
final class Observed<Value: Sendable>: Sendable {
    private struct Waiter {
        let predicate: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Value, any Error>
    }
    private struct State {
        var value: Value
        var nextID = 0
        var waiters: [Int: Waiter] = [:]
        var expired: Set<Int> = []
    }
    private let state: Mutex<State>
    private enum Outcome { case ready(Value), expired(Value), waiting }

    init(_ value: Value) { state = Mutex(State(value: value)) }

    var value: Value { state.withLock { $0.value } }

    func update(_ body: (inout Value) -> Void) {
        let ready = state.withLock { state -> [(CheckedContinuation<Value, any Error>, Value)] in
            body(&state.value)
            var ready: [(CheckedContinuation<Value, any Error>, Value)] = []
            for (id, waiter) in state.waiters where waiter.predicate(state.value) {
                ready.append((waiter.continuation, state.value))
                state.waiters[id] = nil
            }
            return ready
        }
        for (continuation, value) in ready { continuation.resume(returning: value) }
    }

    /// Waits until `predicate` holds; throws ``TimedOut`` after `timeout`.
    @discardableResult
    func wait(
        _ what: String, timeout: Duration = .seconds(30), until predicate: @escaping @Sendable (Value) -> Bool
    ) async throws -> Value {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            let waiter = self.state.withLock { state -> (Waiter, Value)? in
                if let waiter = state.waiters.removeValue(forKey: id) { return (waiter, state.value) }
                state.expired.insert(id)
                return nil
            }
            if let (waiter, value) = waiter {
                waiter.continuation.resume(throwing: TimedOut(description: "timed out after \(timeout) waiting for \(what); last value: \(value)"))
            }
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Outcome in
                if predicate(state.value) { return .ready(state.value) }
                if state.expired.remove(id) != nil { return .expired(state.value) }
                state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                return .waiting
            }
            switch outcome {
            case .ready(let value): continuation.resume(returning: value)
            case .expired(let value):
                continuation.resume(throwing: TimedOut(description: "timed out waiting for \(what); last value: \(value)"))
            case .waiting: break
            }
        }
    }
}

/// Collects every message (and counts read phases) on the client's network thread.
final class CollectingHandler: MQTTMessageHandler {
    let messages = Observed<[MQTTMessage]>([])
    let readPhases = Observed(0)
    /// Also receives every message (to wait on several handlers together).
    let alsoInto: Observed<[MQTTMessage]>?

    init(alsoInto: Observed<[MQTTMessage]>? = nil) { self.alsoInto = alsoInto }

    func received(_ message: MQTTMessageView) {
        let copy = MQTTMessage(message)
        messages.update { $0.append(copy) }
        alsoInto?.update { $0.append(copy) }
    }

    func readPhaseEnded() throws {
        readPhases.update { $0 += 1 }
    }

    /// Payloads as strings, in arrival order.
    var payloads: [String] { messages.value.map { String(decoding: $0.payload, as: UTF8.self) } }
}

/// Records a client's events.
final class EventRecorder: Sendable {
    let events = Observed<[MQTTClientEvent]>([])
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ client: MQTTClient) {
        let stream = client.events
        let events = self.events
        let task = Task {
            for await event in stream { events.update { $0.append(event) } }
        }
        self.task.withLock { $0 = task }
    }

    func count(where predicate: (MQTTClientEvent) -> Bool) -> Int { events.value.filter(predicate).count }

    deinit { task.withLock { $0?.cancel() } }
}

extension MQTTClientEvent {
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var isConnectionLost: Bool { if case .connectionLost = self { true } else { false } }
}

/// Runs blocking code (socket reads with timeouts, semaphores) on its own thread, so it never
/// occupies a thread of the cooperative pool the code under test may need.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// A one-shot latch the network thread can block on while a test inspects the world.
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func wait() { semaphore.wait() }
    func open() { semaphore.signal() }
}

/// A configuration for the fixture broker.
func configuration(
    _ port: Int, clientID: String? = nil, version: MQTTProtocolVersion = .v5, cleanSession: Bool = true
) -> MQTTClientConfiguration {
    var configuration = MQTTClientConfiguration(host: "127.0.0.1", port: port)
    configuration.clientID = clientID
    configuration.protocolVersion = version
    configuration.cleanSession = cleanSession
    configuration.reconnect = MQTTReconnectPolicy(
        initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500), jitter: 0.5,
        // Generous: on 2 cores a busy cooperative pool can delay the fake broker's accept
        // thread (started from a child task); the timeout only exists to fail a stuck test.
        connectTimeout: .seconds(60), stableConnectionThreshold: .seconds(1))
    return configuration
}

/// A unique suffix so concurrently running tests never share client ids or topics.
func uniqueName(_ base: String) -> String { "\(base)-\(UInt32.random(in: 0...UInt32.max))" }
