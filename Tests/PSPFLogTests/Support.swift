#if canImport(Glibc)
import Glibc
#endif
import Logging
import Testing
@testable import PSPFLog

/// A temporary directory removed when the test's closure returns.
func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    var template = Array("/tmp/pspf-log-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buffer -> String in
        guard let result = mkdtemp(buffer.baseAddress!) else { fatalError("mkdtemp failed") }
        return String(cString: result)
    }
    defer { removeTree(path) }
    return try await body(path)
}

func removeTree(_ path: String) {
    if FileSystem.isDirectory(path) {
        for name in (try? FileSystem.list(path)) ?? [] { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now: LockedValue<Int64>
    init(_ start: Int64 = 1_700_000_000_000) { now = LockedValue(start) }
    var time: Int64 { now.withLock { $0 } }
    func set(_ value: Int64) { now.withLock { $0 = value } }
    func advance(by ms: Int64) { now.withLock { $0 += ms } }
    var logClock: LogClock { LogClock { [self] in self.time } }
}

/// Collects log messages so tests can check that problems are reported.
final class LogCapture: Sendable {
    struct Entry: Sendable { var level: Logger.Level; var message: String; var metadata: String }
    private let entries = LockedValue<[Entry]>([])

    var all: [Entry] { entries.withLock { $0 } }
    var warnings: [Entry] { all.filter { $0.level >= .warning } }
    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.append(Entry(level: event.level, message: "\(event.message)", metadata: "\(event.metadata ?? [:])"))
        }
    }
}

extension LogTopic {
    /// Every readable record of a partition from `offset`.
    func readAll(partition: Int, from offset: Int64? = nil) throws -> [OwnedLogRecord] {
        let reader = reader(partition: partition)
        if let offset { reader.seek(to: offset) }
        var records: [OwnedLogRecord] = []
        try reader.read { records.append($0.owned()) }
        return records
    }
}

/// Every readable record from `offset` through `reader`. (Swift 6.3.1's compiler crashed on a
/// test that had `#expect(try reader.read { _ in }…)` next to a read callback capturing a `var`
/// in the same async closure; keeping the capture in this helper avoids it.)
func collect(_ reader: PartitionReader, from offset: Int64) throws -> [OwnedLogRecord] {
    var records: [OwnedLogRecord] = []
    try reader.read(from: offset) { records.append($0.owned()) }
    return records
}

/// Offsets of up to `max` records read from the reader's position.
func collectOffsets(_ reader: PartitionReader, max: Int) throws -> [Int64] {
    var offsets: [Int64] = []
    try reader.read(maxRecords: max) { offsets.append($0.offset) }
    return offsets
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// A batch of `count` records `key-i` / `payload-i` (explicit partition if given).
func makeBatch(_ range: Range<Int>, key: ((Int) -> String)? = nil, partition: Int? = nil, payloadBytes: Int? = nil) -> LogBatch {
    var batch = LogBatch()
    for i in range {
        var payload = bytes("payload-\(i)")
        if let payloadBytes { payload = Array(repeating: UInt8(truncatingIfNeeded: i), count: payloadBytes) }
        batch.append(AppendRecord(
            key: bytes(key?(i) ?? "key-\(i)"), topic: bytes("sensors/\(i)"), payload: payload, eventTime: Int64(i),
            partition: partition
        ))
    }
    return batch
}

/// Flips one byte of a file.
func flipByte(_ path: String, at position: Int) throws {
    let fd = open(path, O_RDWR)
    #expect(fd >= 0)
    defer { close(fd) }
    var byte: UInt8 = 0
    #expect(pread(fd, &byte, 1, off_t(position)) == 1)
    byte ^= 0xFF
    #expect(pwrite(fd, &byte, 1, off_t(position)) == 1)
}

func fileSize(_ path: String) -> Int { (try? FileSystem.size(atPath: path)) ?? -1 }

func truncateFile(_ path: String, to size: Int) {
    #expect(truncate(path, off_t(size)) == 0)
}

func segmentPath(_ topicDirectory: String, partition: Int, base: Int64, ext: String = "log") -> String {
    "\(topicDirectory)/p\(partition)/\(TopicLayout.segmentName(base)).\(ext)"
}
