import AsyncHTTPClient
import Logging
import NIOCore
import PSPFAdmin
import PSPFTesting
import ServiceLifecycle
import Synchronization

/// A status provider whose status a test sets.
final class FakeStatusProvider: StatusProvider {
    private let state: Mutex<DaemonStatus>

    init(_ status: DaemonStatus) { state = Mutex(status) }

    func currentStatus() async -> DaemonStatus { state.withLock { $0 } }

    func update(_ body: (inout DaemonStatus) -> Void) { state.withLock { body(&$0) } }
}

let quietLogger = Logger(label: "pspf.admin.test") { _ in SwiftLogNoOpLogHandler() }

/// Runs an admin server on 127.0.0.1 and a free port for the duration of `body`, then shuts it
/// down gracefully. The port is awaited from `onServerRunning` (no polling, no sleeps).
func withAdminServer<T: Sendable>(
    provider: FakeStatusProvider, token: String? = nil, sampleProcess: Bool = false,
    readiness: ReadinessPolicy = ReadinessPolicy(), _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let port = Observed<Int?>(nil)
    let server = AdminServer(
        configuration: AdminServerConfiguration(
            host: "127.0.0.1", port: 0, token: token, sampleProcess: sampleProcess, readiness: readiness),
        provider: provider, logger: quietLogger,
        onServerRunning: { bound in port.update { $0 = bound } })
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: quietLogger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let bound = try await port.wait("the admin server to listen") { $0 != nil }
            let result = try await body(bound ?? 0)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            tasks.cancelAll()
            throw error
        }
    }
}

struct HTTPAnswer {
    var status: Int
    var contentType: String?
    var body: String
}

/// A GET over real HTTP.
func get(_ port: Int, _ path: String, authorization: String? = nil) async throws -> HTTPAnswer {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    if let authorization { request.headers.add(name: "Authorization", value: authorization) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 16 << 20)
    return HTTPAnswer(
        status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
        body: String(buffer: body))
}

/// Test statuses: one source with two log partitions, one pipeline, two sinks, at t = 100 s
/// after a start at t = 0 (epoch milliseconds 1_700_000_000_000 + …).
enum Fixture {
    static let start: Int64 = 1_700_000_000_000

    static func status(at seconds: Int64 = 100) -> DaemonStatus {
        DaemonStatus(
            version: "1.2.3", startedAtMilliseconds: start, takenAtMilliseconds: start + seconds * 1000,
            checkpointIntervalSeconds: 1,
            sources: [
                SourceStatus(
                    name: "sensors", broker: "local", connected: true, messagesReceived: 1200, bytesReceived: 96_000,
                    appended: 1190, duplicates: 7, deadLettered: 3, rejected: 1,
                    partitions: [
                        LogPartitionStatus(topic: "sensors", partition: 0, endOffset: 600, sizeBytes: 50_000),
                        LogPartitionStatus(topic: "sensors", partition: 1, endOffset: 590, sizeBytes: 49_000),
                    ])
            ],
            pipelines: [
                PipelineStatus(
                    name: "temp-stats", source: "sensors", recordsProcessed: 1150, resultsEmitted: 40, windowsOpen: 12,
                    windowsEmitted: 40, late: 5, filtered: 2, deadLetters: ["schema_violation": 4, "late": 5],
                    lag: [PartitionLag(partition: 0, records: 30), PartitionLag(partition: 1, records: 10)],
                    checkpoint: CheckpointStatus(
                        count: 99, failures: 1, lastID: 99, lastCompletedAtMilliseconds: start + seconds * 1000 - 500,
                        lastDurationMilliseconds: 3.5, lastSizeBytes: 8192))
            ],
            sinks: [
                SinkStatus(name: "console", pipeline: "temp-stats", type: "console", delivered: 40),
                SinkStatus(
                    name: "cloud", pipeline: "temp-stats", type: "http", delivered: 30, inFlight: 2, backlog: 8,
                    retries: 6, failures: 1, dropped: 0, failingSinceMilliseconds: start + seconds * 1000 - 20_000,
                    lastError: "HTTP 503"),
            ],
            process: ProcessStatus(residentBytes: 50_331_648, cpuSeconds: 12.5, openFiles: 31))
    }
}
