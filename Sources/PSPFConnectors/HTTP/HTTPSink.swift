import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import PSPFCore

/// Delivers batches of results to an HTTP endpoint: one `POST` of a JSON array per batch, with
/// an `Idempotency-Key` derived from the results' ids, retried with exponential backoff and
/// jitter on connection errors, timeouts, 408/425/429 and 5xx (honouring `Retry-After`). A
/// non-retryable 4xx rejects the batch, which the caller sends to the dead letters with the
/// status and a body excerpt.
///
/// ```swift
/// let sink = try HTTPSink(configuration: .init(url: "https://ingest.example.com/v1/results"))
/// switch try await sink.deliverRetrying(records) {
/// case .delivered: advance the delivered offset
/// case .rejected(let status, let excerpt, _), …: dead-letter the batch
/// }
/// ```
public final class HTTPSink: OutputSink {
    public let name: String
    public let configuration: HTTPSinkConfiguration
    private let client: HTTPClient
    private let ownsClient: Bool
    private let sleeper: any Sleeper
    private let randomUnit: @Sendable () -> Double
    private let now: @Sendable () -> Int64
    private let logger: Logger

    /// - Parameters:
    ///   - sleeper: waits between attempts (tests pass one that records and returns at once).
    ///   - randomUnit: jitter source in 0..<1.
    ///   - now: epoch milliseconds, for `Retry-After` dates.
    public init(
        name: String = "http", configuration: HTTPSinkConfiguration, sleeper: any Sleeper = TaskSleeper(),
        randomUnit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        now: @escaping @Sendable () -> Int64 = { SystemClock().now().milliseconds },
        logger: Logger = Logger(label: "pspf.sink.http")
    ) throws {
        try configuration.validate()
        self.name = name
        self.configuration = configuration
        if let tls = configuration.tls {
            var clientConfiguration = HTTPClient.Configuration()
            clientConfiguration.tlsConfiguration = try tls.makeTLSConfiguration()
            clientConfiguration.connectionPool.retryConnectionEstablishment = false
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            ownsClient = true
        } else {
            client = Self.sharedClient
            ownsClient = false
        }
        self.sleeper = sleeper
        self.randomUnit = randomUnit
        self.now = now
        self.logger = logger
    }

    public var retryPolicy: RetryPolicy { configuration.retry }

    /// The client of every sink without TLS options: `HTTPClient.shared`'s settings, except that
    /// a connection that cannot be established fails the attempt at once. By default the client
    /// keeps retrying the connection inside the request, with its own backoff (growing to 60 s),
    /// until the request's timeout: during an outage each attempt then hung for the whole
    /// `timeout`, and after one the endpoint was reached only at the client's next try, up to a
    /// minute later, whatever `retry.max` said. Now the sink's ``RetryPolicy`` alone paces the
    /// retries, and counts and logs them. (A `static let` is never deinitialised, so it needs
    /// no shutdown.)
    static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// One attempt, for a ``SinkForwarder``: a rejection names the status and the body.
    public func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome {
        switch try await attempt(records) {
        case .delivered: return .delivered
        case .retry(let after, let error): return .retry(after: after, error: error)
        case .rejected(let status, let excerpt):
            return .rejected(reason: "sink_rejected", message: "HTTP \(status) from \(configuration.url): \(excerpt)")
        }
    }

    /// Shuts down the sink's own HTTP client (one is created when TLS options are set).
    public func close() async throws {
        if ownsClient { try await client.shutdown() }
    }

    /// Posts `records` as one batch, retrying as the policy allows (standalone use; a
    /// ``SinkForwarder`` calls ``deliver(_:)`` and retries itself). Throws only
    /// `CancellationError` (the sink is stopping; the batch stays undelivered).
    public func deliverRetrying(_ records: [SinkRecord]) async throws -> HTTPDeliveryResult {
        var attempts = 0
        while true {
            attempts += 1
            let attempt = attempts
            switch try await self.attempt(records) {
            case .delivered(let status):
                return .delivered(status: status, attempts: attempt)
            case .rejected(let status, let excerpt):
                return .rejected(status: status, bodyExcerpt: excerpt, attempts: attempt)
            case .retry(let retryAfter, let failure):
                guard configuration.retry.allowsRetry(afterAttempt: attempt) else {
                    return .exhausted(lastError: failure, attempts: attempt)
                }
                let delay = configuration.retry.delay(afterAttempt: attempt, randomUnit: randomUnit(), retryAfter: retryAfter)
                logger.debug("HTTP delivery attempt \(attempt) failed (\(failure)); retrying in \(delay)")
                try await sleeper.sleep(for: delay)
            }
        }
    }

    enum Attempt: Sendable, Equatable {
        case delivered(status: Int)
        case rejected(status: Int, bodyExcerpt: String)
        case retry(after: Duration?, error: String)
    }

    /// One POST of the batch.
    func attempt(_ records: [SinkRecord]) async throws -> Attempt {
        try Task.checkCancellation()
        let request = makeRequest(records)
        do {
            let response = try await client.execute(request, timeout: .init(configuration.timeout))
            let status = Int(response.status.code)
            let body = try? await response.body.collect(upTo: 64 << 10)
            switch HTTPResponseClass(status: status, retryAfter: response.headers.first(name: "Retry-After"), now: now()) {
            case .delivered: return .delivered(status: status)
            case .rejected: return .rejected(status: status, bodyExcerpt: String((body.map { String(buffer: $0) } ?? "").prefix(512)))
            case .retry(let after): return .retry(after: after, error: "HTTP \(status)")
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .retry(after: nil, error: String(describing: error))
        }
    }

    func makeRequest(_ records: [SinkRecord]) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: configuration.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: Self.idempotencyKey(records))
        for (name, value) in configuration.headers { request.headers.add(name: name, value: value) }
        if let token = configuration.bearerToken {
            request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
        }
        var body = ByteBuffer()
        body.reserveCapacity(records.reduce(2) { $0 + $1.payload.count + 1 })
        body.writeInteger(UInt8(ascii: "["))
        for (index, record) in records.enumerated() {
            if index > 0 { body.writeInteger(UInt8(ascii: ",")) }
            body.writeBytes(record.payload)
        }
        body.writeInteger(UInt8(ascii: "]"))
        request.body = .bytes(body)
        return request
    }

    /// The same results always give the same key, so a server that saw a batch before a retry
    /// (or before a restart that re-forms the same batch) can drop the repeat: FNV-1a 64 over the
    /// ids, with the count and the first and last id for readability.
    public static func idempotencyKey(_ records: [SinkRecord]) -> String {
        var hash = FNV1a64()
        for record in records {
            hash.combine(record.id.utf8)
            hash.combine(UInt8(ascii: ","))
        }
        let first = records.first?.id ?? ""
        let last = records.last?.id ?? ""
        return "\(records.count)-\(first)-\(last)-\(hash.hex)"
    }
}

/// One output-log record on its way to a sink.
public struct SinkRecord: Sendable, Hashable {
    public var partition: Int
    public var offset: Int64
    /// The result's stable id (for de-duplication downstream).
    public var id: String
    /// The result as stored in the output log: one JSON object.
    public var payload: [UInt8]

    public init(partition: Int, offset: Int64, id: String, payload: [UInt8]) {
        self.partition = partition
        self.offset = offset
        self.id = id
        self.payload = payload
    }
}

/// How a batch ended.
public enum HTTPDeliveryResult: Sendable, Equatable {
    case delivered(status: Int, attempts: Int)
    /// A non-retryable status: the batch goes to the dead letters.
    case rejected(status: Int, bodyExcerpt: String, attempts: Int)
    /// The retry policy's `maxAttempts` ran out: the batch goes to the dead letters.
    case exhausted(lastError: String, attempts: Int)
}

/// Waits between attempts; injectable so tests need not wait.
public protocol Sleeper: Sendable {
    func sleep(for duration: Duration) async throws
}

/// Sleeps with `Task.sleep`, cancellable.
public struct TaskSleeper: Sleeper {
    public init() {}
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Options of an ``HTTPSink``.
public struct HTTPSinkConfiguration: Sendable, CustomStringConvertible {
    public var url: String
    /// Extra headers sent with every request.
    public var headers: [(String, String)]
    /// Sent as `Authorization: Bearer …`; never logged or printed.
    public var bearerToken: String?
    /// Per-request timeout (connect + response).
    public var timeout: Duration
    public var retry: RetryPolicy
    public var tls: HTTPSinkTLS?

    public init(
        url: String, headers: [(String, String)] = [], bearerToken: String? = nil, timeout: Duration = .seconds(10),
        retry: RetryPolicy = RetryPolicy(), tls: HTTPSinkTLS? = nil
    ) {
        self.url = url
        self.headers = headers
        self.bearerToken = bearerToken
        self.timeout = timeout
        self.retry = retry
        self.tls = tls
    }

    public func validate() throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw HTTPSinkError("url '\(url)' must start with http:// or https://")
        }
        guard timeout > .zero else { throw HTTPSinkError("timeout must be positive") }
        for (name, _) in headers where name.lowercased() == "authorization" && bearerToken != nil {
            throw HTTPSinkError("set either an Authorization header or a bearer token, not both")
        }
    }

    public var description: String {
        "HTTPSinkConfiguration(url: \(url), headers: \(headers.map(\.0)), bearerToken: \(bearerToken == nil ? "none" : "<redacted>"), timeout: \(timeout), retry: \(retry))"
    }
}

/// TLS options for an HTTPS endpoint; verification is on unless turned off.
public struct HTTPSinkTLS: Sendable, Hashable {
    public var caFile: String?
    public var certificateFile: String?
    public var privateKeyFile: String?
    public var verifyPeer: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, privateKeyFile: String? = nil, verifyPeer: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.verifyPeer = verifyPeer
    }

    func makeTLSConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .file(caFile) }
        if let certificateFile, let privateKeyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            tls.privateKey = .file(privateKeyFile)
        } else if (certificateFile == nil) != (privateKeyFile == nil) {
            throw HTTPSinkError("a client certificate needs both certificate_file and private_key_file")
        }
        tls.certificateVerification = verifyPeer ? .fullVerification : .none
        return tls
    }
}

public struct HTTPSinkError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
