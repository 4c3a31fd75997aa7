import Foundation
import PSPFStorage
import Testing

/// Checkpoint throughput figures for docs/storage.md. Off by default (tests never assert timing);
/// run in release mode with:
///
///     PSPF_STORAGE_BENCH=1 swift test -c release --filter StorageBenchmarks
///
/// `PSPF_STORAGE_BENCH_DIR` picks the directory for the database (default: the system temporary
/// directory; make sure it is a real disk, not tmpfs, or the fsync figures mean nothing), and
/// `PSPF_STORAGE_BENCH_VARIANT` runs only the variants whose name contains it.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PSPF_STORAGE_BENCH"] == "1"), .serialized)
struct StorageBenchmarks {
    static let activeKeys = 100_000
    static let valueSize = 64

    struct Variant: CustomTestStringConvertible, Sendable {
        var name: String
        var cacheSizeKiB: Int? = 16 * 1024
        var synchronous: SQLiteConnection.Synchronous = .full
        var deferredWALCheckpointPages: Int? = 1000
        var foreignKeys = true
        var testDescription: String { name }
    }

    static let variants = [
        Variant(name: "default: FULL, 16 MiB cache, WAL checkpoint deferred behind the commit"),
        Variant(name: "WAL checkpoint inside COMMIT (SQLite's autocheckpoint)", deferredWALCheckpointPages: nil),
        Variant(name: "SQLite's default 2000 KiB cache", cacheSizeKiB: nil),
        Variant(name: "synchronous=NORMAL (reference only; not durable)", synchronous: .normal),
        Variant(name: "foreign_keys=OFF", foreignKeys: false),
    ]

    private static func key(_ i: Int) -> StateKey {
        StateKey(
            pipeline: "temp-stats", partition: i % 4, operatorID: "window-agg",
            key: Array("device-\(String(i, radix: 10))".utf8),
            namespace: withUnsafeBytes(of: Int64(1_700_000_000_000).bigEndian) { Array($0) }
        )
    }

    private static func value(_ round: Int, _ i: Int) -> [UInt8] {
        var value = [UInt8](repeating: 0, count: valueSize)
        withUnsafeBytes(of: (round &* 31 &+ i)) { bytes in
            for (offset, byte) in bytes.enumerated() { value[offset] = byte }
        }
        return value
    }

    /// CPU time consumed so far by the database thread: robust against other processes competing
    /// for the CPUs, unlike wall-clock figures.
    private static func databaseThreadCPU(_ store: SQLiteCheckpointStore) throws -> Double {
        try store.database.sync { _ in
            var now = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
            return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1e6
        }
    }

    private static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    private static func ms(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    private static func summary(_ label: String, _ samples: [Double]) -> String {
        let sorted = samples.sorted()
        return String(
            format: "%@: n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms", label, sorted.count,
            percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.last ?? 0
        )
    }

    @Test(arguments: variants)
    func checkpointWithOneHundredThousandActiveKeys(variant: Variant) throws {
        if let only = ProcessInfo.processInfo.environment["PSPF_STORAGE_BENCH_VARIANT"], !variant.name.contains(only) {
            return
        }
        let base =
            ProcessInfo.processInfo.environment["PSPF_STORAGE_BENCH_DIR"]
            ?? FileManager.default.temporaryDirectory.path
        let dir = "\(base)/pspf-storage-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/state.db"

        var configuration = SQLiteCheckpointStore.Configuration()
        configuration.connection.cacheSizeKiB = variant.cacheSizeKiB
        configuration.connection.synchronous = variant.synchronous
        configuration.deferredWALCheckpointPages = variant.deferredWALCheckpointPages
        configuration.connection.foreignKeys = variant.foreignKeys
        let store = try SQLiteCheckpointStore(path: path, configuration: configuration)
        let keys = (0..<Self.activeKeys).map(Self.key)
        let clock = ContinuousClock()
        let loadBefore =
            (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first ?? "?"
        var lines = ["## \(variant.name)"]

        // The first checkpoint inserts every key.
        let initial = CheckpointDelta(
            stateUpserts: keys.enumerated().map { StateEntry(key: $1, value: Self.value(0, $0)) })
        var start = clock.now
        let first = try store.commit(initial)
        lines.append(
            String(
                format: "initial insert of %d keys: %.1f ms (apply %.1f, commit %.1f), %d payload bytes",
                keys.count, Self.ms(clock.now - start), Self.ms(first.applyDuration),
                Self.ms(first.commitDuration ?? .zero), first.bytesWritten))

        // Every key dirty.
        var all: [Double] = []
        var allApply: [Double] = []
        var allCommit: [Double] = []
        var allCPU: [Double] = []
        var idle: [Double] = []
        // Right after a commit: waits until the database thread is idle again, i.e. the deferred WAL
        // checkpoint has run (as it has between checkpoints a second apart), and records how long.
        func waitForIdle() throws {
            let start = clock.now
            try store.database.sync { _ in }
            idle.append(Self.ms(clock.now - start))
        }
        for round in 1...30 {
            let delta = CheckpointDelta(
                stateUpserts: keys.enumerated().map { StateEntry(key: $1, value: Self.value(round, $0)) },
                inputOffsets: (0..<4).map {
                    InputOffset(
                        pipeline: "temp-stats", topic: "sensors", partition: $0, nextOffset: Int64(round * 1000))
                },
                outputLogEnds: [OutputLogEnd(topic: "temp-stats-out", partition: 0, endOffset: Int64(round * 100))]
            )
            let cpu = try Self.databaseThreadCPU(store)
            start = clock.now
            let info = try store.commit(delta)
            all.append(Self.ms(clock.now - start))
            allApply.append(Self.ms(info.applyDuration))
            try waitForIdle()
            allCPU.append(try Self.databaseThreadCPU(store) - cpu)
            allCommit.append(Self.ms(info.commitDuration ?? .zero))
        }
        lines.append(Self.summary("100k dirty of 100k, whole commit() call", all))
        lines.append(Self.summary("100k dirty of 100k, apply part", allApply))
        lines.append(Self.summary("100k dirty of 100k, COMMIT (fsync) part", allCommit))
        lines.append(Self.summary("100k dirty of 100k, deferred WAL checkpoint after it", idle))
        lines.append(Self.summary("100k dirty of 100k, database-thread CPU time (commit + WAL checkpoint)", allCPU))
        idle.removeAll()

        // 10% dirty, a different random subset each time.
        var generator = SystemRandomNumberGenerator()
        var some: [Double] = []
        var someApply: [Double] = []
        var someCommit: [Double] = []
        var someCPU: [Double] = []
        for round in 31...230 {
            var indexes = Set<Int>()
            while indexes.count < 10_000 { indexes.insert(Int.random(in: 0..<keys.count, using: &generator)) }
            let delta = CheckpointDelta(
                stateUpserts: indexes.map { StateEntry(key: keys[$0], value: Self.value(round, $0)) },
                inputOffsets: (0..<4).map {
                    InputOffset(
                        pipeline: "temp-stats", topic: "sensors", partition: $0, nextOffset: Int64(round * 1000))
                },
                outputLogEnds: [OutputLogEnd(topic: "temp-stats-out", partition: 0, endOffset: Int64(round * 100))]
            )
            let cpu = try Self.databaseThreadCPU(store)
            start = clock.now
            let info = try store.commit(delta)
            some.append(Self.ms(clock.now - start))
            someApply.append(Self.ms(info.applyDuration))
            try waitForIdle()
            someCPU.append(try Self.databaseThreadCPU(store) - cpu)
            someCommit.append(Self.ms(info.commitDuration ?? .zero))
        }
        lines.append(Self.summary("10k dirty of 100k, whole commit() call", some))
        lines.append(Self.summary("10k dirty of 100k, apply part", someApply))
        lines.append(Self.summary("10k dirty of 100k, COMMIT (fsync) part", someCommit))
        lines.append(Self.summary("10k dirty of 100k, deferred WAL checkpoint after it", idle))
        lines.append(Self.summary("10k dirty of 100k, database-thread CPU time (commit + WAL checkpoint)", someCPU))

        // Recovery: load everything back.
        start = clock.now
        let recovered = try store.loadLatest()
        lines.append(
            String(format: "loadLatest (%d state rows): %.1f ms", recovered.state.count, Self.ms(clock.now - start)))
        try store.close()

        // Opening cost, dominated by quick_check, on the file this run produced.
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        for check in [SQLiteCheckpointStore.IntegrityCheck.none, .quick, .full] {
            var options = configuration
            options.integrityCheck = check
            start = clock.now
            let reopened = try SQLiteCheckpointStore(path: path, configuration: options)
            let elapsed = clock.now - start
            try reopened.close()
            lines.append(
                String(
                    format: "open with integrity check %@ (%.1f MiB file): %.1f ms", check.rawValue,
                    Double(size) / 1_048_576, Self.ms(elapsed)))
        }
        let loadAfter =
            (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first ?? "?"
        lines.append(
            "1-minute load average before/after: \(loadBefore)/\(loadAfter) on \(ProcessInfo.processInfo.activeProcessorCount) CPUs"
        )
        print(lines.joined(separator: "\n") + "\n")
    }
}
