import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The daemon's admin HTTP endpoint, a ServiceLifecycle `Service` to run in the daemon's
/// `ServiceGroup`:
///
/// | route | answer |
/// | --- | --- |
/// | `GET /metrics` | Prometheus text format 0.0.4, sampled from the status at each scrape |
/// | `GET /healthz` | `200 ok` while the process serves (never needs the token) |
/// | `GET /readyz` | ``Readiness`` as JSON: 200 when ready, 503 with the reasons when not |
/// | `GET /status` | the ``DaemonStatus`` as JSON |
///
/// With a token configured every route but `/healthz` requires `Authorization: Bearer <token>`.
///
/// ```swift
/// let admin = AdminServer(
///     configuration: AdminServerConfiguration(host: "127.0.0.1", port: 9464),
///     provider: daemon, logger: logger,
///     onServerRunning: { port in logger.info("admin listening on port \(port)") })
/// let group = ServiceGroup(services: [daemon, admin], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public struct AdminServer: Service {
    public let configuration: AdminServerConfiguration
    public let exporter: MetricsExporter
    private let provider: any StatusProvider
    private let logger: Logger
    private let onServerRunning: @Sendable (_ port: Int) async -> Void

    /// - Parameters:
    ///   - exporter: owns the Prometheus registry; pass one to add metrics of your own through its `factory`.
    ///   - onServerRunning: called once the socket is bound, with the bound port (useful with port 0).
    public init(
        configuration: AdminServerConfiguration, provider: any StatusProvider,
        exporter: MetricsExporter = MetricsExporter(), logger: Logger = Logger(label: "pspf.admin"),
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.provider = provider
        self.exporter = exporter
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    public func run() async throws {
        let onServerRunning = self.onServerRunning
        let application = Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await application.run()
    }

    /// The routes, separate from the socket so they can be exercised alone.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        if let token = configuration.token {
            router.add(middleware: BearerTokenMiddleware(token: token, open: ["/healthz"]))
        }
        router.get("/healthz") { _, _ in
            Self.response(.ok, contentType: "text/plain; charset=utf-8", body: "ok\n")
        }
        router.get("/readyz") { _, _ in
            let status = await currentStatus()
            let readiness = Readiness(judging: status, policy: configuration.readiness)
            return Self.response(
                readiness.ready ? .ok : .serviceUnavailable, contentType: "application/json",
                body: Self.json(readiness))
        }
        router.get("/status") { _, _ in
            Self.response(.ok, contentType: "application/json", body: Self.json(await currentStatus()))
        }
        router.get("/metrics") { _, _ in
            let status = await currentStatus()
            let readiness = Readiness(judging: status, policy: configuration.readiness)
            return Self.response(
                .ok, contentType: MetricsExporter.contentType, body: exporter.scrape(status, readiness: readiness))
        }
        return router
    }

    /// The provider's status, completed by the server: the time it was taken (if the provider
    /// left it 0) and this process's /proc figures (when `sampleProcess`).
    func currentStatus() async -> DaemonStatus {
        var status = await provider.currentStatus()
        if status.takenAtMilliseconds == 0 {
            status.takenAtMilliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        }
        if configuration.sampleProcess { status.process = ProcessSampler.sample() }
        return status
    }

    private static func response(_ status: HTTPResponse.Status, contentType: String, body: String) -> Response {
        Response(
            status: status, headers: [.contentType: contentType, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    private static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding these plain structs cannot fail; an empty object keeps the route honest if it ever did.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
