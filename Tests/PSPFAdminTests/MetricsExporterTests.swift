import Testing

@testable import PSPFAdmin

@Suite struct MetricsExporterTests {
    @Test func samplesEveryFamily() throws {
        let exporter = MetricsExporter()
        let text = try PrometheusText(
            exporter.scrape(Fixture.status(), readiness: Readiness(ready: false, reasons: ["x"])))
        #expect(text["pspf_ingest_messages_total", ["source": "sensors"]] == 1200)
        #expect(text["pspf_ingest_bytes_total", ["source": "sensors"]] == 96_000)
        #expect(text["pspf_ingest_appended_total", ["source": "sensors"]] == 1190)
        #expect(text["pspf_ingest_duplicates_total", ["source": "sensors"]] == 7)
        #expect(text["pspf_ingest_dead_letters_total", ["source": "sensors"]] == 3)
        #expect(text["pspf_ingest_rejected_batches_total", ["source": "sensors"]] == 1)
        #expect(text["pspf_source_connected", ["source": "sensors", "broker": "local"]] == 1)
        #expect(text["pspf_source_paused", ["source": "sensors"]] == 0)
        #expect(text["pspf_log_end_offset", ["topic": "sensors", "partition": "1"]] == 590)
        #expect(text["pspf_log_size_bytes", ["topic": "sensors", "partition": "0"]] == 50_000)
        #expect(text["pspf_records_processed_total", ["pipeline": "temp-stats"]] == 1150)
        #expect(text["pspf_results_emitted_total", ["pipeline": "temp-stats"]] == 40)
        #expect(text["pspf_windows_open", ["pipeline": "temp-stats"]] == 12)
        #expect(text["pspf_windows_emitted_total", ["pipeline": "temp-stats"]] == 40)
        #expect(text["pspf_late_records_total", ["pipeline": "temp-stats"]] == 5)
        #expect(text["pspf_filtered_records_total", ["pipeline": "temp-stats"]] == 2)
        #expect(text["pspf_dead_letters_total", ["pipeline": "temp-stats", "reason": "schema_violation"]] == 4)
        #expect(text["pspf_dead_letters_total", ["pipeline": "temp-stats", "reason": "late"]] == 5)
        #expect(text["pspf_consumer_lag_records", ["pipeline": "temp-stats", "partition": "0"]] == 30)
        #expect(text["pspf_checkpoints_total", ["pipeline": "temp-stats"]] == 99)
        #expect(text["pspf_checkpoint_failures_total", ["pipeline": "temp-stats"]] == 1)
        #expect(text["pspf_checkpoint_last_duration_seconds", ["pipeline": "temp-stats"]] == 0.0035)
        #expect(text["pspf_checkpoint_last_size_bytes", ["pipeline": "temp-stats"]] == 8192)
        #expect(text["pspf_checkpoint_age_seconds", ["pipeline": "temp-stats"]] == 0.5)
        let cloud = ["sink": "cloud", "pipeline": "temp-stats", "type": "http"]
        #expect(text["pspf_sink_delivered_total", cloud] == 30)
        #expect(text["pspf_sink_in_flight", cloud] == 2)
        #expect(text["pspf_sink_backlog_records", cloud] == 8)
        #expect(text["pspf_sink_retries_total", cloud] == 6)
        #expect(text["pspf_sink_failures_total", cloud] == 1)
        #expect(text["pspf_sink_dropped_total", cloud] == 0)
        #expect(text["pspf_sink_failing", cloud] == 1)
        #expect(text["pspf_sink_failing_seconds", cloud] == 20)
        #expect(text["pspf_sink_failing", ["sink": "console", "pipeline": "temp-stats", "type": "console"]] == 0)
        #expect(text["pspf_process_resident_memory_bytes"] == 50_331_648)
        #expect(text["pspf_process_cpu_seconds_total"] == 12.5)
        #expect(text["pspf_process_open_fds"] == 31)
        #expect(text["pspf_uptime_seconds"] == 100)
        #expect(text["pspf_start_time_seconds"] == 1_700_000_000)
        #expect(text["pspf_build_info", ["version": "1.2.3"]] == 1)
        #expect(text["pspf_ready"] == 0)
        #expect(text["pspf_stopping"] == 0)
        #expect(text.types["pspf_ingest_messages_total"] == "counter")
        #expect(text.types["pspf_process_cpu_seconds_total"] == "counter")
        #expect(text.types["pspf_sink_backlog_records"] == "gauge")
    }

    @Test func countersAdvanceByTheDifferenceAndSurviveAReset() throws {
        let exporter = MetricsExporter()
        var status = Fixture.status()
        _ = exporter.scrape(status)
        status.sources[0].messagesReceived = 1500
        status.process.cpuSeconds = 13.75
        var text = try PrometheusText(exporter.scrape(status))
        #expect(text["pspf_ingest_messages_total", ["source": "sensors"]] == 1500)
        #expect(text["pspf_process_cpu_seconds_total"] == 13.75)
        // The ingest component was re-created and counts from zero: 1500 seen, then 20 new ones.
        status.sources[0].messagesReceived = 20
        text = try PrometheusText(exporter.scrape(status))
        #expect(text["pspf_ingest_messages_total", ["source": "sensors"]] == 1520)
        status.sources[0].messagesReceived = 25
        text = try PrometheusText(exporter.scrape(status))
        #expect(text["pspf_ingest_messages_total", ["source": "sensors"]] == 1525)
        // Unchanged totals leave counters alone; gauges follow the value down.
        status.pipelines[0].windowsOpen = 3
        text = try PrometheusText(exporter.scrape(status))
        #expect(text["pspf_ingest_messages_total", ["source": "sensors"]] == 1525)
        #expect(text["pspf_windows_open", ["pipeline": "temp-stats"]] == 3)
    }

    @Test func aDeadLetterReasonSeenLaterStartsAtItsTotal() throws {
        let exporter = MetricsExporter()
        var status = Fixture.status()
        _ = exporter.scrape(status)
        status.pipelines[0].deadLetters["malformed_json"] = 2
        let text = try PrometheusText(exporter.scrape(status))
        #expect(text.series(named: "pspf_dead_letters_total").count == 3)
        #expect(text["pspf_dead_letters_total", ["pipeline": "temp-stats", "reason": "malformed_json"]] == 2)
    }

    @Test func gaugesThatVanishAreRemoved() throws {
        let exporter = MetricsExporter()
        var status = Fixture.status()
        _ = exporter.scrape(status)
        status.pipelines[0].checkpoint.lastCompletedAtMilliseconds = nil
        status.pipelines[0].lag.removeLast()
        let text = try PrometheusText(exporter.scrape(status))
        #expect(text["pspf_checkpoint_age_seconds", ["pipeline": "temp-stats"]] == nil)
        #expect(text.series(named: "pspf_consumer_lag_records").count == 1)
        #expect(text["pspf_checkpoints_total", ["pipeline": "temp-stats"]] == 99)
    }

    /// Two exporters in one process keep separate registries (no global bootstrap).
    @Test func exportersAreIndependent() throws {
        let a = MetricsExporter()
        let b = MetricsExporter()
        var status = Fixture.status()
        _ = a.scrape(status)
        status.sources[0].messagesReceived = 5
        let text = try PrometheusText(b.scrape(status))
        #expect(text["pspf_ingest_messages_total", ["source": "sensors"]] == 5)
    }
}
