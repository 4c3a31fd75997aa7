import Logging

/// Committed offsets of the consumer groups of one topic.
///
/// A group stores, per partition, the **next** offset it will read. Commits are durable and
/// atomic (temp file, fsync, rename, fsync of the directory) and block the calling thread for
/// that IO; from async code use ``LogTopic/commit(group:offsets:)``, which runs on the topic's
/// writer thread.
///
/// Retention never deletes a segment that some group has not read past (a group that has not
/// committed a partition protects all of it), unless the disk quota forces it under
/// ``QuotaPolicy/dropOldest``.
///
/// ```swift
/// try topic.groups.commit(group: "sink-mqtt", partition: 0, nextOffset: 1_234)
/// let next = topic.groups.committedOffset(group: "sink-mqtt", partition: 0)   // 1234
/// ```
public final class ConsumerGroups: Sendable {
    public let partitionCount: Int
    let layout: TopicLayout
    let readOnly: Bool
    private let state: LockedValue<[String: [Int64?]]>

    init(layout: TopicLayout, partitionCount: Int, readOnly: Bool, logger: Logger) throws {
        self.layout = layout
        self.partitionCount = partitionCount
        self.readOnly = readOnly
        var groups: [String: [Int64?]] = [:]
        if FileSystem.isDirectory(layout.groupsDirectory) {
            for name in try FileSystem.list(layout.groupsDirectory) {
                if name.hasSuffix(".offsets.tmp"), !readOnly {
                    try FileSystem.remove(layout.groupsDirectory + "/" + name)
                    continue
                }
                guard name.hasSuffix(".offsets") else { continue }
                let group = String(name.dropLast(".offsets".count))
                let path = layout.groupPath(group)
                do {
                    groups[group] = try Self.decode(FileSystem.readAll(path), partitionCount: partitionCount, path: path)
                } catch {
                    // Never silently: the group keeps protecting all data, and the operator is told.
                    logger.warning("consumer group offsets unreadable; treating the group as having committed nothing", metadata: [
                        "group": "\(group)", "path": "\(path)", "error": "\(error)",
                    ])
                    groups[group] = Array(repeating: nil, count: partitionCount)
                }
            }
        }
        state = LockedValue(groups)
    }

    /// The groups, sorted by name.
    public var names: [String] {
        state.withLock { $0.keys.sorted() }
    }

    /// The next offset to read per partition (nil where the group has committed nothing), or
    /// nil if the group does not exist.
    public func offsets(of group: String) -> [Int64?]? {
        state.withLock { $0[group] }
    }

    /// The next offset `group` will read in `partition`, if it committed one.
    public func committedOffset(group: String, partition: Int) -> Int64? {
        state.withLock { $0[group]?[partition] ?? nil }
    }

    /// Creates a group that has committed nothing (it protects all data from retention).
    public func register(group: String) throws {
        try update(group) { _ in }
    }

    /// Commits the next offset to read for one partition.
    public func commit(group: String, partition: Int, nextOffset: Int64) throws {
        try commit(group: group, offsets: [partition: nextOffset])
    }

    /// Commits the next offsets to read for several partitions at once (one atomic file write).
    public func commit(group: String, offsets: [Int: Int64]) throws {
        for (partition, offset) in offsets {
            guard (0..<partitionCount).contains(partition) else {
                throw LogError(.invalidArgument, "partition \(partition) out of range 0..<\(partitionCount)")
            }
            guard offset >= 0 else { throw LogError(.invalidArgument, "offset \(offset) is negative") }
        }
        try update(group) { current in
            for (partition, offset) in offsets { current[partition] = offset }
        }
    }

    /// Deletes a group and its file.
    public func delete(group: String) throws {
        guard !readOnly else { throw LogError(.readOnly, "topic opened read-only") }
        try state.withLock { groups in
            guard groups[group] != nil else { return }
            try FileSystem.remove(layout.groupPath(group))
            try FileSystem.syncDirectory(layout.groupsDirectory)
            groups[group] = nil
        }
    }

    private func update(_ group: String, _ change: (inout [Int64?]) -> Void) throws {
        guard !readOnly else { throw LogError(.readOnly, "topic opened read-only") }
        guard TopicLayout.isValidName(group) else {
            throw LogError(.invalidArgument, "invalid group name '\(group)': use 1...200 of [A-Za-z0-9._-], not starting with '.'")
        }
        try state.withLock { groups in
            var offsets = groups[group] ?? Array(repeating: nil, count: partitionCount)
            change(&offsets)
            if try FileSystem.makeDirectories(layout.groupsDirectory) {
                try FileSystem.syncDirectory(layout.directory)
            }
            let bytes = Self.encode(offsets)
            try bytes.withUnsafeBytes { try FileSystem.writeAtomically($0, to: layout.groupPath(group)) }
            groups[group] = offsets
        }
    }

    /// Per partition, the lowest offset some group still needs: `Int64.max` when the topic has
    /// no groups (nothing protected), `Int64.min` when a group has committed nothing there.
    func protectedOffsets() -> [Int64] {
        state.withLock { groups in
            var result = Array(repeating: Int64.max, count: partitionCount)
            for offsets in groups.values {
                for partition in 0..<partitionCount {
                    let committed = partition < offsets.count ? (offsets[partition] ?? Int64.min) : Int64.min
                    result[partition] = min(result[partition], committed)
                }
            }
            return result
        }
    }

    // File format (docs/log-format.md): "PSPFGRP1", u32 partition count, i64 next offset per
    // partition (-1 = none), u32 CRC-32C of everything before it. Little-endian.
    static let magic = Array("PSPFGRP1".utf8)

    static func encode(_ offsets: [Int64?]) -> [UInt8] {
        var bytes = magic
        withUnsafeBytes(of: UInt32(offsets.count).littleEndian) { bytes.append(contentsOf: $0) }
        for offset in offsets {
            withUnsafeBytes(of: (offset ?? -1).littleEndian) { bytes.append(contentsOf: $0) }
        }
        let crc = CRC32C.checksum(bytes)
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func decode(_ bytes: [UInt8], partitionCount: Int, path: String) throws -> [Int64?] {
        try bytes.withUnsafeBytes { raw in
            guard raw.count >= 16, Array(raw.prefix(8)) == magic else {
                throw LogError(.corrupt, "not a consumer group offsets file", path: path)
            }
            let count = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            guard raw.count == 12 + 8 * count + 4 else {
                throw LogError(.corrupt, "offsets file has \(raw.count) bytes, expected \(12 + 8 * count + 4)", path: path)
            }
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12 + 8 * count, as: UInt32.self))
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(12 + 8 * count)])) == stored else {
                throw LogError(.corrupt, "offsets file CRC mismatch", path: path)
            }
            var offsets: [Int64?] = Array(repeating: nil, count: partitionCount)
            for partition in 0..<min(count, partitionCount) {
                let value = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 12 + 8 * partition, as: Int64.self))
                offsets[partition] = value >= 0 ? value : nil
            }
            return offsets
        }
    }
}
