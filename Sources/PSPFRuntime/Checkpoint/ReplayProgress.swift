import Logging
import Synchronization

/// Logs the progress of a long replay (recovery or rebuild): one line per 10 % of the backlog
/// that was in the input log when the run started, with records and percent done.
///
/// Partition tasks call ``add(_:)`` once per batch (an atomic add; the log line is written by
/// whichever task crosses the next step).
final class ReplayProgress: Sendable {
    let total: Int64
    private let done = Atomic<Int64>(0)
    private let nextStep = Atomic<Int64>(1)
    private let logger: Logger
    private let label: String
    private let started = ContinuousClock.now

    /// Nil when the backlog is below `threshold` records (short replays are not worth a log line).
    init?(total: Int64, threshold: Int64, label: String, logger: Logger) {
        guard total > 0, total >= threshold else { return nil }
        self.total = total
        self.logger = logger
        self.label = label
        logger.info("\(label): replaying \(total) records", metadata: ["records": "\(total)"])
    }

    func add(_ records: Int) {
        guard records > 0 else { return }
        let now = done.wrappingAdd(Int64(records), ordering: .relaxed).newValue
        while true {
            let step = nextStep.load(ordering: .relaxed)
            guard step <= 10, now * 10 >= total * step else { return }
            guard nextStep.compareExchange(expected: step, desired: step + 1, ordering: .relaxed).exchanged else {
                continue
            }
            let elapsed = (ContinuousClock.now - started).milliseconds
            logger.info(
                "\(label): \(step * 10)% (\(min(now, total))/\(total) records, \(Int(elapsed)) ms)",
                metadata: ["records": "\(min(now, total))", "total": "\(total)", "percent": "\(step * 10)"])
        }
    }
}
