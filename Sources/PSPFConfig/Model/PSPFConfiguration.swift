/// A loaded and validated configuration file: what the daemon runs. Every key is documented
/// once, in docs/configuration.md.
///
/// ```swift
/// let config = try ConfigLoader.load(file: "/etc/pspf/pspf.yaml")
/// for pipeline in config.pipelines {
///     let plan = try PipelineBuilder(configuration: config).plan(for: pipeline)
///     …
/// }
/// ```
public struct PSPFConfiguration: Sendable {
    /// The file it was loaded from.
    public var file: String
    /// The format version (`version: 1`).
    public var version: Int
    /// `data_dir`: where the logs, state and checkpoints live. Default `/var/lib/pspf`.
    public var dataDirectory: String
    /// `brokers`, in file order.
    public var brokers: [BrokerConfig]
    /// `sources`, in file order.
    public var sources: [SourceConfig]
    /// `pipelines`, in file order.
    public var pipelines: [PipelineConfig]
    /// `sinks`, in file order.
    public var sinks: [SinkConfig]
    public var checkpoint: CheckpointConfig
    public var deadLetters: DeadLetterConfig
    public var admin: AdminConfig
    public var shutdown: ShutdownConfig
    public var logging: LoggingConfig

    public init(
        file: String = "<memory>", version: Int = 1, dataDirectory: String = "/var/lib/pspf",
        brokers: [BrokerConfig] = [],
        sources: [SourceConfig] = [], pipelines: [PipelineConfig] = [], sinks: [SinkConfig] = [],
        checkpoint: CheckpointConfig = CheckpointConfig(), deadLetters: DeadLetterConfig = DeadLetterConfig(),
        admin: AdminConfig = AdminConfig(), shutdown: ShutdownConfig = ShutdownConfig(),
        logging: LoggingConfig = LoggingConfig()
    ) {
        self.file = file
        self.version = version
        self.dataDirectory = dataDirectory
        self.brokers = brokers
        self.sources = sources
        self.pipelines = pipelines
        self.sinks = sinks
        self.checkpoint = checkpoint
        self.deadLetters = deadLetters
        self.admin = admin
        self.shutdown = shutdown
        self.logging = logging
    }

    public func broker(named name: String) -> BrokerConfig? { brokers.first { $0.name == name } }
    public func source(named name: String) -> SourceConfig? { sources.first { $0.name == name } }
    public func pipeline(named name: String) -> PipelineConfig? { pipelines.first { $0.name == name } }
    public func sink(named name: String) -> SinkConfig? { sinks.first { $0.name == name } }
}

/// `checkpoint`: how often window state and offsets are committed.
public struct CheckpointConfig: Sendable, Hashable {
    /// `interval`, default 1 s.
    public var interval: Duration = .seconds(1)
    public init(interval: Duration = .seconds(1)) { self.interval = interval }
}

/// `dead_letters`: the dead-letter log.
public struct DeadLetterConfig: Sendable, Hashable {
    /// `retention`: dead letters older than this are deleted. Default 7 days.
    public var retention: Duration = .seconds(7 * 86_400)
    /// `max_bytes`: the log is kept under this size (oldest deleted first). Default none.
    public var maxBytes: ByteSize?
    public init(retention: Duration = .seconds(7 * 86_400), maxBytes: ByteSize? = nil) {
        self.retention = retention
        self.maxBytes = maxBytes
    }
}

/// `admin`: the HTTP endpoint for metrics, health and status.
public struct AdminConfig: Sendable, Hashable {
    /// `enabled`, default true.
    public var enabled = true
    /// `address` host part, default `127.0.0.1`.
    public var host = "127.0.0.1"
    /// `address` port part, default 9464.
    public var port = 9464
    /// `token_file`: a bearer token that requests must present. Required when `host` is not a
    /// loopback address.
    public var token: Secret?
    public init(enabled: Bool = true, host: String = "127.0.0.1", port: Int = 9464, token: Secret? = nil) {
        self.enabled = enabled
        self.host = host
        self.port = port
        self.token = token
    }
}

/// `shutdown`: graceful stop on SIGTERM.
public struct ShutdownConfig: Sendable, Hashable {
    /// `drain_timeout`: how long sinks may take to deliver what they hold. Default 30 s.
    public var drainTimeout: Duration = .seconds(30)
    public init(drainTimeout: Duration = .seconds(30)) { self.drainTimeout = drainTimeout }
}

/// `logging`.
public struct LoggingConfig: Sendable, Hashable {
    /// swift-log levels.
    public enum Level: String, Sendable, Hashable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }
    /// `level`, default `info`.
    public var level: Level = .info
    public init(level: Level = .info) { self.level = level }
}
