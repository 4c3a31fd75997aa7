import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Test-only crash points. Inert unless the process was started with the environment variable
/// `PSPF_CRASH_AT` set, e.g. `PSPF_CRASH_AT=checkpoint.commit:3`: then the process sends itself
/// `SIGKILL` the 3rd time it passes the point named `checkpoint.commit`. Several points may be
/// armed at once (`output.append:40,checkpoint.commit:9`); the first one reached kills.
///
/// The crash tests run the real `pspf process` binary with these to crash it at exact places
/// (inside a checkpoint commit, during an output append, during recovery, …). When the variable
/// is unset, ``hit(_:)`` costs one load of a constant flag.
///
/// | point | where |
/// | --- | --- |
/// | `input.batch` | a partition task has processed a batch of input, before handing its results over |
/// | `barrier` | a partition task has snapshotted its state for a checkpoint, before sending the barrier |
/// | `output.append` | an append to the output log is under way (queued for the log's writer thread, not yet written) |
/// | `output.sync` | the output logs were fsync'd for a checkpoint, before the commit starts |
/// | `checkpoint.commit` | inside the SQLite transaction: every row of the checkpoint written, `COMMIT` not yet run |
/// | `checkpoint.committed` | the commit returned, before the input consumer group is updated |
/// | `recovery.truncate` | recovery truncated one output log partition (the others may not be yet) |
public enum FaultPoints {
    /// The environment variable that arms fault points.
    public static let environmentVariable = "PSPF_CRASH_AT"

    /// Every point the runtime passes, for documentation and test generators.
    public static let names = [
        "input.batch", "barrier", "output.append", "output.sync", "checkpoint.commit", "checkpoint.committed",
        "recovery.truncate",
    ]

    /// True when `PSPF_CRASH_AT` armed at least one point in this process.
    public static var isEnabled: Bool { armed != nil }

    /// Counts a pass of `name` and kills the process with SIGKILL on the armed pass.
    @inline(__always)
    public static func hit(_ name: StaticString) {
        guard let armed else { return }
        hitSlowPath(name.description, armed)
    }

    private static func hitSlowPath(_ name: String, _ armed: [String: Int]) {
        guard let target = armed[name] else { return }
        let count = counters.withLock { counters in
            counters[name, default: 0] += 1
            return counters[name]!
        }
        if count == target {
            let message = "pspf: fault point \(name) reached (pass \(count)): SIGKILL\n"
            message.utf8CString.withUnsafeBufferPointer { buffer in
                _ = write(2, buffer.baseAddress, buffer.count - 1)
            }
            kill(getpid(), SIGKILL)
        }
    }

    /// Parses `name:N[,name:N…]`; nil when unset or empty.
    static func parse(_ text: String?) -> [String: Int]? {
        guard let text, !text.isEmpty else { return nil }
        var points: [String: Int] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 2, let count = Int(parts[1]), count > 0 else { continue }
            points[String(parts[0])] = count
        }
        return points.isEmpty ? nil : points
    }

    private static let armed: [String: Int]? = parse(getenv(environmentVariable).map { String(cString: $0) })
    private static let counters = Mutex<[String: Int]>([:])
}
