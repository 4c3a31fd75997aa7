import PSPFMQTT
import Synchronization

/// Publishes through ``MQTTClient``'s callback API, keeping its in-flight window full: when the
/// window is full it waits for a completion instead of failing. Counts acknowledgements.
final class WindowedPublisher: Sendable {
    let client: MQTTClient
    private struct State {
        var submitted = 0
        var completed = 0
        var failed = 0
        var firstError: MQTTError?
        var waiter: CheckedContinuation<Void, Never>?
        var pending = false
    }
    private let state = Mutex(State())

    init(client: MQTTClient) { self.client = client }

    var acknowledged: Int { state.withLock { $0.completed - $0.failed } }
    var failures: (count: Int, first: MQTTError?) { state.withLock { ($0.failed, $0.firstError) } }

    /// Hands one publish to the client, waiting for a free slot if needed.
    func publish(topic: String, payload: [UInt8], qos: MQTTQoS) async throws {
        while try !submit(topic: topic, payload: payload, qos: qos) {
            await waitForCompletion()
        }
    }

    /// `false` when the window is full.
    private func submit(topic: String, payload: [UInt8], qos: MQTTQoS) throws -> Bool {
        do {
            try client.publish(topic: topic, payload: payload, qos: qos) { [self] result in completed(result) }
        } catch {
            if error.code == .inflightWindowFull { return false }
            throw error
        }
        state.withLock { $0.submitted += 1 }
        return true
    }

    /// Waits until every publish handed over has completed.
    func drain() async {
        while state.withLock({ $0.completed < $0.submitted }) {
            await waitForCompletion()
        }
    }

    private func completed(_ result: Result<Void, MQTTError>) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.completed += 1
            if case .failure(let error) = result {
                state.failed += 1
                if state.firstError == nil { state.firstError = error }
            }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    private func waitForCompletion() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
