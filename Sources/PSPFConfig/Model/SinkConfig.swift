/// `sinks.<name>`: where results go. Each sink forwards a pipeline's output log from its own
/// delivered offset; an outage grows its backlog on disk up to `backlog.quota`.
public struct SinkConfig: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case mqtt(MQTTSinkConfig)
        case file(FileSinkConfig)
        case http(HTTPSinkConfig)
        case console(ConsoleSinkConfig)

        /// The `type:` keyword.
        public var type: String {
            switch self {
            case .mqtt: "mqtt"
            case .file: "file"
            case .http: "http"
            case .console: "console"
            }
        }
    }

    public var name: String
    public var kind: Kind
    /// `backlog`.
    public var backlog = BacklogConfig()

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// `sinks.<name>.backlog`: how much undelivered output may wait on disk.
public struct BacklogConfig: Sendable, Hashable {
    /// `quota`, default 1 GiB.
    public var quota = ByteSize(bytes: 1 << 30)
    /// `policy`: `block` (default: processing slows down) or `drop_oldest`.
    public var policy: QuotaPolicyConfig = .block
    public init() {}
}

/// `type: mqtt`.
public struct MQTTSinkConfig: Sendable, Hashable {
    /// `broker` (required).
    public var broker: String
    /// `topic` (required): a template with `{field}` placeholders, e.g. `agg/{pipeline}/{key}`.
    public var topic: String
    /// `qos`: 0, 1 (default) or 2.
    public var qos = 1
    /// `retain`, default false.
    public var retain = false
    /// `max_inflight`, default 64: publishes awaiting acknowledgement.
    public var maxInflight = 64

    public init(broker: String, topic: String) {
        self.broker = broker
        self.topic = topic
    }
}

/// `type: file`.
public struct FileSinkConfig: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable {
        case jsonl, csv
    }
    /// `path` (required): may contain `{pipeline}`, `{sink}` and `{date}` (UTC `YYYY-MM-DD`).
    public var path: String
    /// `format`: `jsonl` (default) or `csv`.
    public var format: Format = .jsonl
    /// `rotate.max_bytes`.
    public var rotateBytes: ByteSize?
    /// `rotate.interval`.
    public var rotateInterval: Duration?
    /// `fsync`, default `every` (each written batch).
    public var fsync: FsyncConfig = .every

    public init(path: String) { self.path = path }
}

/// `type: http`.
public struct HTTPSinkConfig: Sendable, Hashable {
    /// `url` (required): `http://` or `https://`.
    public var url: String
    /// `headers`: extra request headers, in file order.
    public var headers: [HTTPHeader] = []
    /// `bearer_token` or `bearer_token_file`: sent as `Authorization: Bearer …`.
    public var bearerToken: Secret?
    /// `batch.max_records`, default 100.
    public var batchMaxRecords = 100
    /// `batch.max_wait`, default 1 s.
    public var batchMaxWait: Duration = .seconds(1)
    /// `timeout`, default 10 s per request.
    public var timeout: Duration = .seconds(10)
    /// `retry.initial`, default 500 ms.
    public var retryInitial: Duration = .milliseconds(500)
    /// `retry.max`, default 60 s.
    public var retryMax: Duration = .seconds(60)
    /// `retry.max_attempts`, default unlimited (`nil`): the backlog holds what is not delivered.
    public var retryMaxAttempts: Int?
    /// Certificates for `https://` URLs: `caFile` to trust (else the system's trust store),
    /// `certFile`/`keyFile` for mutual TLS, `verifyPeer`.
    public var tls: TLSConfig?

    public init(url: String) { self.url = url }
}

public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// `type: console`.
public struct ConsoleSinkConfig: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable {
        case json, text
    }
    /// `format`: `text` (default, one readable line per result) or `json`.
    public var format: Format = .text
    public init() {}
}
