import Foundation
import Logging
import PSPFAdmin
import PSPFConfig
import PSPFConnectors
import PSPFCore
import PSPFLog
import PSPFMQTT
import PSPFRuntime
import PSPFStorage
import ServiceLifecycle
import Synchronization

/// `pspf run`: everything one configuration file declares, as one ServiceLifecycle group.
///
/// ```
/// MQTT ─▶ IngestService ─▶ log/input.<source> ─▶ PipelineService ─▶ log/results.<pipeline>
///                                                 (window state, checkpoints in state/<p>.db)
///         log/results.<pipeline> ─▶ ForwarderService (one per sink) ─▶ MQTT / file / HTTP / console
/// ```
///
/// SIGTERM or SIGINT starts a graceful shutdown that stops the services in reverse order of
/// their dependencies: ingest first (nothing new is acknowledged), then the pipelines (the batch
/// in hand, then a final checkpoint), then the forwarders (deliver what is left, bounded), then
/// the sink connections and the admin server. `shutdown.drain_timeout` bounds the whole drain.
///
/// ```swift
/// let configuration = try ConfigLoader.load(file: "/etc/pspf/pspf.yaml")
/// try await Daemon(configuration: configuration, logger: logger).run()
/// ```
public final class Daemon: StatusProvider, Sendable {
    public let configuration: PSPFConfiguration
    public let layout: DataLayout
    private let logger: Logger
    private let consoleWrite: @Sendable (String) -> Void
    private let handleSignals: Bool
    private let started = Mutex<Running?>(nil)
    private let startedAtMilliseconds = SystemClock().now().milliseconds
    private let stopping = Atomic<Bool>(false)
    /// Callers of ``waitUntilStarted()``, and whether ``run()`` got past assembling (or failed at it).
    private let whenStarted = Mutex<(settled: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Extra services run in the group (the admin server), built once the daemon is assembled.
    public typealias ServiceFactory = @Sendable (Daemon) throws -> [any Service]

    private let extraServices: ServiceFactory?
    private let serveAdmin: Bool
    private let onAdminRunning: @Sendable (_ port: Int) async -> Void

    /// - Parameters:
    ///   - consoleWrite: where console sinks write (standard output by default).
    ///   - handleSignals: stop gracefully on SIGTERM/SIGINT (off in tests, which call ``shutdown()``).
    ///   - serveAdmin: run the admin server the configuration's `admin` section describes
    ///     (`pspf run` does; off by default so embedding code and tests choose their ports).
    ///   - onAdminRunning: called with the admin server's bound port.
    ///   - extraServices: further services, stopped after everything else (like the admin
    ///     server, they stay up while the daemon drains).
    public init(
        configuration: PSPFConfiguration, logger: Logger, consoleWrite: @escaping @Sendable (String) -> Void = { print($0) },
        handleSignals: Bool = true, serveAdmin: Bool = false,
        onAdminRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in },
        extraServices: ServiceFactory? = nil
    ) {
        self.serveAdmin = serveAdmin
        self.onAdminRunning = onAdminRunning
        self.configuration = configuration
        self.layout = DataLayout(root: configuration.dataDirectory)
        self.logger = logger
        self.consoleWrite = consoleWrite
        self.handleSignals = handleSignals
        self.extraServices = extraServices
    }

    /// What is running, once ``run()`` has assembled it.
    struct Running: Sendable {
        let group: ServiceGroup
        let log: PartitionedLog
        let ingests: [IngestService]
        let pipelines: [PipelineService]
        let forwarders: [ForwarderService]
        let stores: [SQLiteCheckpointStore]
    }

    /// Opens the logs and state, recovers every pipeline, and runs until a graceful shutdown
    /// (signal or ``shutdown()``) has completed. Throws the first service failure.
    public func run() async throws {
        let running: Running
        do {
            running = try assemble()
        } catch {
            // Release the waiters of a start that failed (they would otherwise wait forever);
            // ``currentStatus()`` then shows nothing running.
            settleStart()
            throw error
        }
        started.withLock { $0 = running }
        settleStart()
        logger.info(
            "pspf running",
            metadata: [
                "config": "\(configuration.file)", "data_dir": "\(layout.root)",
                "sources": "\(configuration.sources.map(\.name))", "pipelines": "\(configuration.pipelines.map(\.name))",
                "sinks": "\(configuration.sinks.map(\.name))",
            ])
        var failure: (any Error)?
        do {
            try await running.group.run()
        } catch {
            failure = error
        }
        for store in running.stores {
            do { try store.close() } catch { failure = failure ?? error }
        }
        do { try running.log.close() } catch { failure = failure ?? error }
        if let failure {
            logger.error("pspf stopped after a failure", metadata: ["error": "\(failure)"])
            throw failure
        }
        logger.info("pspf stopped")
    }

    /// Starts the graceful shutdown (what SIGTERM does).
    public func shutdown() async {
        stopping.store(true, ordering: .relaxed)
        let group = started.withLock { $0?.group }
        await group?.triggerGracefulShutdown()
    }

    /// Calls `observer` with (source, connected) whenever a source's broker connection changes.
    /// Call after ``waitUntilStarted()``.
    public func observeConnections(_ observer: @escaping @Sendable (_ source: String, _ connected: Bool) -> Void) {
        for ingest in started.withLock({ $0?.ingests ?? [] }) {
            let name = ingest.source.name
            ingest.observeConnection { connected in observer(name, connected) }
        }
    }

    /// Returns once ``run()`` has opened everything and started the services, or has failed
    /// to (then ``run()`` throws the reason).
    public func waitUntilStarted() async {
        await withCheckedContinuation { continuation in
            let now = whenStarted.withLock { state -> Bool in
                if state.settled { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func settleStart() {
        let waiters = whenStarted.withLock { state in
            defer { state = (true, []) }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: assembly

    private func assemble() throws -> Running {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: layout.logDirectory, withIntermediateDirectories: true)
        try fileManager.createDirectory(atPath: layout.stateDirectory, withIntermediateDirectories: true)
        let log = try PartitionedLog(directory: layout.logDirectory, logger: logger)
        var stores: [SQLiteCheckpointStore] = []
        do {
            let built = try PipelineBuilder(configuration: configuration).buildAll()

            var ingests: [IngestService] = []
            var inputs: [String: LogTopic] = [:]
            for source in configuration.sources {
                let broker = configuration.broker(named: source.broker)!  // validated
                let input = try log.topic(DataLayout.inputTopic(source: source.name), config: source.topicConfiguration)
                let deadLetters = try log.topic(
                    DataLayout.ingestDeadLetters(source: source.name), config: deadLetterTopicConfiguration)
                inputs[source.name] = input
                let sharesBroker = configuration.sources.filter { $0.broker == source.broker }.count > 1
                ingests.append(
                    IngestService(
                        source: source, client: broker.clientConfiguration(clientIDSuffix: sharesBroker ? source.name : nil),
                        input: input, deadLetters: deadLetters, logger: logger))
            }

            var connections: [String: MQTTSinkConnection] = [:]
            for sink in configuration.sinks {
                guard case .mqtt(let mqtt) = sink.kind, connections[mqtt.broker] == nil else { continue }
                let broker = configuration.broker(named: mqtt.broker)!
                var client = broker.clientConfiguration(clientIDSuffix: "out")
                client.cleanSession = true
                client.status = nil
                client.maxInflightPublishes = max(256, configuration.sinks.map(Self.maxInflight).max() ?? 0)
                connections[mqtt.broker] = MQTTSinkConnection(broker: mqtt.broker, configuration: client, logger: logger)
            }
            let factory = SinkFactory(
                configuration: configuration, logger: logger, mqttClients: connections, consoleWrite: consoleWrite)

            var pipelines: [PipelineService] = []
            var forwarders: [ForwarderService] = []
            for pipeline in built {
                let config = pipeline.config
                let output = try log.topic(
                    DataLayout.resultsTopic(pipeline: config.name),
                    config: TopicConfig(partitions: 1, fsync: .none, retention: Retention(maxAge: .seconds(86_400))))
                let deadLetters = try log.topic(
                    DataLayout.pipelineDeadLetters(pipeline: config.name), config: deadLetterTopicConfiguration)
                var storeConfiguration = SQLiteCheckpointStore.Configuration()
                storeConfiguration.options.beforeCommit = { FaultPoints.hit("checkpoint.commit") }
                let store = try SQLiteCheckpointStore(
                    path: layout.statePath(pipeline: config.name), configuration: storeConfiguration, logger: logger)
                stores.append(store)
                let gate = BackpressureGate()
                var options = RunnerOptions(
                    group: config.name, mode: .continuous, checkpointInterval: configuration.checkpoint.interval)
                options.lateToDeadLetters = config.late == .deadLetter
                options.stateDescription = pipeline.stateDescription
                var pipelineLogger = logger
                pipelineLogger[metadataKey: "pipeline"] = "\(config.name)"
                let runner = LocalRunner(
                    plan: pipeline.plan, input: inputs[config.source]!, output: output, deadLetters: deadLetters,
                    store: store, options: options, logger: pipelineLogger, gate: gate)
                pipelines.append(PipelineService(pipeline: config, runner: runner, logger: logger))

                for sinkName in config.sinks {
                    let sink = configuration.sink(named: sinkName)!
                    let sinkDeadLetters = try log.topic(
                        DataLayout.sinkDeadLetters(pipeline: config.name, sink: sinkName),
                        config: deadLetterTopicConfiguration)
                    var sinkLogger = logger
                    sinkLogger[metadataKey: "sink"] = "\(sinkName)"
                    var options = factory.forwarderOptions(sink)
                    if case .file = sink.kind {
                        // Exactly once: a file sink writes only checkpointed results, which no
                        // recovery can truncate and regenerate (its file position is stored with
                        // the delivered offset). Latency: up to one checkpoint interval.
                        options.readLimit = { [runner] partition in runner.checkpointedOutputEnds[partition] ?? 0 }
                    }
                    let forwarder = SinkForwarder(
                        sink: try factory.makeSink(sink, pipeline: config.name), output: output,
                        deadLetters: sinkDeadLetters, gate: gate, options: options, logger: sinkLogger)
                    forwarders.append(
                        ForwarderService(
                            forwarder: forwarder, sinkName: sinkName, pipeline: config.name, type: sink.kind.type,
                            drainLimit: min(.seconds(10), configuration.shutdown.drainTimeout / 2),
                            recovered: { await runner.waitUntilRecovered() }, logger: logger))
                }
            }

            let maintenance = MaintenanceService(
                topics: pipelines.flatMap { [$0.output, $0.deadLetters] }
                    + forwarders.compactMap { $0.forwarder.deadLetters } + ingests.map(\.deadLetters),
                logger: logger, onShutdown: { [weak self] in self?.stopping.store(true, ordering: .relaxed) })
            // Graceful shutdown runs from the last service to the first.
            var services: [any Service] = try extraServices?(self) ?? []
            if serveAdmin && configuration.admin.enabled {
                services.insert(adminServer(), at: 0)
            }
            services += Array(connections.values) as [any Service]
            services += forwarders as [any Service]
            services += pipelines as [any Service]
            services += ingests as [any Service]
            services.append(maintenance)
            var groupConfiguration = ServiceGroupConfiguration(
                services: services.map {
                    .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                logger: logger)
            groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdown.drainTimeout
            groupConfiguration.maximumCancellationDuration = .seconds(5)
            return Running(
                group: ServiceGroup(configuration: groupConfiguration), log: log, ingests: ingests,
                pipelines: pipelines, forwarders: forwarders, stores: stores)
        } catch {
            for store in stores { try? store.close() }
            try? log.close()
            throw error
        }
    }

    /// The admin HTTP server (`/metrics`, `/healthz`, `/readyz`, `/status`) over this daemon.
    private func adminServer() -> AdminServer {
        let admin = configuration.admin
        var adminLogger = logger
        adminLogger[metadataKey: "component"] = "admin"
        let announce = onAdminRunning
        let logger = self.logger
        return AdminServer(
            configuration: AdminServerConfiguration(host: admin.host, port: admin.port, token: admin.token?.reveal()),
            provider: self, logger: adminLogger,
            onServerRunning: { port in
                logger.info(
                    "admin server listening",
                    metadata: ["address": "\(admin.host):\(port)", "token": "\(admin.token == nil ? "none" : "required")"])
                await announce(port)
            })
    }

    private var deadLetterTopicConfiguration: TopicConfig {
        TopicConfig(
            partitions: 1, fsync: .none,
            retention: Retention(maxBytes: configuration.deadLetters.maxBytes?.bytes, maxAge: configuration.deadLetters.retention))
    }

    private static func maxInflight(_ sink: SinkConfig) -> Int {
        if case .mqtt(let mqtt) = sink.kind { return mqtt.maxInflight }
        return 0
    }

    // MARK: status

    public func currentStatus() async -> DaemonStatus {
        var status = DaemonStatus(
            version: PSPFVersion.current, startedAtMilliseconds: startedAtMilliseconds,
            takenAtMilliseconds: SystemClock().now().milliseconds,
            checkpointIntervalSeconds: configuration.checkpoint.interval.milliseconds / 1000,
            stopping: stopping.load(ordering: .relaxed))
        guard let running = started.withLock({ $0 }) else { return status }
        status.sources = running.ingests.map { $0.status() }
        status.pipelines = running.pipelines.map { $0.status() }
        status.sinks = running.forwarders.map { $0.status() }
        return status
    }
}
