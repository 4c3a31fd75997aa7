import PSPFMQTT
import Synchronization

/// Publishes results to MQTT as an ``OutputSink``, so the daemon's MQTT sinks share the
/// forwarder's backlog quota, retry and dead-letter handling with the file and HTTP sinks.
///
/// One delivery publishes the whole batch at once (pipelined up to the client's in-flight
/// window) and succeeds when the broker acknowledged every message. A batch that is not fully
/// acknowledged within `acknowledgementTimeout` (broker down, session lost) is retried whole:
/// MQTT delivery is at-least-once, and every result carries a stable `id` for de-duplication.
///
/// ```swift
/// let sink = MQTTOutputSink(name: "cloud", topic: try TopicTemplate("plants/{pipeline}/{key}"),
///                           transport: client, qos: .atLeastOnce)
/// let forwarder = SinkForwarder(sink: sink, output: results, deadLetters: dlq)
/// ```
public struct MQTTOutputSink: OutputSink {
    public let name: String
    public let topic: TopicTemplate
    public let qos: MQTTQoS
    public let retain: Bool
    public let acknowledgementTimeout: Duration
    public let retryPolicy: RetryPolicy
    private let transport: any MQTTSinkTransport

    public init(
        name: String, topic: TopicTemplate, transport: any MQTTSinkTransport, qos: MQTTQoS = .atLeastOnce,
        retain: Bool = false, acknowledgementTimeout: Duration = .seconds(10),
        retryPolicy: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(500), maxDelay: .seconds(30))
    ) {
        self.name = name
        self.topic = topic
        self.transport = transport
        self.qos = qos
        self.retain = retain
        self.acknowledgementTimeout = acknowledgementTimeout
        self.retryPolicy = retryPolicy
    }

    public func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome {
        guard !records.isEmpty else { return .delivered }
        let pending = PendingAcknowledgements(count: records.count)
        var renderer = TopicTemplate.Renderer(topic)
        for record in records {
            let topic = record.payload.withUnsafeBytes { renderer.render(payload: $0).topic }
            do {
                try transport.send(topic: topic, payload: record.payload, qos: qos, retain: retain) { result in
                    pending.complete(result)
                }
            } catch {
                // Not sent (client closed, or its window taken by other publishers): count it as
                // failed so the wait ends once what was sent has completed.
                pending.complete(.failure(error))
            }
        }
        let timeout = acknowledgementTimeout
        let outcome: SinkDeliveryOutcome? = try await withThrowingTaskGroup(of: SinkDeliveryOutcome?.self) { group in
            group.addTask { await pending.outcome() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        try Task.checkCancellation()
        return outcome
            ?? .retry(after: nil, error: "\(pending.remaining) of \(records.count) publishes not acknowledged within \(timeout)")
    }
}

/// Counts the acknowledgements of one batch and wakes the waiter when the last one arrives.
private final class PendingAcknowledgements: Sendable {
    private struct State {
        var remaining: Int
        var firstError: MQTTError?
        var waiter: CheckedContinuation<SinkDeliveryOutcome?, Never>?
        var cancelled = false
    }

    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(remaining: count)) }

    var remaining: Int { state.withLock { $0.remaining } }

    func complete(_ result: Result<Void, MQTTError>) {
        let resume: (CheckedContinuation<SinkDeliveryOutcome?, Never>, SinkDeliveryOutcome)? = state.withLock { state in
            state.remaining -= 1
            if case .failure(let error) = result, state.firstError == nil { state.firstError = error }
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, Self.outcome(state))
        }
        if let (waiter, outcome) = resume { waiter.resume(returning: outcome) }
    }

    /// The batch's outcome once every publish has completed; `nil` if the waiting task is cancelled.
    func outcome() async -> SinkDeliveryOutcome? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<SinkDeliveryOutcome?, Never>) in
                let ready: SinkDeliveryOutcome?? = state.withLock { state in
                    if state.cancelled { return .some(nil) }
                    if state.remaining == 0 { return .some(Self.outcome(state)) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    private static func outcome(_ state: State) -> SinkDeliveryOutcome {
        guard let error = state.firstError else { return .delivered }
        return .retry(after: nil, error: "publish failed: \(error)")
    }
}
