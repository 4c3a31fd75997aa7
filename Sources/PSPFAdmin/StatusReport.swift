/// The one-screen summary `pspf status` prints, rendered from one or two statuses (two give
/// rates). Pure, so it is tested line by line with fixed statuses.
///
/// ```swift
/// let first = try await client.status()
/// try await Task.sleep(for: .seconds(1))
/// let second = try await client.status()
/// print(StatusReport.render(previous: first, current: second))
/// // pspf 1.0.0  up 2h 03m 04s  ready
/// // process  RSS 48.0 MiB  CPU 12.50 s  open files 31
/// // …
/// ```
public enum StatusReport {
    /// The summary of `current`; with `previous` (an earlier status of the same daemon) the
    /// message rates are the differences over the time between them, otherwise `-`.
    public static func render(
        previous: DaemonStatus?, current: DaemonStatus, policy: ReadinessPolicy = ReadinessPolicy()
    ) -> String {
        let now = current.takenAtMilliseconds
        var lines: [String] = []
        let readiness = Readiness(judging: current, policy: policy)
        lines.append(
            "pspf \(current.version)  up \(uptime(now - current.startedAtMilliseconds))  "
                + (readiness.ready ? "ready" : "NOT READY"))
        for reason in readiness.reasons { lines.append("  - \(reason)") }
        let process = current.process
        lines.append(
            "process  RSS \(bytes(process.residentBytes))  CPU \(decimal(process.cpuSeconds, places: 2)) s  "
                + "open files \(process.openFiles)")

        if !current.sources.isEmpty {
            var table = TextTable([
                ("SOURCE", .left), ("BROKER", .left), ("CONNECTED", .left), ("MSG/S", .right), ("RECEIVED", .right),
                ("DUPLICATES", .right), ("DEAD LETTERS", .right), ("REJECTED", .right),
            ])
            for source in current.sources {
                let before = previous?.sources.first { $0.name == source.name }
                let rate = perSecond(
                    source.messagesReceived, before?.messagesReceived,
                    overMilliseconds: now - (previous?.takenAtMilliseconds ?? now))
                table.append([
                    source.name, source.broker, source.connected ? (source.paused ? "yes (paused)" : "yes") : "NO",
                    rate, "\(source.messagesReceived)", "\(source.duplicates)", "\(source.deadLettered)",
                    "\(source.rejected)",
                ])
            }
            lines.append("")
            lines += table.lines
        }

        if !current.pipelines.isEmpty {
            var table = TextTable([
                ("PIPELINE", .left), ("RECORDS", .right), ("RESULTS", .right), ("LAG", .right), ("LATE", .right),
                ("DEAD LETTERS", .right), ("LAST CHECKPOINT", .left),
            ])
            for pipeline in current.pipelines {
                let checkpoint = pipeline.checkpoint
                var last = "none yet"
                if let completed = checkpoint.lastCompletedAtMilliseconds {
                    last = "\(Readiness.seconds(now - completed)) ago"
                    if let duration = checkpoint.lastDurationMilliseconds {
                        last += ", took \(decimal(duration, places: 1)) ms"
                    }
                }
                if checkpoint.failures > 0 { last += ", \(checkpoint.failures) failed" }
                table.append([
                    pipeline.name, "\(pipeline.recordsProcessed)", "\(pipeline.resultsEmitted)",
                    "\(pipeline.lag.reduce(0) { $0 + $1.records })", "\(pipeline.late)",
                    "\(pipeline.deadLetters.values.reduce(0, +))", last,
                ])
            }
            lines.append("")
            lines += table.lines
        }

        if !current.sinks.isEmpty {
            var table = TextTable([
                ("SINK", .left), ("TYPE", .left), ("PIPELINE", .left), ("DELIVERED", .right), ("BACKLOG", .right),
                ("RETRIES", .right), ("FAILURES", .right), ("DROPPED", .right), ("STATE", .left),
            ])
            for sink in current.sinks {
                var state = "ok"
                if let since = sink.failingSinceMilliseconds {
                    state = "failing for \(Readiness.seconds(now - since))"
                    if let error = sink.lastError { state += ": \(error)" }
                }
                table.append([
                    sink.name, sink.type, sink.pipeline, "\(sink.delivered)", "\(sink.backlog)", "\(sink.retries)",
                    "\(sink.failures)", "\(sink.dropped)", state,
                ])
            }
            lines.append("")
            lines += table.lines
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `2d 03h 04m`, `1h 02m 03s`, `4m 05s`, `12s`.
    static func uptime(_ milliseconds: Int64) -> String {
        let total = max(milliseconds, 0) / 1000
        let (days, hours, minutes, seconds) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if days > 0 { return "\(days)d \(two(hours))h \(two(minutes))m" }
        if hours > 0 { return "\(hours)h \(two(minutes))m \(two(seconds))s" }
        if minutes > 0 { return "\(minutes)m \(two(seconds))s" }
        return "\(seconds)s"
    }

    /// `512 B`, `1.5 KiB`, `48.0 MiB`, `2.0 GiB`.
    static func bytes(_ count: Int64) -> String {
        let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024)]
        for (name, size) in units where Double(count) >= size {
            return "\(decimal(Double(count) / size, places: 1)) \(name)"
        }
        return "\(count) B"
    }

    /// A rate per second between two totals, `-` without an earlier total, time, or after a reset.
    static func perSecond(_ total: Int64, _ before: Int64?, overMilliseconds elapsed: Int64) -> String {
        guard let before, elapsed > 0, total >= before else { return "-" }
        return decimal(Double(total - before) * 1000 / Double(elapsed), places: 1)
    }

    /// Fixed decimal places, rounded half away from zero (no Foundation formatting, same text everywhere).
    static func decimal(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((value.magnitude * Double(scale)).rounded(.toNearestOrAwayFromZero))
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard places > 0 else { return sign + "\(scaled)" }
        let fraction = String(scaled % scale)
        return sign + "\(scaled / scale)." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}
