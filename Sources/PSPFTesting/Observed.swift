import Synchronization

/// A test timed out waiting for a condition. Timeouts only ever fail a test; they never pace it.
public struct TimedOut: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A value updated from any thread (an MQTT network thread included) that tests can await a
/// condition on, without sleeping: waiters are resumed by the update that satisfies them.
public final class Observed<Value: Sendable>: Sendable {
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

    public init(_ value: Value) { state = Mutex(State(value: value)) }

    public var value: Value { state.withLock { $0.value } }

    public func update(_ body: (inout Value) -> Void) {
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
    public func wait(
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
                waiter.continuation.resume(
                    throwing: TimedOut(description: "timed out after \(timeout) waiting for \(what); last value: \(value)"))
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
