import Dispatch
import Foundation
import PSPFJSON

/// Writes results to files as JSON lines or CSV, exactly once: the sink keeps its delivered
/// offsets together with the size of every file it writes in one state file, replaced
/// atomically after each batch, and on start truncates each file back to its recorded size.
///
/// * Paths come from a ``PathTemplate`` under the sink's directory; a template path
///   `temp-stats/dev-0001.jsonl` is written as `temp-stats/dev-0001.000001.jsonl`,
///   `….000002.jsonl` after rotation, and so on.
/// * Rotation by size and by age is decided at the start of each batch (a file may exceed
///   `maxBytes` by at most one batch).
/// * A new file is recorded in the state before it is created, so after a crash no file holds
///   bytes the state does not account for.
/// * File IO and fsync run on the sink's own dispatch queue, never on the cooperative pool.
///
/// ```swift
/// let sink = try FileSink(name: "archive", configuration: .init(
///     directory: "/var/lib/pspf/out", path: try PathTemplate("{pipeline}/{date}.jsonl")))
/// ```
public final class FileSink: OutputSink, @unchecked Sendable {
    public enum Format: String, Sendable, Hashable { case jsonl, csv }

    public struct Configuration: Sendable {
        public var directory: String
        public var path: PathTemplate
        public var format: Format
        /// Start a new file once the current one has this many bytes.
        public var maxBytes: Int64?
        /// Start a new file once the current one is this old (milliseconds).
        public var maxAgeMilliseconds: Int64?
        /// fsync written files before the position is recorded (off: the OS decides; a power
        /// loss can then lose the tail, and the recovery truncation may find files shorter
        /// than recorded, which it reports).
        public var fsync: Bool
        /// CSV columns; `nil` takes the first result's fields in order.
        public var csvColumns: [String]?

        public init(
            directory: String, path: PathTemplate, format: Format = .jsonl, maxBytes: Int64? = 64 << 20,
            maxAgeMilliseconds: Int64? = nil, fsync: Bool = true, csvColumns: [String]? = nil
        ) {
            self.directory = directory
            self.path = path
            self.format = format
            self.maxBytes = maxBytes
            self.maxAgeMilliseconds = maxAgeMilliseconds
            self.fsync = fsync
            self.csvColumns = csvColumns
        }
    }

    public let name: String
    public let configuration: Configuration
    public var retryPolicy: RetryPolicy { RetryPolicy(initialDelay: .seconds(1), maxDelay: .seconds(30)) }
    private let queue: DispatchQueue
    private let now: @Sendable () -> Int64
    // Touched only on `queue`.
    private var state: FileSinkState
    private var handles: [String: FileHandle] = [:]
    private var columns: [String]?

    public init(name: String, configuration: Configuration, now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws {
        self.name = name
        self.configuration = configuration
        self.now = now
        queue = DispatchQueue(label: "pspf.sink.file.\(name)")
        try FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
        state = try FileSinkState.load(from: Self.statePath(configuration.directory, name)) ?? FileSinkState()
        columns = configuration.csvColumns ?? state.csvColumns
        try recover()
    }

    static func statePath(_ directory: String, _ name: String) -> String {
        directory + "/.pspf-sink-" + PathTemplate.sanitise(name) + ".state"
    }

    public func resumeOffsets() async throws -> [Int: Int64]? {
        try await onQueue { self.state.offsets.isEmpty ? nil : self.state.offsets }
    }

    public func deliver(_ records: [SinkRecord]) async throws -> SinkDeliveryOutcome {
        try await onQueue { try self.write(records) }
        return .delivered
    }

    /// Keeps the recorded position in step when the forwarder moves past results without
    /// delivering them (dead letters, `drop_oldest`), so a restart does not write them after all.
    public func committed(_ offsets: [Int: Int64]) async throws {
        try await onQueue {
            var changed = false
            for (partition, offset) in offsets where offset > self.state.offsets[partition] ?? .min {
                self.state.offsets[partition] = offset
                changed = true
            }
            if changed { try self.state.save(to: Self.statePath(self.configuration.directory, self.name)) }
        }
    }

    /// Lowers the recorded position (the output log was truncated below it). The files keep
    /// what was written: the results after `offsets` are written again (at-least-once there).
    public func rewind(to offsets: [Int: Int64]) async throws {
        try await onQueue {
            var changed = false
            for (partition, offset) in offsets where offset < self.state.offsets[partition] ?? .max {
                self.state.offsets[partition] = offset
                changed = true
            }
            if changed { try self.state.save(to: Self.statePath(self.configuration.directory, self.name)) }
        }
    }

    public func close() async throws {
        try await onQueue {
            for handle in self.handles.values { try handle.close() }
            self.handles.removeAll()
        }
    }

    /// The files written so far (relative paths), for tests and status.
    public var files: [String] {
        get async throws { try await onQueue { self.state.files.values.map(\.file).sorted() } }
    }

    // MARK: On the queue

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Truncates every current file to its recorded size, discarding what a crash left after
    /// the last recorded batch.
    private func recover() throws {
        for (_, entry) in state.files {
            let path = configuration.directory + "/" + entry.file
            guard FileManager.default.fileExists(atPath: path) else {
                try createFile(path)
                continue
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(entry.size))
            try handle.synchronize()
            try handle.close()
        }
    }

    private func write(_ records: [SinkRecord]) throws {
        guard let last = records.last else { return }
        let parsed = records.map { record in (record, (try? JSONValue(parsing: record.payload)) ?? .null) }
        if configuration.format == .csv, columns == nil {
            columns = parsed.first.flatMap { $0.1.objectValue?.map(\.key) }
            state.csvColumns = columns
        }

        // 1. Decide each record's file; record new files (rotations, new paths) before creating them.
        let time = now()
        var targets: [String] = []
        var created: [String] = []
        var rotatedThisBatch: Set<String> = []
        for (_, result) in parsed {
            let base = configuration.path.render(result)
            targets.append(base)
            if let entry = state.files[base], rotatedThisBatch.contains(base) || !needsRotation(entry, time) { continue }
            let sequence = (state.files[base]?.sequence ?? 0) + 1
            state.files[base] = FileSinkState.Entry(file: Self.fileName(base, sequence), sequence: sequence, size: 0, createdMs: time)
            rotatedThisBatch.insert(base)
            created.append(base)
        }
        if !created.isEmpty {
            try state.save(to: Self.statePath(configuration.directory, name))
            for base in created {
                handles.removeValue(forKey: base).map { try? $0.close() }
                try createFile(configuration.directory + "/" + state.files[base]!.file)
            }
        }

        // 2. Append, grouped per file (a new CSV file starts with its header), then fsync.
        var buffers: [String: Data] = [:]
        for ((record, result), base) in zip(parsed, targets) {
            if buffers[base] == nil {
                buffers[base] = Data()
                if configuration.format == .csv, state.files[base]!.size == 0 {
                    buffers[base]!.append(contentsOf: Self.csvLine((columns ?? []).map { .string($0) }).utf8)
                }
            }
            switch configuration.format {
            case .jsonl:
                buffers[base]!.append(contentsOf: record.payload)
                buffers[base]!.append(UInt8(ascii: "\n"))
            case .csv:
                buffers[base]!.append(contentsOf: Self.csvLine((columns ?? []).map { result[$0] ?? .null }).utf8)
            }
        }
        for (base, data) in buffers.sorted(by: { $0.key < $1.key }) {
            let handle = try handle(for: base)
            try handle.write(contentsOf: data)
            if configuration.fsync { try handle.synchronize() }
            state.files[base]!.size += Int64(data.count)
        }

        // 3. Record the new position and sizes, atomically.
        state.offsets[last.partition] = last.offset + 1
        try state.save(to: Self.statePath(configuration.directory, name))
    }

    private func needsRotation(_ entry: FileSinkState.Entry, _ time: Int64) -> Bool {
        if let maxBytes = configuration.maxBytes, entry.size >= maxBytes { return true }
        if let maxAge = configuration.maxAgeMilliseconds, time - entry.createdMs >= maxAge { return true }
        return false
    }

    private func handle(for base: String) throws -> FileHandle {
        if let handle = handles[base] { return handle }
        if handles.count >= 64, let victim = handles.keys.min() {
            try handles.removeValue(forKey: victim)?.close()
        }
        let path = configuration.directory + "/" + state.files[base]!.file
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        handles[base] = handle
        return handle
    }

    private func createFile(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard FileManager.default.fileExists(atPath: path) || FileManager.default.createFile(atPath: path, contents: nil) else {
            throw FileSinkError("cannot create \(path)")
        }
    }

    /// `temp-stats/dev-1.jsonl` → `temp-stats/dev-1.000003.jsonl`.
    static func fileName(_ base: String, _ sequence: Int) -> String {
        let digits = String(sequence)
        let number = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        let slash = base.lastIndex(of: "/").map { base.index(after: $0) } ?? base.startIndex
        if let dot = base[slash...].lastIndex(of: "."), dot != slash {
            return base[..<dot] + "." + number + base[dot...]
        }
        return base + "." + number
    }

    /// One RFC 4180 line: strings quoted when they contain a comma, quote or line break.
    static func csvLine(_ values: [JSONValue]) -> String {
        values.map { value -> String in
            switch value {
            case .null: return ""
            case .string(let text):
                guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
                return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            default:
                var writer = JSONWriter()
                writer.value(value)
                return String(decoding: writer.bytes, as: UTF8.self)
            }
        }.joined(separator: ",") + "\n"
    }
}

/// What the file sink records after each batch: its delivered offsets and its files' sizes.
struct FileSinkState: Codable, Sendable, Equatable {
    struct Entry: Codable, Sendable, Equatable {
        var file: String
        var sequence: Int
        var size: Int64
        var createdMs: Int64
    }

    /// Output partition → next offset.
    var offsets: [Int: Int64] = [:]
    /// Template path → its current file.
    var files: [String: Entry] = [:]
    var csvColumns: [String]?

    static func load(from path: String) throws -> FileSinkState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(FileSinkState.self, from: data)
        } catch {
            throw FileSinkError("the file sink state \(path) is unreadable (\(error)); move it aside to start the sink afresh")
        }
    }

    /// Write to a temporary file, fsync, rename over the old state, fsync the directory.
    func save(to path: String) throws {
        let data = try JSONEncoder().encode(self)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw FileSinkError("cannot write \(temporary)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw FileSinkError("cannot rename \(temporary) to \(path): errno \(errno)") }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            Foundation.close(directory)
        }
    }
}

public struct FileSinkError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
