import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// Turns ``DaemonStatus`` samples into Prometheus metrics (text format 0.0.4) at scrape time.
///
/// The metrics are swift-metrics `Counter`/`FloatingPointCounter`/`Gauge` values made by a
/// `PrometheusMetricsFactory` over a registry this exporter owns: nothing is bootstrapped
/// globally, so several servers (tests) can live in one process. The daemon's components keep
/// plain counters; the status carries their totals, and each scrape advances a Prometheus
/// counter by the difference to the previous scrape. A total that went down (a component was
/// re-created and counts from zero again) is taken as a reset: the counter advances by the new
/// total, so counters never go backwards and `rate()` stays right. Gauges whose series vanished
/// from the status (a checkpoint age before the first checkpoint, a removed partition) are
/// unregistered. Every metric is documented in docs/observability.md.
///
/// ```swift
/// let exporter = MetricsExporter()
/// let text = exporter.scrape(await provider.currentStatus())
/// // pspf_ingest_messages_total{source="sensors"} 1200
/// ```
public final class MetricsExporter: Sendable {
    /// The registry the metrics live in; render it with ``render()``.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory over ``registry``, for metrics the daemon wants to add itself.
    public let factory: PrometheusMetricsFactory
    private let state = Mutex(State())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Records `status` and renders the registry, atomically with respect to other scrapes
    /// (two concurrent scrapes must not both advance a counter by the same difference).
    public func scrape(_ status: DaemonStatus, readiness: Readiness? = nil) -> String {
        state.withLock { state in
            record(status, readiness: readiness, into: &state)
            return registry.emitToString()
        }
    }

    /// Records `status` without rendering.
    public func record(_ status: DaemonStatus, readiness: Readiness? = nil) {
        state.withLock { state in record(status, readiness: readiness, into: &state) }
    }

    /// The registry in Prometheus text format.
    public func render() -> String { registry.emitToString() }

    /// The content type of ``render()``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    // MARK: - Sampling

    private func record(_ status: DaemonStatus, readiness: Readiness?, into state: inout State) {
        var sample = Sample(factory: factory, state: state)
        defer { state = sample.finish() }
        let now = status.takenAtMilliseconds

        sample.gauge("pspf_build_info", ["version": status.version], 1)
        sample.gauge("pspf_start_time_seconds", [:], Double(status.startedAtMilliseconds) / 1000)
        sample.gauge("pspf_uptime_seconds", [:], Double(max(now - status.startedAtMilliseconds, 0)) / 1000)
        sample.gauge("pspf_stopping", [:], status.stopping ? 1 : 0)
        if let readiness { sample.gauge("pspf_ready", [:], readiness.ready ? 1 : 0) }

        for source in status.sources {
            let labels: Labels = ["source": source.name]
            sample.counter("pspf_ingest_messages_total", labels, source.messagesReceived)
            sample.counter("pspf_ingest_bytes_total", labels, source.bytesReceived)
            sample.counter("pspf_ingest_appended_total", labels, source.appended)
            sample.counter("pspf_ingest_duplicates_total", labels, source.duplicates)
            sample.counter("pspf_ingest_dead_letters_total", labels, source.deadLettered)
            sample.counter("pspf_ingest_rejected_batches_total", labels, source.rejected)
            sample.gauge(
                "pspf_source_connected", ["source": source.name, "broker": source.broker], source.connected ? 1 : 0)
            sample.gauge("pspf_source_paused", labels, source.paused ? 1 : 0)
            for partition in source.partitions {
                let labels: Labels = ["topic": partition.topic, "partition": String(partition.partition)]
                sample.gauge("pspf_log_end_offset", labels, Double(partition.endOffset))
                sample.gauge("pspf_log_size_bytes", labels, Double(partition.sizeBytes))
            }
        }

        for pipeline in status.pipelines {
            let labels: Labels = ["pipeline": pipeline.name]
            sample.counter("pspf_records_processed_total", labels, pipeline.recordsProcessed)
            sample.counter("pspf_results_emitted_total", labels, pipeline.resultsEmitted)
            sample.gauge("pspf_windows_open", labels, Double(pipeline.windowsOpen))
            sample.counter("pspf_windows_emitted_total", labels, pipeline.windowsEmitted)
            sample.counter("pspf_late_records_total", labels, pipeline.late)
            sample.counter("pspf_filtered_records_total", labels, pipeline.filtered)
            // Sorted: dictionary order is seeded per process, and registration order shows in the output.
            for (reason, count) in pipeline.deadLetters.sorted(by: { $0.key < $1.key }) {
                sample.counter("pspf_dead_letters_total", ["pipeline": pipeline.name, "reason": reason], count)
            }
            for lag in pipeline.lag {
                sample.gauge(
                    "pspf_consumer_lag_records", ["pipeline": pipeline.name, "partition": String(lag.partition)],
                    Double(lag.records))
            }
            let checkpoint = pipeline.checkpoint
            sample.counter("pspf_checkpoints_total", labels, checkpoint.count)
            sample.counter("pspf_checkpoint_failures_total", labels, checkpoint.failures)
            if let duration = checkpoint.lastDurationMilliseconds {
                sample.gauge("pspf_checkpoint_last_duration_seconds", labels, duration / 1000)
            }
            if let size = checkpoint.lastSizeBytes {
                sample.gauge("pspf_checkpoint_last_size_bytes", labels, Double(size))
            }
            if let completed = checkpoint.lastCompletedAtMilliseconds {
                sample.gauge("pspf_checkpoint_age_seconds", labels, Double(max(now - completed, 0)) / 1000)
            }
        }

        for sink in status.sinks {
            let labels: Labels = ["sink": sink.name, "pipeline": sink.pipeline, "type": sink.type]
            sample.counter("pspf_sink_delivered_total", labels, sink.delivered)
            sample.gauge("pspf_sink_in_flight", labels, Double(sink.inFlight))
            sample.gauge("pspf_sink_backlog_records", labels, Double(sink.backlog))
            sample.counter("pspf_sink_retries_total", labels, sink.retries)
            sample.counter("pspf_sink_failures_total", labels, sink.failures)
            sample.counter("pspf_sink_dropped_total", labels, sink.dropped)
            sample.gauge("pspf_sink_failing", labels, sink.failingSinceMilliseconds == nil ? 0 : 1)
            let failingFor = sink.failingSinceMilliseconds.map { max(now - $0, 0) } ?? 0
            sample.gauge("pspf_sink_failing_seconds", labels, Double(failingFor) / 1000)
        }

        sample.gauge("pspf_process_resident_memory_bytes", [:], Double(status.process.residentBytes))
        sample.counter("pspf_process_cpu_seconds_total", [:], status.process.cpuSeconds)
        sample.gauge("pspf_process_open_fds", [:], Double(status.process.openFiles))
    }
}

extension MetricsExporter {
    /// Label pairs in the order they were written (the order is part of a series' identity in the registry).
    typealias Labels = KeyValuePairs<String, String>

    /// One series: a metric name and its label pairs.
    struct SeriesKey: Hashable {
        var name: String
        var labels: [String]

        init(_ name: String, _ labels: Labels) {
            self.name = name
            self.labels = labels.flatMap { [$0.key, $0.value] }
        }
    }

    /// A counter and the total it last reported.
    enum CounterSeries {
        case integer(CoreMetrics.Counter, last: Int64)
        case floating(CoreMetrics.FloatingPointCounter, last: Double)
    }

    struct State {
        var counters: [SeriesKey: CounterSeries] = [:]
        var gauges: [SeriesKey: CoreMetrics.Gauge] = [:]
    }

    /// One pass over a status: advances counters, sets gauges and, at the end, drops the
    /// gauges the status no longer has.
    struct Sample {
        let factory: PrometheusMetricsFactory
        var state: State
        var seenGauges: Set<SeriesKey> = []

        init(factory: PrometheusMetricsFactory, state: State) {
            self.factory = factory
            self.state = state
        }

        mutating func counter(_ name: String, _ labels: Labels, _ total: Int64) {
            let key = SeriesKey(name, labels)
            switch state.counters[key] {
            case .integer(let counter, let last):
                let delta = total >= last ? total - last : total  // went down: a reset, count from zero
                if delta > 0 { counter.increment(by: delta) }
                state.counters[key] = .integer(counter, last: total)
            default:
                let counter = CoreMetrics.Counter(label: name, dimensions: Self.dimensions(labels), factory: factory)
                if total > 0 { counter.increment(by: total) }
                state.counters[key] = .integer(counter, last: total)
            }
        }

        mutating func counter(_ name: String, _ labels: Labels, _ total: Double) {
            let key = SeriesKey(name, labels)
            switch state.counters[key] {
            case .floating(let counter, let last):
                let delta = total >= last ? total - last : total
                if delta > 0 { counter.increment(by: delta) }
                state.counters[key] = .floating(counter, last: total)
            default:
                let counter = CoreMetrics.FloatingPointCounter(
                    label: name, dimensions: Self.dimensions(labels), factory: factory)
                if total > 0 { counter.increment(by: total) }
                state.counters[key] = .floating(counter, last: total)
            }
        }

        mutating func gauge(_ name: String, _ labels: Labels, _ value: Double) {
            let key = SeriesKey(name, labels)
            seenGauges.insert(key)
            if let gauge = state.gauges[key] {
                gauge.record(value)
            } else {
                let gauge = CoreMetrics.Gauge(label: name, dimensions: Self.dimensions(labels), factory: factory)
                gauge.record(value)
                state.gauges[key] = gauge
            }
        }

        consuming func finish() -> State {
            for (key, gauge) in state.gauges where !seenGauges.contains(key) {
                gauge.destroy()
                state.gauges[key] = nil
            }
            return state
        }

        static func dimensions(_ labels: Labels) -> [(String, String)] {
            labels.map { ($0.key, $0.value) }
        }
    }
}
