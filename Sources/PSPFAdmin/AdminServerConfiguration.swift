/// Where the admin server listens and what it requires of callers.
///
/// ```swift
/// // Loopback only, no token (the default): metrics for a local Prometheus agent.
/// let local = AdminServerConfiguration()
/// // Reachable from the plant network: every route but /healthz needs the token.
/// let shared = AdminServerConfiguration(host: "0.0.0.0", port: 9464, token: config.admin.token?.reveal())
/// ```
public struct AdminServerConfiguration: Sendable {
    /// The address to bind. Loopback by default, so nothing is exposed unless asked for.
    public var host: String
    /// The TCP port; 0 picks a free one (the server reports it through `onServerRunning`).
    public var port: Int
    /// When set, every route except `/healthz` requires `Authorization: Bearer <token>`.
    public var token: String?
    /// Overwrite the provider's `process` figures with the server's own `/proc/self` sample on
    /// every request (the daemon need not sample it itself).
    public var sampleProcess: Bool
    /// How `/readyz` (and the `pspf_ready` metric) judge the status.
    public var readiness: ReadinessPolicy

    public init(
        host: String = "127.0.0.1", port: Int = 9464, token: String? = nil, sampleProcess: Bool = true,
        readiness: ReadinessPolicy = ReadinessPolicy()
    ) {
        self.host = host
        self.port = port
        self.token = token
        self.sampleProcess = sampleProcess
        self.readiness = readiness
    }
}

extension AdminServerConfiguration: CustomStringConvertible {
    /// Safe to log: the token is never shown.
    public var description: String {
        "\(host):\(port)" + (token == nil ? " (no token)" : " (bearer token required)")
    }
}
