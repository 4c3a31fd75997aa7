import PSPFTesting
import Foundation
import PSPFMQTT
import Synchronization


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
